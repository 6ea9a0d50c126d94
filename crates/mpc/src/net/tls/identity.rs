//! A party's TLS identity: its private key (secret) and self-signed certificate (public).
//!
//! [`generate`] makes an ECDSA P-256 key and a self-signed certificate with rcgen. The
//! certificate is not checked against any CA, name or validity period: a peer accepts
//! it only if it is byte for byte the certificate pinned for that party in the network
//! config (see [`super::verify`]). The key is kept as PKCS#8 DER in zeroized memory and
//! is never printed (its `Debug` says only which party it belongs to).

use super::TlsError;
use crate::party::PartyId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// A party's certificate (DER), as pinned in the network config.
#[derive(Clone, PartialEq, Eq)]
pub struct PartyCertificate {
    der: Vec<u8>,
}

impl std::fmt::Debug for PartyCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartyCertificate(sha256:{})", self.fingerprint())
    }
}

impl PartyCertificate {
    /// A certificate from its DER encoding.
    pub fn from_der(der: Vec<u8>) -> Self {
        Self { der }
    }

    /// Parses one PEM `CERTIFICATE` block.
    pub fn from_pem(pem: &str) -> Result<Self, TlsError> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
            TlsError::Config(format!("a certificate is not a PEM CERTIFICATE block: {e}"))
        })?;
        Ok(Self::from_der(der.to_vec()))
    }

    /// The PEM encoding.
    pub fn to_pem(&self) -> String {
        pem_block("CERTIFICATE", &self.der)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as rustls takes it.
    pub(crate) fn to_rustls(&self) -> CertificateDer<'static> {
        CertificateDer::from(self.der.clone())
    }

    /// SHA-256 of the DER encoding, lowercase hex: what operators compare out of band.
    pub fn fingerprint(&self) -> String {
        hex(&Sha256::digest(&self.der))
    }
}

/// A party's private key (PKCS#8 DER), zeroized on drop, never printed.
pub struct PartyKey {
    pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PartyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartyKey(..)")
    }
}

impl PartyKey {
    /// Parses a PEM `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut key = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|_| {
            // The parser's message could quote the input; say only what was expected.
            TlsError::Config("the key file is not a PEM PRIVATE KEY (PKCS#8) block".into())
        })?;
        let pkcs8 = Zeroizing::new(key.secret_pkcs8_der().to_vec());
        key.zeroize();
        Ok(Self { pkcs8 })
    }

    /// Reads a key file written by [`super::config::generate_network`]. A key file that
    /// others can read is refused (the message says to `chmod 600` it); the text read is
    /// zeroized.
    pub fn load(path: &std::path::Path) -> Result<Self, TlsError> {
        let pem = masque_files::read_secret(path).map_err(|e| match e {
            masque_files::FileError::Io { source, .. } => TlsError::Io {
                what: path.display().to_string(),
                reason: source.to_string(),
            },
            other => TlsError::Config(other.to_string()),
        })?;
        Self::from_pem(pem.as_bytes())
    }

    /// The PEM encoding (secret: write it only to a 0600 file).
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem_block("PRIVATE KEY", &self.pkcs8))
    }

    /// A copy for rustls, which keeps it (as a signing key) for the node's lifetime.
    pub(crate) fn to_rustls(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.pkcs8.to_vec()))
    }
}

/// A fresh key and a self-signed certificate for `party`.
pub fn generate(party: PartyId) -> Result<(PartyKey, PartyCertificate), TlsError> {
    let failed = |e: rcgen::Error| TlsError::Config(format!("certificate generation failed: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let name = format!("{}.masque-mpc.invalid", party.to_string().to_lowercase());
    let mut params = rcgen::CertificateParams::new(vec![name]).map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("masque mpc {party}"));
    let cert = params.self_signed(&key).map_err(failed)?;
    let mut der = key.serialize_der();
    let party_key = PartyKey {
        pkcs8: Zeroizing::new(der.clone()),
    };
    der.zeroize();
    Ok((party_key, PartyCertificate::from_der(cert.der().to_vec())))
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_debug_hides_the_key() {
        let (key, cert) = generate(PartyId::P1).unwrap();
        let again = PartyCertificate::from_pem(&cert.to_pem()).unwrap();
        assert_eq!(again, cert);
        assert_eq!(cert.fingerprint().len(), 64);
        let key_again = PartyKey::from_pem(key.to_pem().as_bytes()).unwrap();
        assert_eq!(*key_again.pkcs8, *key.pkcs8);
        assert_eq!(format!("{key:?}"), "PartyKey(..)");
        assert!(format!("{cert:?}").contains(&cert.fingerprint()));
        assert!(matches!(
            PartyKey::from_pem(cert.to_pem().as_bytes()),
            Err(TlsError::Config(_))
        ));
        assert!(PartyCertificate::from_pem("not pem").is_err());
        let (_, other) = generate(PartyId::P1).unwrap();
        assert_ne!(other, cert, "every generation is fresh");
    }
}
