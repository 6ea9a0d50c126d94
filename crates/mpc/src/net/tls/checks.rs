//! What a network config must satisfy before custodians connect: every address a
//! well-formed `host:port` (an IP literal or a DNS host name, a port other than 0), and
//! every certificate made for the party in whose place it stands.

use super::TlsError;
use super::identity::PartyCertificate;
use crate::party::PartyId;

/// Whether `host` is an IP address (IPv6 in brackets) or a DNS host name: labels of 1 to
/// 63 letters, digits and hyphens, not starting or ending with a hyphen, 253 bytes at most.
fn valid_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        // An all-numeric name would be a malformed IPv4 address.
        && !name.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()))
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

pub(super) fn check_address(party: PartyId, address: &str) -> Result<(), TlsError> {
    let bad = |why: &str| {
        Err(TlsError::Config(format!(
            "{party}'s address {address:?} {why} (expected host:port, e.g. 10.0.0.1:7100, \
             [2001:db8::1]:7100 or custodian-a.example.org:7100)"
        )))
    };
    let Some((host, port)) = address.rsplit_once(':') else {
        return bad("has no port");
    };
    match port.parse::<u16>() {
        Ok(0) => return bad("has port 0, which cannot be dialled"),
        Ok(_) => {}
        Err(_) => return bad("has no valid port (1 to 65535)"),
    }
    if !valid_host(host) {
        return bad("has no valid host name or IP address");
    }
    Ok(())
}

/// The DNS name that [`super::identity::generate`] puts in `party`'s certificate.
fn certificate_name(party: PartyId) -> String {
    format!("p{}.masque-mpc.invalid", party.index())
}

/// Refuses a certificate that was made for another party (put in the wrong slot).
pub(super) fn check_certificate_party(
    party: PartyId,
    certificate: &PartyCertificate,
) -> Result<(), TlsError> {
    let der = certificate.to_rustls();
    let parsed = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| TlsError::Config(format!("{party}'s certificate cannot be parsed: {e:?}")))?;
    let expected = certificate_name(party);
    let name = rustls::pki_types::ServerName::try_from(expected.as_str())
        .map_err(|e| TlsError::Config(format!("internal: bad certificate name: {e}")))?;
    if parsed.verify_is_valid_for_subject_name(&name).is_ok() {
        return Ok(());
    }
    let belongs_to = PartyId::ALL.into_iter().find(|&q| {
        rustls::pki_types::ServerName::try_from(certificate_name(q).as_str())
            .is_ok_and(|n| parsed.verify_is_valid_for_subject_name(&n).is_ok())
    });
    Err(TlsError::Config(match belongs_to {
        Some(q) => format!(
            "the certificate in {party}'s place was made for {q} (it names {}); list the \
             certificates in the order P0,P1,P2",
            certificate_name(q)
        ),
        None => format!(
            "{party}'s certificate does not name {expected}; use the certificate that \
             `masque mpc keygen --party {}` wrote",
            party.index()
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_addresses() {
        for good in [
            "10.0.0.1",
            "[::1]",
            "[2001:db8::1]",
            "localhost",
            "custodian-a.example.org",
            "custodian-a.example.org.",
            "x1",
        ] {
            assert!(valid_host(good), "{good}");
        }
        let long_label = "a".repeat(64);
        let long_name = ["abc"; 64].join(".");
        for bad in [
            "",
            "::1",
            "[::1",
            "-a.example",
            "a-.example",
            "a..example",
            "a_b.example",
            "ex ample",
            "1.2.3",
            "1.2.3.4.5",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}
