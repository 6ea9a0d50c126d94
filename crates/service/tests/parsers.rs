//! Property tests: the request parsers never panic, and no malformed request stores
//! anything.

use crate::common;

use std::path::Path;

use common::*;
use masque_cred::{Issuer, WireObject};
use masque_service::Config;
use masque_service::desk::store::Counter;
use masque_service::http::parse_presentation;
use proptest::prelude::*;

/// A valid presentation's JSON, made once.
fn valid_presentation_json() -> String {
    let mut issuer = issuer();
    let alice = Person::early(&mut issuer, 1);
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let shop = service(
        issuer.public_key(),
        "https://shop.example",
        dir.path(),
        &clock,
    );
    alice.present(&shop.challenge().unwrap()).unwrap().to_json()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_are_refused_not_panicked_on(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let p = parse_presentation(&body).unwrap_err();
        prop_assert_eq!(p.status, 400);
        prop_assert!(!p.detail.is_empty());
    }

    #[test]
    fn arbitrary_config_text_is_refused_not_panicked_on(text in "[ -~\n]{0,400}") {
        prop_assert!(Config::parse(&text, Path::new("/nonexistent/x.toml")).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_presentations_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let json = VALID.with(|v| v.clone());
        let mut bytes = json.into_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        // Either a presentation (the edit hit nothing that matters) or a 400, never a panic.
        if let Err(p) = parse_presentation(&bytes) {
            prop_assert_eq!(p.status, 400);
        }
    }
}

thread_local! {
    static VALID: String = valid_presentation_json();
}

#[test]
fn malformed_requests_to_a_running_desk_store_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let issuer = issuer();
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let north = desk(&key, "north", dir.path(), &clock);
    let server = runtime.block_on(start_desk(&north));
    let url = format!("{}/v1/presentations", server.url);
    let valid = valid_presentation_json();

    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(move |(at, byte)| {
            let mut b = valid.clone().into_bytes();
            let i = at.index(b.len());
            b[i] = byte;
            b
        }),
    ];
    runner
        .run(&strategy, |body| {
            let (status, content_type, answer) = runtime.block_on(raw("POST", &url, &[], body));
            prop_assert!((400..500).contains(&status), "status {}", status);
            prop_assert_eq!(content_type.as_str(), "application/problem+json");
            prop_assert!(serde_json::from_slice::<masque_service::Problem>(&answer).is_ok());
            Ok(())
        })
        .unwrap();
    // The valid presentation was for another service, and every other body was malformed:
    // no claim, and nothing counted but refused presentations that did parse.
    assert_eq!(north.store().total_claims().unwrap(), 0);
    assert_eq!(north.store().counter(1, Counter::Claims).unwrap(), 0);
    assert_eq!(north.store().counter(1, Counter::Duplicates).unwrap(), 0);
    drop(server);
}
