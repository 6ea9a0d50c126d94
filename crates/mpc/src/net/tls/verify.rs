//! Certificate pinning and the rustls configurations of a party.
//!
//! No CA, host name or validity period is consulted: a peer is accepted if and only if
//! its end-entity certificate is byte for byte one of the certificates pinned for the
//! parties allowed at that end of the connection (the dialled party's, for a client; the
//! lower-numbered parties', for a server), with no chain. The handshake signature is
//! still verified with the `ring` provider's algorithms, so a peer must hold the private
//! key of the pinned certificate. Only TLS 1.3 is enabled (rustls is built without
//! `tls12`), session resumption is off (every connection authenticates both certificates
//! afresh), and ALPN `masque-mpc/1` keeps other protocols from talking to the port.

use super::TlsError;
use super::config::NetworkConfig;
use super::identity::PartyKey;
use crate::party::PartyId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use std::sync::Arc;

/// The ALPN protocol id of the party-to-party protocol.
pub const ALPN: &[u8] = b"masque-mpc/1";

/// Why a presented certificate was refused (carried inside the rustls error).
#[derive(Debug, thiserror::Error)]
enum PinError {
    #[error("the certificate is not the one pinned for {0} in the network config")]
    NotPinned(String),
    #[error("a certificate chain was presented; parties use one pinned self-signed certificate")]
    Chain,
}

fn refuse(e: PinError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

/// Accepts exactly the pinned certificates of `allowed` and checks handshake signatures.
#[derive(Debug)]
struct Pinned {
    allowed: Vec<(PartyId, CertificateDer<'static>)>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    fn new(config: &NetworkConfig, allowed: &[PartyId], provider: &CryptoProvider) -> Self {
        Self {
            allowed: allowed
                .iter()
                .map(|&p| (p, config.party(p).certificate.to_rustls()))
                .collect(),
            algorithms: provider.signature_verification_algorithms,
        }
    }

    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<(), rustls::Error> {
        if !intermediates.is_empty() {
            return Err(refuse(PinError::Chain));
        }
        if self
            .allowed
            .iter()
            .any(|(_, c)| c.as_ref() == end_entity.as_ref())
        {
            Ok(())
        } else {
            let names: Vec<String> = self.allowed.iter().map(|(p, _)| p.to_string()).collect();
            Err(refuse(PinError::NotPinned(names.join(" or "))))
        }
    }

    fn tls12(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> SigResult {
        // Unreachable with TLS 1.3 only; still verified properly rather than accepted.
        rustls::crypto::verify_tls12_signature(m, c, d, &self.algorithms)
    }

    fn tls13(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> SigResult {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.algorithms)
    }
}

type SigResult = Result<HandshakeSignatureValid, rustls::Error>;

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> SigResult {
        self.tls12(m, c, d)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> SigResult {
        self.tls13(m, c, d)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity, intermediates)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> SigResult {
        self.tls12(m, c, d)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> SigResult {
        self.tls13(m, c, d)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str) -> impl Fn(rustls::Error) -> TlsError + '_ {
    move |e| TlsError::Config(format!("{what}: {e}"))
}

/// The client side of `me`'s connection to `peer`: presents `me`'s certificate and
/// accepts only `peer`'s pinned one.
pub(crate) fn client_config(
    config: &NetworkConfig,
    me: PartyId,
    key: &PartyKey,
    peer: PartyId,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = provider();
    let verifier = Arc::new(Pinned::new(config, &[peer], &provider));
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("TLS 1.3 is unavailable"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(
            vec![config.party(me).certificate.to_rustls()],
            key.to_rustls(),
        )
        .map_err(tls_error("the key file does not hold a usable key"))?;
    client.alpn_protocols = vec![ALPN.to_vec()];
    client.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(client))
}

/// The server side of `me`: presents `me`'s certificate and requires the pinned
/// certificate of one of the lower-numbered parties, which dial it.
pub(crate) fn server_config(
    config: &NetworkConfig,
    me: PartyId,
    key: &PartyKey,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = provider();
    let dialers: Vec<PartyId> = PartyId::ALL.into_iter().filter(|p| *p < me).collect();
    let verifier = Arc::new(Pinned::new(config, &dialers, &provider));
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("TLS 1.3 is unavailable"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![config.party(me).certificate.to_rustls()],
            key.to_rustls(),
        )
        .map_err(tls_error("the key file does not hold a usable key"))?;
    server.alpn_protocols = vec![ALPN.to_vec()];
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    Ok(Arc::new(server))
}

/// Checks that `key` belongs to `me`'s pinned certificate.
pub(crate) fn check_key(
    config: &NetworkConfig,
    me: PartyId,
    key: &PartyKey,
) -> Result<(), TlsError> {
    // `from_der` compares the key's public half with the certificate's.
    rustls::sign::CertifiedKey::from_der(
        vec![config.party(me).certificate.to_rustls()],
        key.to_rustls(),
        &provider(),
    )
    .map(|_| ())
    .map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::Config(format!(
            "the key does not belong to {me}'s certificate in the network config"
        )),
        e => TlsError::Config(format!("the key file does not hold a usable key: {e}")),
    })
}
