use super::*;
use masque_cred::{BbsIssuer, Issuer, IssuerSeed};

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[7; 32]).unwrap()).unwrap();
        std::fs::write(
            dir.path().join("issuer.json"),
            issuer.public_key().to_json(),
        )
        .unwrap();
        Self { dir }
    }

    fn parse(&self, text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, &self.dir.path().join("service.toml"))
    }
}

const SERVICE: &str = r#"
kind = "service"
listen = "127.0.0.1:0"
data_dir = "data"
issuer_public_key = "issuer.json"
context_id = "HTTPS://Shop.Example/"
[epochs]
origin = 0
length_secs = 86400
[policy]
required = ["modalities"]
enrolled_before = "2026-Q3"
"#;

const DESK: &str = r#"
kind = "aid-desk"
listen = "127.0.0.1:0"
data_dir = "data"
issuer_public_key = "issuer.json"
[epochs]
origin = 0
length_secs = 86400
[desk]
id = "north"
"#;

#[test]
fn a_service_config_is_read_and_normalised() {
    let f = Fixture::new();
    let c = f.parse(SERVICE).unwrap();
    assert_eq!(
        c.kind,
        Kind::Service {
            context_id: ContextId::new("https://shop.example").unwrap()
        }
    );
    assert_eq!(c.data_dir, f.dir.path().join("data"));
    assert_eq!(c.required, [AttributeKind::Modalities]);
    assert_eq!(
        c.cutoff,
        Cutoff::Quarter(EnrolmentQuarter::new(2026, 3).unwrap())
    );
    assert_eq!(c.nonce_lifetime_secs, DEFAULT_NONCE_LIFETIME_SECS);
}

#[test]
fn a_desk_config_defaults_to_the_round_start_cutoff() {
    let f = Fixture::new();
    let c = f.parse(DESK).unwrap();
    assert_eq!(c.cutoff, Cutoff::RoundStart);
    match c.kind {
        Kind::AidDesk {
            desk,
            admin_token_file,
        } => {
            assert_eq!(desk.as_str(), "north");
            assert_eq!(
                admin_token_file,
                f.dir.path().join("data").join(ADMIN_TOKEN_FILE)
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_bad_field_is_named() {
    let f = Fixture::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            SERVICE,
            "listen = \"127.0.0.1:0\"",
            "listen = \"localhost\"",
        ),
        (SERVICE, "kind = \"service\"", "kind = \"shop\""),
        (SERVICE, "issuer.json", "missing.json"),
        (SERVICE, "length_secs = 86400", "length_secs = 0"),
        (
            SERVICE,
            "required = [\"modalities\"]",
            "required = [\"age\"]",
        ),
        (SERVICE, "\"2026-Q3\"", "\"2026-Q5\""),
        (SERVICE, "\"2026-Q3\"", "\"round-start\""),
        (
            SERVICE,
            "enrolled_before",
            "nonce_lifetime_secs = 1\nenrolled_before",
        ),
        (SERVICE, "[policy]", "[http]\nmax_connections = 0\n[policy]"),
        (
            SERVICE,
            "[policy]",
            "[http]\nheader_read_secs = 0\n[policy]",
        ),
        (
            SERVICE,
            "context_id = \"HTTPS://Shop.Example/\"",
            "context_id = \"a b\"",
        ),
        (SERVICE, "context_id = \"HTTPS://Shop.Example/\"", ""),
        (DESK, "id = \"north\"", "id = \"North Gate\""),
        (DESK, "[desk]\nid = \"north\"", ""),
        (
            DESK,
            "kind = \"aid-desk\"",
            "kind = \"aid-desk\"\ncontext_id = \"x\"",
        ),
    ];
    let fields = [
        "`listen`",
        "`kind`",
        "`issuer_public_key`",
        "`epochs.length_secs`",
        "`policy.required`",
        "`policy.enrolled_before`",
        "`policy.enrolled_before`",
        "`policy.nonce_lifetime_secs`",
        "`http.max_connections`",
        "`http.header_read_secs`",
        "`context_id`",
        "`context_id`",
        "`desk.id`",
        "`desk`",
        "`context_id`",
    ];
    for ((base, from, to), field) in cases.iter().zip(fields) {
        let text = base.replacen(from, to, 1);
        assert_ne!(&text, base, "case {from:?} did not apply");
        let e = f.parse(&text).unwrap_err().to_string();
        assert!(e.contains(field), "{from:?} -> {to:?}: {e}");
    }
}

#[test]
fn unknown_and_missing_fields_are_named_by_the_parser() {
    let f = Fixture::new();
    let e = f
        .parse(&format!("{SERVICE}\nlisten_port = 3\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("listen_port"), "{e}");
    let e = f
        .parse(&SERVICE.replace("data_dir = \"data\"\n", ""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("data_dir"), "{e}");
    let e = f.parse("kind = [").unwrap_err().to_string();
    assert!(e.contains("service.toml"), "{e}");
}

#[test]
fn quarters_parse() {
    assert_eq!(
        parse_quarter("2026-q1"),
        EnrolmentQuarter::new(2026, 1).ok()
    );
    for bad in ["2026", "2026-Q0", "Q1-2026", "2026-Q", "abcd-Q1"] {
        assert_eq!(parse_quarter(bad), None, "{bad}");
    }
}
