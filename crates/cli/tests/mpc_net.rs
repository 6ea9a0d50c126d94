//! `masque mpc net-init` end to end: the files it writes load back as a working network
//! config, keys are private, nothing is overwritten, bad input is refused. And
//! `masque bench mpc` on a tiny gallery, over both transports.

use masque_mpc::PartyId;
use masque_mpc::net::tls::{NetworkConfig, load_party};
use std::process::Command;

fn masque(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn net_init_writes_a_loadable_config_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let net_arg = net.to_str().unwrap();
    let addresses = "127.0.0.1:7100,127.0.0.1:7101,[::1]:7102";
    let out = masque(&[
        "mpc",
        "net-init",
        "--dir",
        net_arg,
        "--addresses",
        addresses,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = NetworkConfig::load_dir(&net).unwrap();
    for p in PartyId::ALL {
        // The printed fingerprint is the pinned certificate's; no key is printed.
        assert!(stdout.contains(&config.party(p).certificate.fingerprint()));
        load_party(&net, p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let key = net.join(format!("p{}.key", p.index()));
            let mode = std::fs::metadata(key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    assert!(!stdout.contains("PRIVATE KEY"));
    assert_eq!(config.party(PartyId::P2).address, "[::1]:7102");

    let again = masque(&[
        "mpc",
        "net-init",
        "--dir",
        net_arg,
        "--addresses",
        addresses,
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(NetworkConfig::load_dir(&net).unwrap(), config, "unchanged");

    let other = dir.path().join("other");
    let other_arg = other.to_str().unwrap();
    for (bad, why) in [
        ("a:1,b:2", "exactly three"),
        ("a:1,b:2,c", "host:port"),
        ("a:1,a:1,a:1", "same address"),
        ("a:1,b:2,c:0", "port 0"),
        ("a:1,b:2,exa mple.org:3", "host name"),
        ("a:1,b:2,-x-:3", "host name"),
    ] {
        let out = masque(&["mpc", "net-init", "--dir", other_arg, "--addresses", bad]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{bad}: {stderr}");
        assert!(!other.exists(), "nothing is written for bad input");
    }
}

#[test]
fn bench_mpc_reports_both_transports_as_json() {
    let out = masque(&["bench", "mpc", "--eyes", "32", "--queries", "1", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["comparisons"], 32 * 31);
    assert_eq!(v["share_bytes_per_eye_per_party"], 38_400.0);
    // One kernel by default (the best here), measured over both transports.
    assert_eq!(v["kernels"].as_array().map(Vec::len), Some(1), "{v}");
    let kernel = &v["kernels"][0];
    assert_eq!(kernel["kernel"], v["kernel_chosen_here"]);
    for transport in ["in_process", "tls"] {
        let t = &kernel[transport];
        assert!(
            t["comparisons_per_second_per_party_core"].as_f64().unwrap() > 0.0,
            "{t}"
        );
        assert!(t["bytes_sent_per_comparison_per_party"].as_f64().unwrap() > 0.0);
        assert!(t["mpc_over_plaintext"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(
        kernel["in_process"]["bytes_sent_per_comparison_per_party"],
        kernel["tls"]["bytes_sent_per_comparison_per_party"]
    );
}

#[test]
fn custodians_keygen_on_their_own_machines_and_assemble_from_certificates() {
    let machines: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut certificates = Vec::new();
    for (i, machine) in machines.iter().enumerate() {
        let dir = machine.path().to_str().unwrap();
        let out = masque(&["mpc", "keygen", "--party", &i.to_string(), "--dir", dir]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY"));
        certificates.push(machine.path().join(format!("p{i}.cert.pem")));
    }
    let coordinator = tempfile::tempdir().unwrap();
    let certs: Vec<&str> = certificates.iter().map(|p| p.to_str().unwrap()).collect();
    let out = masque(&[
        "mpc",
        "net-assemble",
        "--dir",
        coordinator.path().to_str().unwrap(),
        "--addresses",
        "127.0.0.1:7200,127.0.0.1:7201,127.0.0.1:7202",
        "--certificates",
        &certs.join(","),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (p, machine) in PartyId::ALL.into_iter().zip(&machines) {
        std::fs::copy(
            coordinator.path().join("network.json"),
            machine.path().join("network.json"),
        )
        .unwrap();
        load_party(machine.path(), p).unwrap();
    }
    // Certificates in the wrong order are refused, naming the mix-up; nothing is written.
    let swapped = tempfile::tempdir().unwrap();
    let out = masque(&[
        "mpc",
        "net-assemble",
        "--dir",
        swapped.path().to_str().unwrap(),
        "--addresses",
        "127.0.0.1:7200,127.0.0.1:7201,127.0.0.1:7202",
        "--certificates",
        &[certs[1], certs[0], certs[2]].join(","),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("made for P1"), "{stderr}");
    assert!(!swapped.path().join("network.json").exists());
    // --json says what was written, without key material.
    let json_dir = tempfile::tempdir().unwrap();
    let out = masque(&[
        "mpc",
        "net-assemble",
        "--dir",
        json_dir.path().to_str().unwrap(),
        "--addresses",
        "127.0.0.1:7200,127.0.0.1:7201,127.0.0.1:7202",
        "--certificates",
        &certs.join(","),
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["parties"][1]["party"], "P1");
    assert_eq!(v["parties"][2]["address"], "127.0.0.1:7202");
    // Bad input: a party index out of range, a missing certificate file.
    let out = masque(&[
        "mpc",
        "keygen",
        "--party",
        "3",
        "--dir",
        coordinator.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0, 1 or 2"));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = masque(&[
        "mpc",
        "net-assemble",
        "--dir",
        elsewhere.path().to_str().unwrap(),
        "--addresses",
        "127.0.0.1:7200,127.0.0.1:7201,127.0.0.1:7202",
        "--certificates",
        "/nonexistent/p0.cert.pem,/nonexistent/p1.cert.pem,/nonexistent/p2.cert.pem",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read certificate"));
}
