//! The explorer's routes without a socket: answers, errors and headers.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::*;
use crate::view::{AlertCounts, EntryView};

/// A data source that records the pages asked for; `fail` makes every call fail.
#[derive(Default)]
struct Fake {
    pages: Mutex<Vec<(u64, u64)>>,
    fail: bool,
    panic: bool,
}

impl Fake {
    fn check(&self) -> Result<(), WatchError> {
        if self.panic {
            panic!("a data source bug");
        }
        if self.fail {
            return Err(WatchError::Store {
                path: "/secret/watch.redb".into(),
                message: "disk on fire".into(),
            });
        }
        Ok(())
    }
}

impl ExplorerData for Fake {
    fn status(&self) -> Result<StatusView, WatchError> {
        self.check()?;
        Ok(StatusView {
            origin: "example.org/log".into(),
            size: 3,
            root: "cm9vdA==".into(),
            checkpoint_note: "example.org/log\n3\ncm9vdA==\n".into(),
            cosigners: vec![],
            witnesses: vec![],
            last_poll: None,
            last_error: None,
            growth: vec![],
            alerts: AlertCounts::default(),
        })
    }
    fn alerts(&self) -> Result<Vec<AlertView>, WatchError> {
        self.check()?;
        Ok(vec![])
    }
    fn evidence(&self, id: &str) -> Result<Option<Vec<u8>>, WatchError> {
        self.check()?;
        Ok((id == "fork-0").then(|| b"{\"bundle\":1}".to_vec()))
    }
    fn entries(&self, from: u64, limit: u64) -> Result<EntriesPage, WatchError> {
        self.check()?;
        self.pages.lock().unwrap().push((from, limit));
        Ok(EntriesPage {
            from,
            size: 3,
            entries: (from..3.min(from.saturating_add(limit)))
                .map(|index| EntryView {
                    index,
                    entry: serde_json::json!({"v": 1}),
                })
                .collect(),
        })
    }
    fn activity(&self) -> Result<ActivityView, WatchError> {
        self.check()?;
        Ok(ActivityView { stations: vec![] })
    }
    fn checkpoint(&self) -> Result<Option<Vec<u8>>, WatchError> {
        self.check()?;
        Ok(None)
    }
    fn metrics(&self) -> Result<String, WatchError> {
        self.check()?;
        Ok("masque_watch_size 3\n".into())
    }
}

/// The answer to `GET uri`: status, headers, body.
async fn get(data: Arc<Fake>, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    request(data, "GET", uri).await
}

async fn request(
    data: Arc<Fake>,
    method: &str,
    uri: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = explorer_router(data)
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    (parts.status, parts.headers, bytes.to_vec())
}

/// The `error` of a JSON error answer.
fn error_of(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).expect("a JSON error body");
    value["error"].as_str().expect("an error field").to_owned()
}

#[tokio::test]
async fn bad_entries_queries_get_a_400_that_says_what_is_wrong() {
    let data = Arc::new(Fake::default());
    for (query, says) in [
        ("from=abc", "from must be a whole number"),
        ("from=-1", "from must be a whole number"),
        ("from=", "from must be a whole number"),
        ("limit=1e3", "limit must be a whole number"),
        ("limit=0", "limit must be 1 to 1000"),
        (
            "from=99999999999999999999999",
            "from must be a whole number",
        ),
        ("from=1&from=2", "given twice"),
        ("key=00ff", "unknown query parameter 'key'"),
    ] {
        let (status, headers, body) = get(data.clone(), &format!("/api/entries?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{query}");
        let error = error_of(&body);
        assert!(error.contains(says), "{query}: {error}");
    }
    assert!(data.pages.lock().unwrap().is_empty());
}

#[tokio::test]
async fn entries_pages_default_to_and_are_capped_at_1000() {
    let data = Arc::new(Fake::default());
    for uri in [
        "/api/entries",
        "/api/entries?from=2",
        "/api/entries?limit=5000&from=1",
        "/api/entries?from=0&limit=1",
    ] {
        let (status, _, body) = get(data.clone(), uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let page: EntriesPage = serde_json::from_slice(&body).unwrap();
        assert_eq!(page.size, 3);
    }
    assert_eq!(
        *data.pages.lock().unwrap(),
        [(0, 1000), (2, 1000), (1, 1000), (0, 1)]
    );
}

#[tokio::test]
async fn evidence_downloads_and_unknown_or_malformed_ids() {
    let data = Arc::new(Fake::default());
    let (status, headers, body) = get(data.clone(), "/api/alerts/fork-0/evidence").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"{\"bundle\":1}");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"fork-0.evidence.json\""
    );
    let (status, headers, body) = get(data.clone(), "/api/alerts/fork-9/evidence").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(error_of(&body).contains("no alert fork-9"));
    for id in ["..", "a%22b", "a%2Fb", &"x".repeat(200)] {
        let (status, _, body) = get(data.clone(), &format!("/api/alerts/{id}/evidence")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}");
        assert!(error_of(&body).contains("alert ids are"), "{id}");
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let data = Arc::new(Fake::default());
    for uri in [
        "/",
        "/app.js",
        "/plot.js",
        "/audit.js",
        "/style.css",
        "/api/status",
        "/api/alerts",
        "/api/activity",
        "/api/entries?from=0&limit=2",
        "/api/entries?from=x",
        "/api/alerts/nope/evidence",
        "/checkpoint",
        "/metrics",
        "/no/such/page",
    ] {
        let (_, headers, _) = get(data.clone(), uri).await;
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY,
            "{uri}"
        );
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{uri}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        if uri.starts_with("/api") {
            assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{uri}");
        }
    }
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn the_page_checkpoint_metrics_and_unknown_paths() {
    let data = Arc::new(Fake::default());
    let (status, headers, body) = get(data.clone(), "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<html lang=\"en\">")
    );
    let (status, headers, _) = get(data.clone(), "/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let (status, headers, body) = get(data.clone(), "/checkpoint").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(error_of(&body).contains("no checkpoint"));
    let (status, headers, body) = get(data.clone(), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(body, b"masque_watch_size 3\n");
    let (status, _, body) = get(data.clone(), "/api/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("nothing at /api/nothing"));
    let (status, _, body) = request(data.clone(), "POST", "/api/status").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error_of(&body).contains("only answers GET"));
}

#[tokio::test]
async fn a_failing_or_panicking_data_source_gets_a_500_json_error() {
    let failing = Arc::new(Fake {
        fail: true,
        ..Fake::default()
    });
    let (status, _, body) = get(failing, "/api/status").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let error = error_of(&body);
    assert!(error.contains("could not be read"), "{error}");
    assert!(
        !error.contains("/secret"),
        "the database path leaked: {error}"
    );
    let panicking = Arc::new(Fake {
        panic: true,
        ..Fake::default()
    });
    let (status, _, body) = get(panicking, "/api/alerts").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(error_of(&body).contains("failed to answer"));
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_on_a_socket_and_drops_a_client_that_stalls_in_its_headers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = masque_tlog::serve::ServerLimits {
        header_read: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let server = tokio::spawn(serve_explorer(listener, Arc::new(Fake::default()), limits));
    let (answer, stalled) = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .write_all(b"GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        // Half a request, then nothing: the server closes the connection.
        let mut slow = std::net::TcpStream::connect(address).unwrap();
        slow.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        slow.write_all(b"GET /api/status HTTP/1.1\r\nHo").unwrap();
        let mut rest = Vec::new();
        let stalled = slow.read_to_end(&mut rest).map(|_| rest.len());
        (answer, stalled)
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("example.org/log"), "{answer}");
    // Closed by the server (end of stream, perhaps after a 408), not by our timeout.
    assert!(stalled.is_ok(), "{stalled:?}");
    server.abort();
}
