//! The aid desk end to end: one claim per person per round, rounds unlinkable, claims
//! durable across restarts, the operator's round opening.

use crate::common;

use common::*;
use masque_cred::{EnrolmentQuarter, Issuer};
use masque_service::desk::store::Counter;
use masque_service::{ClientError, ServiceClient};

fn slug(e: ClientError) -> (u16, String) {
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
async fn one_claim_per_person_per_round_and_rounds_are_unlinkable() {
    let mut issuer = issuer();
    let (alice, bob) = (Person::early(&mut issuer, 1), Person::early(&mut issuer, 2));
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let north = desk(&key, "north", &dir.path().join("north"), &clock);
    let south = desk(&key, "south", &dir.path().join("south"), &clock);
    let north_server = start_desk(&north).await;
    let south_server = start_desk(&south).await;
    let client = ServiceClient::new(&north_server.url).unwrap();

    let info = client.info().await.unwrap();
    assert_eq!((info.kind.as_str(), info.round), ("aid-desk", Some(1)));
    assert_eq!(info.context_id, "aid-desk/north/1");

    let first = client.present(|c| alice.present(c)).await.unwrap();
    assert_eq!((first.round, first.claim), (Some(1), Some(1)));
    let e = client.present(|c| alice.present(c)).await.unwrap_err();
    assert!(e.to_string().contains("already claimed in round 1"), "{e}");
    assert_eq!(slug(e), (409, "already-claimed".into()));
    let b = client.present(|c| bob.present(c)).await.unwrap();
    assert_eq!(b.claim, Some(2));

    // Another desk, same round number: a different pseudonym, and a claim of its own.
    let at_south = ServiceClient::new(&south_server.url)
        .unwrap()
        .present(|c| alice.present(c))
        .await
        .unwrap();
    assert_ne!(at_south.pseudonym, first.pseudonym);

    // The operator opens round 2: a stale challenge fails with a clear message, the
    // wrong token is refused, and Alice may claim again, under a new pseudonym.
    let stale = client.challenge().await.unwrap();
    assert_eq!(
        slug(
            client
                .open_round("wrong-token-wrong-token")
                .await
                .unwrap_err()
        )
        .0,
        401
    );
    let opened = client.open_round(TOKEN).await.unwrap();
    assert_eq!(
        (opened.round, opened.context_id.as_str()),
        (2, "aid-desk/north/2")
    );
    assert_eq!(opened.enrolled_before.as_deref(), Some("2027-Q1"));
    let e = client
        .submit(&alice.present(&stale).unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("fetch a fresh challenge"), "{e}");
    assert_eq!(slug(e), (422, "wrong-context".into()));
    let second = client.present(|c| alice.present(c)).await.unwrap();
    assert_eq!((second.round, second.claim), (Some(2), Some(1)));
    assert_ne!(second.pseudonym, first.pseudonym, "rounds cannot be linked");
    assert_eq!(
        slug(client.present(|c| alice.present(c)).await.unwrap_err()).0,
        409
    );

    let status = client.status().await.unwrap();
    let counts: Vec<_> = status
        .rounds
        .iter()
        .map(|r| (r.round, r.claims, r.duplicates, r.invalid))
        .collect();
    assert_eq!(counts, [(2, 1, 1, 1), (1, 2, 1, 0)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_survive_a_restart() {
    let mut issuer = issuer();
    let (alice, bob) = (Person::early(&mut issuer, 1), Person::early(&mut issuer, 2));
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();

    let north = desk(&key, "north", dir.path(), &clock);
    let server = start_desk(&north).await;
    let client = ServiceClient::new(&server.url).unwrap();
    let before = client.present(|c| alice.present(c)).await.unwrap();
    client.open_round(TOKEN).await.unwrap();
    client.present(|c| alice.present(c)).await.unwrap();
    let pending = bob.present(&client.challenge().await.unwrap()).unwrap();
    server.stop().await;
    drop((client, north));

    let north = desk(&key, "north", dir.path(), &clock);
    assert_eq!(north.current_round().number, 2);
    let server = start_desk(&north).await;
    let client = ServiceClient::new(&server.url).unwrap();
    assert_eq!(
        slug(client.present(|c| alice.present(c)).await.unwrap_err()).0,
        409
    );
    // Bob's challenge from before the restart is still good.
    assert_eq!(client.submit(&pending).await.unwrap().claim, Some(2));
    assert!(north.store().has_claimed(1, &before.pseudonym).unwrap());
    assert_eq!(north.store().counter(2, Counter::Claims).unwrap(), 2);
    assert_eq!(north.store().counter(2, Counter::Duplicates).unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn people_enrolled_during_the_round_cannot_claim_in_it() {
    let mut issuer = issuer();
    // Enrolled in the quarter in which round 1 opens: refused by the round-start cutoff.
    let late = Person::new(&mut issuer, 5, EnrolmentQuarter::new(2027, 1).unwrap());
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let north = desk(&key, "north", dir.path(), &clock);
    let server = start_desk(&north).await;
    let client = ServiceClient::new(&server.url).unwrap();
    let e = client.present(|c| late.present(c)).await.unwrap_err();
    assert!(e.to_string().contains("2027-Q1"), "{e}");
    assert_eq!(slug(e), (403, "enrolled-too-late".into()));
    assert_eq!(north.store().total_claims().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_claims_store_nothing() {
    let mut issuer = issuer();
    let alice = Person::early(&mut issuer, 1);
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let north = desk(&key, "north", dir.path(), &clock);
    let server = start_desk(&north).await;
    let client = ServiceClient::new(&server.url).unwrap();
    let good = alice.present(&client.challenge().await.unwrap()).unwrap();
    let url = format!("{}/v1/presentations", server.url);
    for (body, status) in [
        (b"{}".to_vec(), 400),
        (b"garbage".to_vec(), 400),
        (tamper(&good, |b| b["pseudonym"] = "AAAA".into()), 400),
        (vec![b' '; 64 * 1024], 413),
    ] {
        let (got, ct, answer) = raw("POST", &url, &[], body).await;
        assert_eq!(got, status);
        problem(&ct, &answer);
    }
    // Round opening without or with a wrong token, over the API and the page's form.
    let rounds = format!("{}/v1/rounds", server.url);
    let (got, ct, answer) = raw("POST", &rounds, &[], vec![]).await;
    assert_eq!((got, problem(&ct, &answer).slug()), (401, "bad-token"));
    let (got, _, page) = raw(
        "POST",
        &format!("{}/rounds", server.url),
        &[],
        b"token=nope".to_vec(),
    )
    .await;
    assert_eq!(got, 401);
    assert!(String::from_utf8(page).unwrap().contains("operator token"));
    assert_eq!(north.current_round().number, 1);
    for counter in [Counter::Claims, Counter::Duplicates, Counter::Invalid] {
        assert_eq!(north.store().counter(1, counter).unwrap(), 0);
    }
    assert_eq!(north.store().total_claims().unwrap(), 0);
    assert_eq!(client.submit(&good).await.unwrap().claim, Some(1));

    // The form with the right token opens the next round and sends the operator back.
    let (got, _, _) = raw(
        "POST",
        &format!("{}/rounds", server.url),
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("token={TOKEN}").into_bytes(),
    )
    .await;
    assert_eq!(got, 303);
    assert_eq!(north.current_round().number, 2);
}
