//! `masque log` as a user runs it, in real processes: secret key files, one writer per
//! log directory, input checked before anything is created, readers that create
//! nothing, and `--json` output.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn masque(args: &[&str]) -> Output {
    masque_with_stdin(args, b"")
}

fn masque_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `masque log keygen --name NAME --out KEY --json`: the printed public keys.
fn keygen_named(name: &str, key: &Path) -> serde_json::Value {
    let out = masque(&[
        "log",
        "keygen",
        "--name",
        name,
        "--out",
        path(key),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn keygen(key: &Path) {
    keygen_named("log.example/test", key);
}

/// A running `masque log serve`; killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &Path, key: &Path, tokens: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(["log", "serve", "--dir", path(dir), "--key", path(key)])
        .args(["--tokens", path(tokens), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("serving log") {
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Server(child);
        }
    }
    panic!("the server exited before serving: {:?}", child.wait());
}

/// Starts `masque <args> --json` and returns it with the first JSON line it printed on
/// stdout, and its stderr lines (collected in the background).
fn start_json(args: &[&str]) -> (Server, serde_json::Value, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = out.next().expect("a JSON line").unwrap();
    std::thread::spawn(move || for _ in out {});
    (Server(child), serde_json::from_str(&first).unwrap(), rx)
}

/// One HTTP/1.1 request over a plain socket; returns status and body.
fn http(url: &str, method: &str, headers: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, target) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, t)| (h, format!("/{t}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
    (status, response[split + 4..].to_vec())
}

#[test]
fn served_log_is_cosigned_by_a_witness_process_and_warnings_reach_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (log_key, witness_key) = (dir.path().join("log.key"), dir.path().join("w.key"));
    let log_vkey = keygen_named("log.example/test", &log_key)["log_vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let witness_vkey = keygen_named("witness.example/w", &witness_key)["witness_vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let wdir = dir.path().join("witness");
    let witness_args = [
        "log",
        "witness",
        "--dir",
        path(&wdir),
        "--key",
        path(&witness_key),
        "--log",
        &log_vkey,
        "--listen",
        "127.0.0.1:0",
    ];
    let (_witness, announced, _) = start_json(&witness_args);
    assert_eq!(announced["event"], "listening");
    assert_eq!(announced["witness_vkey"], witness_vkey.as_str());
    let witness_url = announced["url"].as_str().unwrap().to_owned();

    // A second witness on the same state directory is refused.
    let second = masque(&witness_args);
    assert!(
        stderr(&second).contains("writer.lock"),
        "{}",
        stderr(&second)
    );

    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "t0ken\n").unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    // One reachable witness and one that is not: the second one's failure is a warning
    // the operator sees on stderr.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let (_server, announced, stderr_lines) = start_json(&[
        "log",
        "serve",
        "--dir",
        path(&dir.path().join("log")),
        "--key",
        path(&log_key),
        "--tokens",
        path(&tokens),
        "--listen",
        "127.0.0.1:0",
        "--witness",
        &format!("{witness_url}={witness_vkey}"),
        "--witness",
        &format!("{dead_url}={witness_vkey}"),
    ]);
    let url = announced["url"].as_str().unwrap().to_owned();
    let (status, body) = http(
        &format!("{url}/add-entries"),
        "POST",
        "Authorization: Bearer t0ken\r\n",
        &[0, 5, b'h', b'e', b'l', b'l', b'o'],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    // Cosigning runs in the background: poll the checkpoint until the witness's line is on it.
    let witness_line = "\u{2014} witness.example/w ";
    let cosigned = (0..200).any(|_| {
        let (_, checkpoint) = http(&format!("{url}/checkpoint"), "GET", "", b"");
        let text = String::from_utf8_lossy(&checkpoint).into_owned();
        text.starts_with("log.example/test\n1\n") && text.contains(witness_line) || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            false
        }
    });
    assert!(
        cosigned,
        "the checkpoint never got the witness's cosignature"
    );
    // Bounded wait (a safety net, not a timing assertion): the warning comes with the
    // first cosigning round, which has already happened.
    let warned = std::iter::from_fn(|| {
        stderr_lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .ok()
    })
    .find(|line| line.contains("WARN") && line.contains("did not cosign"));
    assert!(
        warned.is_some(),
        "no warning about the unreachable witness on stderr"
    );
}

#[test]
fn keygen_writes_a_0600_key_never_overwrites_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.key");
    let out = masque(&[
        "log",
        "keygen",
        "--name",
        "log.example/test",
        "--out",
        path(&key),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        printed["log_vkey"]
            .as_str()
            .unwrap()
            .starts_with("log.example/test+")
    );
    assert!(
        printed["witness_vkey"]
            .as_str()
            .unwrap()
            .starts_with("log.example/test+")
    );
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&key).unwrap();
    let again = masque(&[
        "log",
        "keygen",
        "--name",
        "other.example/x",
        "--out",
        path(&key),
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn a_key_readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.key");
    keygen(&key);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let log = dir.path().join("log");
    let out = masque_with_stdin(
        &["log", "append", "--dir", path(&log), "--key", path(&key)],
        b"a\n",
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("chmod 600") && err.contains("log.key"),
        "{err}"
    );
    assert!(
        !log.exists(),
        "nothing is created before the key is accepted"
    );
}

#[test]
fn one_writer_per_log_directory_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (key, log) = (dir.path().join("log.key"), dir.path().join("log"));
    keygen(&key);
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "t0ken\n").unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = start_server(&log, &key, &tokens);

    // A second server and a local append on the same directory fail at once, naming the
    // lock file; neither signs anything.
    let checkpoint_before = std::fs::read(log.join("checkpoint")).unwrap();
    let append = masque_with_stdin(
        &["log", "append", "--dir", path(&log), "--key", path(&key)],
        b"x\n",
    );
    assert!(!append.status.success());
    assert!(
        stderr(&append).contains("writer.lock"),
        "{}",
        stderr(&append)
    );
    let second = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(["log", "serve", "--dir", path(&log), "--key", path(&key)])
        .args(["--tokens", path(&tokens), "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("locked by another writer"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::read(log.join("checkpoint")).unwrap(),
        checkpoint_before
    );

    // Once the server is gone, the directory can be written again.
    drop(server);
    let append = masque_with_stdin(
        &["log", "append", "--dir", path(&log), "--key", path(&key)],
        b"x\n",
    );
    assert!(append.status.success(), "{}", stderr(&append));
}

#[test]
fn append_checks_its_input_before_creating_anything() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("log.key");
    keygen(&key);
    let log = dir.path().join("log");
    let mut too_long = vec![b'a'; 70_000];
    too_long.push(b'\n');
    for (input, expect) in [
        (&b""[..], "no entries"),
        (&too_long[..], "line 1 is 70000 bytes"),
        (&b"\xff\xfe\n"[..], "not UTF-8"),
    ] {
        let out = masque_with_stdin(
            &["log", "append", "--dir", path(&log), "--key", path(&key)],
            input,
        );
        assert!(!out.status.success());
        assert!(stderr(&out).contains(expect), "{}", stderr(&out));
        assert!(!log.exists(), "{expect}: the log directory was created");
    }
    let out = masque_with_stdin(
        &[
            "log",
            "append",
            "--dir",
            path(&log),
            "--key",
            path(&key),
            "--json",
        ],
        b"one\ntwo\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["first_index"], 0);
    assert_eq!(receipt["count"], 2);
    assert!(
        receipt["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("log.example/test\n2\n")
    );

    let out = masque(&[
        "log",
        "prove",
        "--dir",
        path(&log),
        "--index",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let proof: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(proof["kind"], "inclusion");
    assert_eq!(proof["tree_size"], 2);
    assert_eq!(proof["proof"].as_array().unwrap().len(), 1);
}

#[test]
fn prove_creates_no_directory_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-log-here");
    let out = masque(&["log", "prove", "--dir", path(&missing), "--index", "0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-log-here"), "{}", stderr(&out));
    assert!(!missing.exists());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = masque(&["log", "prove", "--dir", path(&empty), "--index", "0"]);
    assert!(stderr(&out).contains("holds no log"), "{}", stderr(&out));
}
