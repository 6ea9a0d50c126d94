//! The watchdog's explorer page in a real headless browser (Debian's `chromium`), over a
//! fixture of 30 signed log entries about three records, two alerts and two stations:
//!
//! - the rendered DOM shows the status, the stations' plots and tables, the alerts with
//!   their evidence links, and is accessible in the ways a DOM can show;
//! - the personal audit, given a record's audit key in the URL fragment, lists exactly
//!   that record's entries in plain words, and no request the browser made (path, query,
//!   headers, body) carries the key;
//! - a malformed key gets a clear error;
//! - a link to an alert (`#alert-<id>`) opens it with its entries in plain words;
//! - a screenshot is written to `<target>/tmp/watch-explorer.png`.
//!
//! Needs chromium: `apt-get install -y chromium` (CI: `.ci/setup-chromium.sh`); set
//! `MASQUE_CHROMIUM` to use another Chromium-based browser binary, and
//! `MASQUE_BROWSER_LOG=1` to see the browser's log (console messages, script errors).

use crate::chromium;
use crate::fixture;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use masque_watch::explorer::explorer_router;

/// Every request the server saw: method, full URI, every header and the body.
type Requests = Arc<Mutex<Vec<String>>>;

async fn record(State(requests): State<Requests>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut line = format!("{} {}", parts.method, parts.uri);
    for (name, value) in &parts.headers {
        line.push_str(&format!(
            "\n{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    line.push_str("\n\n");
    line.push_str(&String::from_utf8_lossy(&bytes));
    requests.lock().unwrap().push(line);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The part of `dom` from the element with id `id` to the end of its section.
fn region<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {dom}"));
    let rest = &dom[start..];
    &rest[..rest.find("</section>\n").unwrap_or(rest.len())]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_explorer_page_shows_the_log_and_audits_in_the_browser() {
    let fixture = fixture::Fixture::new();
    let record_one = fixture.records[0].clone();
    let requests: Requests = Arc::default();
    let router = explorer_router(Arc::new(fixture)).layer(axum::middleware::from_fn_with_state(
        requests.clone(),
        record,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("browser-profile");
    let browse = |args: Vec<String>, url: String| {
        let profile = profile.clone();
        tokio::task::spawn_blocking(move || chromium::run_browser(&profile, &args, &url))
    };

    // (a) The page as rendered.
    let dom = browse(
        vec!["--dump-dom".into(), "--virtual-time-budget=10000".into()],
        format!("{base}/"),
    )
    .await
    .unwrap();
    // Status.
    assert!(
        dom.contains("id=\"origin\">watch-test.masque.example/log<"),
        "{dom}"
    );
    assert!(dom.contains("id=\"size\">30 entries<"), "{dom}");
    assert!(
        dom.contains(&format!("id=\"root\">{}<", fixture::ROOT)),
        "{dom}"
    );
    assert!(
        dom.contains("id=\"alert-counts\">1 critical, 1 warning<"),
        "{dom}"
    );
    assert!(
        dom.contains(
            "<th scope=\"row\">witness-a</th><td>✓ yes</td><td>2026-12-02 13:59:30 UTC</td>"
        ),
        "{dom}"
    );
    assert!(
        dom.contains("<th scope=\"row\">witness-c</th><td>✗ no</td>"),
        "{dom}"
    );
    assert!(
        dom.contains(
            "aria-label=\"Log size over time: from 5 entries on 2026-12-02 04:00 UTC to 30 entries"
        ),
        "{dom}"
    );
    // Stations: a plot and a table each; the declared rate drawn.
    for station in ["desk-north", "desk-south"] {
        assert!(dom.contains(&format!(">Station {station}</h3>")), "{dom}");
        assert!(
            dom.contains(&format!(
                "aria-label=\"Operations per hour at station {station}:"
            )),
            "{dom}"
        );
        assert!(
            dom.contains(&format!(
                "<caption>Operations per hour at station {station}</caption>"
            )),
            "{dom}"
        );
    }
    assert!(dom.contains("declared 12/h"), "{dom}");
    assert!(dom.contains("class=\"declared\""), "{dom}");
    assert!(
        dom.contains("<th scope=\"row\">2026-12-02 09:00 UTC</th><td>2</td><td>13</td><td>0</td><td>1</td><td>0</td><td>16</td>"),
        "{dom}"
    );
    assert!(dom.matches("role=\"img\"").count() >= 3, "{dom}");
    // Alerts, newest first, severity in words, evidence downloads.
    let critical = dom
        .find("data-alert=\"no-consent-1\"")
        .expect("alert no-consent-1");
    let warning = dom
        .find("data-alert=\"duplicate-harvesting-0\"")
        .expect("alert duplicate-harvesting-0");
    assert!(critical < warning, "alerts not newest first");
    assert!(
        dom.contains("▲ Critical") && dom.contains("● Warning"),
        "{dom}"
    );
    assert!(dom.contains("A check for service pay.example ran without a consent"));
    for id in ["no-consent-1", "duplicate-harvesting-0"] {
        assert!(
            dom.contains(&format!(
                "href=\"/api/alerts/{id}/evidence\" download=\"{id}.evidence.json\""
            )),
            "{dom}"
        );
    }
    assert!(dom.contains("aria-controls=\"alert-detail-0\""), "{dom}");
    // Accessible structure; nothing from elsewhere, no inline script or style.
    assert!(dom.contains("<html lang=\"en\">"));
    assert_eq!(dom.matches("<h1").count(), 1);
    assert!(dom.contains("<header>") && dom.contains("<main id=\"main\">"));
    assert!(dom.contains("<nav aria-label=\"Sections\">"));
    assert!(dom.contains("<label for=\"audit-key\">Audit key</label>"));
    assert!(dom.contains("id=\"audit-key\" type=\"password\""));
    assert!(dom.matches("<caption>").count() >= 4);
    assert!(dom.matches("scope=\"col\"").count() >= 10);
    assert!(dom.contains("data-state=\"idle\""));
    assert_eq!(
        dom.matches("<script").count(),
        dom.matches("<script type=\"module\" src=\"/").count()
    );
    for attr in ["src=\"http", "href=\"http", "url(", "@import", " style=\""] {
        assert!(!dom.contains(attr), "{attr} on the page");
    }
    assert!(!dom.contains("Could not load"), "{dom}");

    // (b) The personal audit with record 1's key, given in the fragment.
    let key_hex = hex::encode(record_one.key);
    let dom = browse(
        vec!["--dump-dom".into(), "--virtual-time-budget=15000".into()],
        format!("{base}/#audit-key={key_hex}"),
    )
    .await
    .unwrap();
    assert!(
        dom.contains("id=\"audit-status\" data-state=\"done\""),
        "{dom}"
    );
    let results = region(&dom, "audit-results");
    let listed: Vec<u64> = results
        .match_indices("data-index=\"")
        .map(|(at, m)| {
            let rest = &results[at + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(listed, record_one.indexes, "{results}");
    for words in [
        "Enrolled at desk-north on 2026-12-02 04:00 UTC",
        "Consent c0ffee000001 given to service shop.example on 2026-12-02 06:00 UTC, valid until 2027-01-01 06:00 UTC",
        "Checked for service shop.example under consent c0ffee000001: match on 2026-12-02 08:00 UTC",
        "Deleted on 2026-12-02 11:00 UTC",
        "4 entries in the log about this record; it has been deleted.",
    ] {
        assert!(results.contains(words), "{words} not in {results}");
    }
    for other in [
        "desk-south",
        "bank.example",
        "no match",
        "Credential issued",
    ] {
        assert!(!results.contains(other), "{other} in {results}");
    }
    assert!(dom.contains("Done: 4 entries about your record among the 30 log entries"));

    // (c) The key never left the page: no request carries it, in any spelling.
    let requests = requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("GET /api/entries?from=0&limit=1000\n")),
        "the audit fetched no entries: {requests:#?}"
    );
    let spellings = [
        key_hex.clone(),
        key_hex.to_uppercase(),
        base64::engine::general_purpose::STANDARD.encode(record_one.key),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(record_one.key),
    ];
    for request in &requests {
        for spelling in &spellings {
            assert!(
                !request.contains(spelling.as_str())
                    && !request.contains(&spelling[..16])
                    && !request.to_lowercase().contains(&key_hex[..16]),
                "a request carried the key: {request}"
            );
        }
    }
    assert!(!dom.contains(&key_hex) && !dom.contains(&key_hex.to_uppercase()));

    // (d) A malformed key: a clear error, no audit.
    let dom = browse(
        vec!["--dump-dom".into(), "--virtual-time-budget=5000".into()],
        format!("{base}/#audit-key={}", &key_hex[..63]),
    )
    .await
    .unwrap();
    assert!(dom.contains("data-state=\"error\""), "{dom}");
    assert!(
        dom.contains("This is not an audit key: it has 63 digits instead of 64"),
        "{dom}"
    );

    // (e) A link to an alert opens it: its entries, fetched one by one, in plain words.
    let dom = browse(
        vec!["--dump-dom".into(), "--virtual-time-budget=5000".into()],
        format!("{base}/#alert-no-consent-1"),
    )
    .await
    .unwrap();
    let detail = region(&dom, "alert-detail-0");
    assert!(
        detail.contains(
            "Entry 12: </span>Check for service pay.example refused: no consent for this \
             service on 2026-12-02 08:00 UTC"
        ),
        "{detail}"
    );
    assert!(!detail.starts_with("id=\"alert-detail-0\" class=\"detail\" hidden"));
    assert!(dom.contains("aria-expanded=\"true\" aria-controls=\"alert-detail-0\""));

    // (f) A screenshot for people to look at, kept under the target directory.
    let shoot = |name: &'static str, size: &str, budget: &str, url: String| {
        let (profile, args) = (profile.clone(), [size.to_owned(), budget.to_owned()]);
        tokio::task::spawn_blocking(move || chromium::screenshot(&profile, &url, name, &args))
    };
    let png = shoot(
        "watch-explorer.png",
        "--window-size=1280,1600",
        "--virtual-time-budget=10000",
        format!("{base}/"),
    )
    .await
    .unwrap();
    assert!(
        png.len() > 5_000,
        "suspiciously small screenshot ({} bytes)",
        png.len()
    );

    // And the whole page after an audit (alerts and audit results below the fold above).
    shoot(
        "watch-explorer-audit.png",
        "--window-size=1280,3000",
        "--virtual-time-budget=15000",
        format!("{base}/#audit-key={key_hex}"),
    )
    .await
    .unwrap();
}
