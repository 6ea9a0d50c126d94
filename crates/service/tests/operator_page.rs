//! The desk operator's page in a real headless browser (Debian's `chromium`): after real
//! claims, the rendered DOM shows the counts, the page is accessible in the ways a DOM can
//! show, and a screenshot is written to `<target>/tmp/aid-desk-operator-page.png`.
//!
//! Needs chromium: `apt-get install -y chromium` (CI installs it in `.ci/run`); set
//! `MASQUE_CHROMIUM` to use another Chromium-based browser binary.

use crate::common;

use common::*;
use masque_cred::Issuer;
use masque_service::ServiceClient;

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_page_shows_real_counts_in_a_browser() {
    let mut issuer = issuer();
    let (alice, bob, carol) = (
        Person::early(&mut issuer, 1),
        Person::early(&mut issuer, 2),
        Person::early(&mut issuer, 3),
    );
    let key = issuer.public_key().clone();
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let north = desk(&key, "north-gate", &dir.path().join("desk"), &clock);
    let server = start_desk(&north).await;
    let client = ServiceClient::new(&server.url).unwrap();
    // Round 1: two claims; then round 2: three claims, one person twice, one stale proof.
    client.present(|c| alice.present(c)).await.unwrap();
    client.present(|c| bob.present(c)).await.unwrap();
    let stale = client.challenge().await.unwrap();
    client.open_round(TOKEN).await.unwrap();
    let mut accepted = Vec::new();
    for person in [&alice, &bob, &carol, &alice] {
        accepted.push(
            client
                .present(|c| person.present(c))
                .await
                .map(|a| a.pseudonym),
        );
    }
    assert_eq!(accepted.iter().filter(|a| a.is_ok()).count(), 3);
    assert!(client.submit(&bob.present(&stale).unwrap()).await.is_err());

    let url = format!("{}/", server.url);
    let profile = dir.path().join("browser-profile");
    let dom = {
        let (profile, url) = (profile.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            common::chromium::run_browser(&profile, &["--dump-dom".into()], &url)
        })
        .await
        .unwrap()
    };

    // The counts, as the browser rendered them.
    assert!(dom.contains("<h1>Aid desk north-gate</h1>"), "{dom}");
    assert!(dom.contains("Round 2 (open)"), "{dom}");
    assert!(dom.contains("id=\"claims\">3<"), "{dom}");
    assert!(dom.contains("id=\"duplicates\">1<"), "{dom}");
    assert!(dom.contains("id=\"invalid\">1<"), "{dom}");
    assert!(dom.contains("People enrolled before 2027-Q1"), "{dom}");
    assert!(
        dom.contains("<tr><th scope=\"row\">1</th><td>2027-01-15 08:00 UTC</td><td>2</td><td>0</td><td>0</td></tr>"),
        "{dom}"
    );
    // No personal data: none of the pseudonyms, in any spelling.
    for pseudonym in accepted.iter().flatten() {
        let text = pseudonym.to_string();
        assert!(
            !dom.contains(&text) && !dom.contains(&text[..12]),
            "pseudonym on the page"
        );
    }
    // Accessible structure: language, one h1, labelled field, captioned table with headers;
    // nothing loaded from elsewhere and no script.
    assert!(dom.contains("<html lang=\"en\">"));
    assert_eq!(dom.matches("<h1>").count(), 1);
    assert!(dom.contains("<label for=\"token\">Operator token</label>"));
    assert!(dom.contains("id=\"token\""));
    assert!(dom.contains("<caption>"));
    assert!(dom.matches("scope=\"col\"").count() >= 5);
    assert!(!dom.contains("<script"));
    for attr in ["src=\"http", "href=\"http", "url(", "@import"] {
        assert!(!dom.contains(attr), "{attr} on the page");
    }

    // A screenshot for people to look at, kept under the target directory.
    let png = tokio::task::spawn_blocking(move || {
        let args = ["--window-size=1024,900".into()];
        common::chromium::screenshot(&profile, &url, "aid-desk-operator-page.png", &args)
    })
    .await
    .unwrap();
    assert!(
        png.len() > 5_000,
        "suspiciously small screenshot ({} bytes)",
        png.len()
    );
}
