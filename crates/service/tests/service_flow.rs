//! The relying party end to end: real credentials, real servers on loopback, the
//! library's client.

use crate::common;

use common::*;
use masque_cred::{Issuer, WireObject};
use masque_service::{ClientError, ServiceClient};

fn refused(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Refused {
            status,
            problem: Some(p),
            ..
        } => (status, p.slug().to_owned()),
        other => panic!("expected a refusal with problem details, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_pseudonym_per_person_per_service() {
    let mut issuer = issuer();
    let (alice, bob) = (Person::early(&mut issuer, 1), Person::early(&mut issuer, 2));
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (shop_dir, forum_dir) = (dir.path().join("shop"), dir.path().join("forum"));
    std::fs::create_dir_all(&shop_dir).unwrap();
    std::fs::create_dir_all(&forum_dir).unwrap();
    let shop = service(&key, "https://shop.example", &shop_dir, &clock);
    let forum = service(&key, "https://forum.example", &forum_dir, &clock);
    let shop_server = Server::start(masque_service::http::router(shop, limits())).await;
    let forum_server = Server::start(masque_service::http::router(forum, limits())).await;
    let shop = ServiceClient::new(&shop_server.url).unwrap();
    let forum = ServiceClient::new(&forum_server.url).unwrap();

    let info = shop.info().await.unwrap();
    assert_eq!(info.context_id, "https://shop.example");
    assert_eq!(info.issuer_key_id, key.key_id());

    let a1 = shop.present(|c| alice.present(c)).await.unwrap();
    let a2 = shop.present(|c| alice.present(c)).await.unwrap();
    let a3 = forum.present(|c| alice.present(c)).await.unwrap();
    let b1 = shop.present(|c| bob.present(c)).await.unwrap();
    assert_eq!(a1.pseudonym, a2.pseudonym, "same person, same service");
    assert_ne!(a1.pseudonym, a3.pseudonym, "two services, two pseudonyms");
    assert_ne!(a1.pseudonym, b1.pseudonym, "two people, two pseudonyms");
    assert_eq!(a1.epoch, schedule().epoch_at(NOW));
    assert_eq!((a1.round, a1.claim), (None, None));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_presentations_get_clear_4xx_answers() {
    let mut issuer = issuer();
    let alice = Person::early(&mut issuer, 1);
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let shop = service(&key, "https://shop.example", dir.path(), &clock);
    let server = Server::start(masque_service::http::router(shop.clone(), limits())).await;
    let client = ServiceClient::new(&server.url).unwrap();

    // Replayed nonce: the same presentation twice.
    let challenge = client.challenge().await.unwrap();
    let p = alice.present(&challenge).unwrap();
    client.submit(&p).await.unwrap();
    let (status, slug) = refused(client.submit(&p).await.unwrap_err());
    assert_eq!((status, slug.as_str()), (409, "nonce-unknown-or-used"));

    // Expired challenge.
    let challenge = client.challenge().await.unwrap();
    let p = alice.present(&challenge).unwrap();
    clock.advance(NONCE_LIFETIME + 1);
    let e = client.submit(&p).await.unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    assert_eq!(refused(e), (410, "challenge-expired".into()));
    clock.set(NOW);

    // Wrong context: a challenge from another service answered here.
    let other_dir = tempfile::tempdir().unwrap();
    let forum = service(&key, "https://forum.example", other_dir.path(), &clock);
    let p = alice.present(&forum.challenge().unwrap()).unwrap();
    assert_eq!(
        refused(client.submit(&p).await.unwrap_err()),
        (422, "wrong-context".into())
    );

    // Tampered: a disclosed value changed, or a byte of the proof.
    let challenge = client.challenge().await.unwrap();
    let p = alice.present(&challenge).unwrap();
    let body = tamper(&p, |b| {
        b["epoch"] = (b["epoch"].as_u64().unwrap() - 1).into();
    });
    let (status, ct, body) = raw(
        "POST",
        &format!("{}/v1/presentations", server.url),
        &[],
        body,
    )
    .await;
    assert_eq!((status, problem(&ct, &body).slug()), (422, "invalid-proof"));
    let challenge = client.challenge().await.unwrap();
    let p = alice.present(&challenge).unwrap();
    let body = tamper(&p, |b| {
        let proof = b["proof"].as_str().unwrap();
        let mut chars: Vec<char> = proof.chars().collect();
        chars[200] = if chars[200] == 'A' { 'B' } else { 'A' };
        b["proof"] = chars.into_iter().collect::<String>().into();
    });
    let (status, ct, body) = raw(
        "POST",
        &format!("{}/v1/presentations", server.url),
        &[],
        body,
    )
    .await;
    let problem = problem(&ct, &body);
    assert_eq!((status, problem.slug()), (422, "invalid-proof"));
    assert!(
        problem.detail.contains("does not verify"),
        "{}",
        problem.detail
    );

    // A credential from another issuer.
    let mut rogue =
        masque_cred::BbsIssuer::from_seed(&masque_cred::IssuerSeed::new(&[9; 32]).unwrap())
            .unwrap();
    let mallory = Person::early(&mut rogue, 3);
    let e = client.present(|c| mallory.present(c)).await.unwrap_err();
    assert_eq!(refused(e), (422, "unknown-issuer-key".into()));
    // Every shop challenge above was answered once, refused or not, so none is left.
    assert_eq!(shop.outstanding_nonces().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_oversized_bodies_are_refused_and_change_nothing() {
    let mut issuer = issuer();
    let alice = Person::early(&mut issuer, 1);
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let shop = service(&key, "https://shop.example", dir.path(), &clock);
    let server = Server::start(masque_service::http::router(shop.clone(), limits())).await;
    let client = ServiceClient::new(&server.url).unwrap();
    let challenge = client.challenge().await.unwrap();
    let url = format!("{}/v1/presentations", server.url);

    let good = alice.present(&challenge).unwrap();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"".to_vec(), 400, "empty"),
        (b"{".to_vec(), 400, "presentation"),
        (b"[1,2,3]".to_vec(), 400, "presentation"),
        (
            challenge.to_json().into_bytes(),
            400,
            "expected a presentation",
        ),
        (tamper(&good, |b| b["proof"] = "AAAA".into()), 400, "proof"),
        (
            tamper(&good, |b| b["nonce"] = 5.into()),
            400,
            "presentation",
        ),
        (vec![b'{'; 9 * 1024], 413, "larger than 8192 bytes"),
    ];
    for (body, status, needle) in cases {
        let (got, ct, answer) = raw("POST", &url, &[], body).await;
        let p = problem(&ct, &answer);
        assert_eq!(got, status, "{}", p.detail);
        assert!(
            p.detail.contains(needle),
            "{needle:?} not in {:?}",
            p.detail
        );
    }
    // Nothing was consumed: the outstanding challenge still works.
    assert_eq!(shop.outstanding_nonces().unwrap(), 1);
    client.submit(&good).await.unwrap();

    // Wrong method and unknown paths are problems too.
    let (status, ct, body) = raw("GET", &url, &[], vec![]).await;
    assert_eq!(
        (status, problem(&ct, &body).slug()),
        (405, "method-not-allowed")
    );
    let (status, ct, body) = raw("GET", &format!("{}/v2/x", server.url), &[], vec![]).await;
    assert_eq!((status, problem(&ct, &body).slug()), (404, "not-found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn used_nonces_stay_used_across_a_restart() {
    let mut issuer = issuer();
    let alice = Person::early(&mut issuer, 1);
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();

    let shop = service(&key, "https://shop.example", dir.path(), &clock);
    let server = Server::start(masque_service::http::router(shop.clone(), limits())).await;
    let client = ServiceClient::new(&server.url).unwrap();
    let used = alice.present(&client.challenge().await.unwrap()).unwrap();
    let first = client.submit(&used).await.unwrap();
    let pending = alice.present(&client.challenge().await.unwrap()).unwrap();
    server.stop().await;
    drop((client, shop));

    let shop = service(&key, "https://shop.example", dir.path(), &clock);
    let server = Server::start(masque_service::http::router(shop, limits())).await;
    let client = ServiceClient::new(&server.url).unwrap();
    assert_eq!(refused(client.submit(&used).await.unwrap_err()).0, 409);
    // A challenge issued before the restart is still good after it.
    assert_eq!(
        client.submit(&pending).await.unwrap().pseudonym,
        first.pseudonym
    );
}
