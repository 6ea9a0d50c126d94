//! Starts a generated network as real processes of the `masque` binary: a witness, a
//! log, and the three custodians, each a child process that can be killed and restarted.

use masque_node::setup::{self, Layout, Process};
use masque_protocol::{PartyId, network::NetworkDescription};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A child process, killed when dropped.
pub struct Proc {
    pub child: Child,
    pub stderr: Receiver<String>,
    /// The JSON line it announced itself with (`{"event":"listening",...}`).
    pub listening: serde_json::Value,
}

impl Proc {
    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// Everything written on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `masque <args> --json` and waits for its `listening` line.
pub fn start(args: &[String]) -> Proc {
    start_with_env(args, &[])
}

/// [`start`] with extra environment variables.
pub fn start_with_env(args: &[String], env: &[(&str, &str)]) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .envs(env.iter().copied())
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
    let first = out.next();
    std::thread::spawn(move || for _ in out {});
    let mut proc = Proc {
        child,
        stderr: rx,
        listening: serde_json::Value::Null,
    };
    match first {
        Some(Ok(line)) if line.contains("\"listening\"") => {
            proc.listening = serde_json::from_str(&line).unwrap_or_default();
            proc
        }
        other => {
            let status = proc.child.wait();
            panic!(
                "{args:?} did not start ({other:?}, {status:?}): {}",
                proc.stderr_so_far()
            )
        }
    }
}

/// A running network.
pub struct Network {
    pub layout: Layout,
    pub description: NetworkDescription,
    pub witness: Proc,
    pub log: Proc,
    pub nodes: [Option<Proc>; 3],
}

impl Network {
    /// Generates a network in `dir` and starts every process.
    pub fn start(dir: &Path, stations: &[&str]) -> Network {
        Self::start_with_limits(dir, stations, "")
    }

    /// [`Network::start`] with more `[limits]` lines in every custodian's config.
    pub fn start_with_limits(dir: &Path, stations: &[&str], limits: &str) -> Network {
        // Offsets up to +21 (the log); 24 leaves a little room.
        let base = super::ports::free_block(24);
        let layout = Layout::new(dir, base);
        let description = setup::generate(&layout, stations).unwrap();
        // Short MPC timeouts: a test that kills a custodian mid-protocol should not wait
        // the default 30 s for the others to give up.
        for p in PartyId::ALL {
            let path = layout.node_config(p);
            let mut config = std::fs::read_to_string(&path).unwrap();
            config.push_str(&format!("\n[limits]\nmpc_timeout_s = 5\n{limits}\n"));
            std::fs::write(&path, config).unwrap();
        }
        let witness = start(&layout.process_args(&description, Process::Witness).unwrap());
        let log = start(&layout.process_args(&description, Process::Log).unwrap());
        let mut network = Network {
            layout,
            description,
            witness,
            log,
            nodes: [None, None, None],
        };
        for p in PartyId::ALL {
            network.start_node(p);
        }
        network.wait_linked();
        network
    }

    /// Starts custodian `p`.
    pub fn start_node(&mut self, p: PartyId) {
        self.start_node_with_env(p, &[]);
    }

    /// Starts custodian `p` with extra environment variables.
    pub fn start_node_with_env(&mut self, p: PartyId, env: &[(&str, &str)]) {
        let args = self
            .layout
            .process_args(&self.description, Process::Custodian(p))
            .unwrap();
        self.nodes[p.index()] = Some(start_with_env(&args, env));
    }

    /// Waits until custodian `p`'s process has exited (it crashed itself).
    pub fn wait_exited(&mut self, p: PartyId, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let proc = self.nodes[p.index()].as_mut().unwrap();
        loop {
            if proc.child.try_wait().unwrap().is_some() {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Custodian `p`'s health document.
    pub fn health(&self, p: PartyId) -> serde_json::Value {
        let (_, body) = http_get(&format!("http://{}/v1/health", self.layout.api_addr(p)));
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
    }

    /// SIGKILLs custodian `p`.
    pub fn kill_node(&mut self, p: PartyId) {
        if let Some(mut proc) = self.nodes[p.index()].take() {
            proc.kill();
        }
    }

    /// Waits until every custodian reports both MPC links up.
    pub fn wait_linked(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for p in PartyId::ALL {
            let url = format!("http://{}/v1/health", self.layout.api_addr(p));
            loop {
                if http_get(&url).0 == 200 {
                    break;
                }
                assert!(Instant::now() < deadline, "{p} never linked");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// One HTTP/1.1 request over a plain socket; returns status and body.
pub fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return (0, Vec::new());
    };
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    if stream.write_all(head.as_bytes()).is_err() {
        return (0, Vec::new());
    }
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, response);
    };
    let status = String::from_utf8_lossy(&response[9..12])
        .parse()
        .unwrap_or(0);
    (status, response[split + 4..].to_vec())
}

/// GET `url` (`http://host:port/path`).
pub fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap();
    http(addr, "GET", &format!("/{path}"), &[], b"")
}
