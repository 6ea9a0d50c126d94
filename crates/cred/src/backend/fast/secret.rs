//! Zeroizing holders for secret scalars, and the sources of random scalars.
//!
//! `blstrs::Scalar` is `Copy` and has no `Zeroize`; [`Fr`] wraps it so that
//! `zeroize::Zeroizing<Fr>` and `Zeroizing<Vec<Fr>>` overwrite the value with zero (a
//! volatile write, through `DefaultIsZeroes`) when dropped. Temporaries the compiler keeps
//! in registers or on the stack during arithmetic are outside that guarantee.
//!
//! Random scalars follow the draft's `calculate_random_scalars`: `OS2IP(48 random bytes)
//! mod r` each. [`UniformBytes`] is where those bytes come from: [`OsRandom`] (the
//! operating system's CSPRNG through `rand`) in production, `MockedRandom` (the drafts'
//! `seeded_random_scalars`: `expand_message_xmd(SEED, DST, 48 * count)`) to reproduce the
//! published fixtures byte for byte. The mocked source exists only in test builds and with
//! the `test-vectors` feature.

use blstrs::Scalar;
use zeroize::{DefaultIsZeroes, Zeroizing};

#[cfg(any(test, feature = "test-vectors"))]
use super::hash::expand_message_xmd;
use super::hash::{EXPAND_LEN, scalar_from_okm};
use crate::error::CredError;
use crate::secrets::SecretScalar;

/// A scalar that is wiped when held in a `Zeroizing` container.
#[derive(Clone, Copy, Default)]
pub struct Fr(pub Scalar);

impl DefaultIsZeroes for Fr {}

/// Secret scalars, wiped on drop.
pub type SecretFrs = Zeroizing<Vec<Fr>>;

/// Where random scalars come from.
pub trait UniformBytes {
    /// Fills `out` (a multiple of 48 bytes, at most 8160) with uniform bytes for
    /// `out.len() / 48` scalars drawn in one call.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CredError>;
}

/// The operating system's CSPRNG (through `rand`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl UniformBytes for OsRandom {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CredError> {
        rand::fill(out);
        Ok(())
    }
}

/// The drafts' deterministic "mocked" random scalars, for known-answer tests only: compiled
/// into the crate's own tests and, with the `test-vectors` feature, public in
/// `backend::fast::test_vectors`; absent from ordinary builds.
#[cfg(any(test, feature = "test-vectors"))]
#[derive(Debug, Clone)]
pub struct MockedRandom {
    seed: Vec<u8>,
    dst: Vec<u8>,
}

#[cfg(any(test, feature = "test-vectors"))]
impl MockedRandom {
    /// Mocked scalars from `seed` under `dst` (the fixtures' `mockRngParameters`).
    pub fn new(seed: &[u8], dst: &[u8]) -> Self {
        Self {
            seed: seed.to_vec(),
            dst: dst.to_vec(),
        }
    }
}

#[cfg(any(test, feature = "test-vectors"))]
impl UniformBytes for MockedRandom {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CredError> {
        expand_message_xmd(&self.seed, &self.dst, out)
    }
}

/// `count` random scalars from `rng`.
pub fn random_scalars(rng: &mut dyn UniformBytes, count: usize) -> Result<SecretFrs, CredError> {
    let mut bytes = Zeroizing::new(vec![0u8; count * EXPAND_LEN]);
    rng.fill(&mut bytes)?;
    let mut out = Zeroizing::new(Vec::with_capacity(count));
    for chunk in bytes.chunks_exact(EXPAND_LEN) {
        let mut okm = Zeroizing::new([0u8; EXPAND_LEN]);
        okm.copy_from_slice(chunk);
        out.push(Fr(scalar_from_okm(&okm)));
    }
    Ok(out)
}

/// A [`SecretScalar`] (canonical big-endian bytes) as a field element.
pub fn from_secret(s: &SecretScalar) -> Result<Zeroizing<Fr>, CredError> {
    Option::from(Scalar::from_bytes_be(s.bytes()))
        .map(|v| Zeroizing::new(Fr(v)))
        .ok_or(CredError::Backend("non-canonical scalar"))
}

/// A field element as a [`SecretScalar`].
pub fn to_secret(s: &Scalar) -> SecretScalar {
    SecretScalar(s.to_bytes_be())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use zeroize::Zeroize;

    #[test]
    fn zeroize_clears_the_scalar() {
        let mut f = Fr(Scalar::from(12345u64));
        f.zeroize();
        assert_eq!(f.0, Scalar::ZERO);
    }

    #[test]
    fn mocked_scalars_depend_on_count_like_the_draft() {
        // expand_message_xmd output depends on its length, so 2 mocked scalars are not a
        // prefix of 3: the count must be requested at once, as the draft does.
        let two = random_scalars(&mut MockedRandom::new(b"seed", b"dst"), 2).unwrap();
        let three = random_scalars(&mut MockedRandom::new(b"seed", b"dst"), 3).unwrap();
        assert_ne!(two[0].0, three[0].0);
    }

    #[test]
    fn os_scalars_differ() {
        let a = random_scalars(&mut OsRandom, 2).unwrap();
        assert_ne!(a[0].0, a[1].0);
    }
}
