//! Port blocks for networks started by the tests.
//!
//! A network's processes listen on fixed offsets from a base port, so the test has to
//! choose that base before anything binds. Two things could take a chosen port first: a
//! test in another thread or binary, and the kernel, which hands ports from its
//! ephemeral range (32768–60999 on Linux) to outgoing connections. Blocks are therefore
//! taken from 10000–32000 only, never twice in one test binary, and every port of a
//! block is checked to be free at the moment it is handed out.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

const LOW: u32 = 10_000;
const HIGH: u32 = 32_000;

/// The first port of `len` consecutive ports on 127.0.0.1 that were all free just now.
pub fn free_block(len: u16) -> u16 {
    static CURSOR: AtomicU32 = AtomicU32::new(0);
    let len = u32::from(len);
    let slots = (HIGH - LOW) / len;
    // Binaries run one after another, but start each from a different place so that a
    // block left in TIME_WAIT by the previous binary is not the first one tried.
    let start = std::process::id().wrapping_mul(2_654_435_761) % slots;
    for _ in 0..slots {
        let slot = (start + CURSOR.fetch_add(1, Ordering::Relaxed)) % slots;
        let base = LOW + slot * len;
        if (base..base + len).all(|port| TcpListener::bind(("127.0.0.1", port as u16)).is_ok()) {
            return base as u16;
        }
    }
    panic!("no block of {len} free ports between {LOW} and {HIGH}")
}
