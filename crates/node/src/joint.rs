//! The custodians' joint signature on log entries: FROST(Ed25519, SHA-512), RFC 9591,
//! three of three, with the Zcash Foundation's `frost-ed25519`.
//!
//! Every custodian holds a share of one Ed25519 key; none holds the key, and no two can
//! sign without the third. An entry is signed in two rounds that ride on the commit
//! protocol: each peer's vote carries its commitments ([`JointSigner::commit`]), then the
//! coordinator sends every peer the signing package (the entry and all commitments) and
//! each peer signs it if, and only if, it is the entry that peer prepared itself
//! ([`JointSigner::sign`]); the coordinator adds its own share and aggregates
//! ([`JointSigner::aggregate`]), which names the custodian whose share was wrong. The
//! result is an ordinary Ed25519 signature under the network's joint key, so a watcher
//! checks one signature per entry instead of three.
//!
//! Nonces live in memory only, keyed by request, and are taken out when used: a nonce
//! is never used twice, and a restart between the two rounds loses them, which aborts
//! that request (its entry is never signed) rather than risking reuse.
//!
//! [`generate`] runs the distributed key generation (FROST's three-part DKG) for the
//! three custodians in one process, for `masque devnet` and the tests. A deployment runs
//! the same three parts on three machines, exchanging the round packages; every
//! custodian ends with its own key package, and the public package is published in
//! `network.json`.

use crate::node::StartError;
use frost::keys::{KeyPackage, PublicKeyPackage};
use frost::round1::{SigningCommitments, SigningNonces};
use frost::round2::SignatureShare;
use frost::{Identifier, SigningPackage};
use frost_ed25519 as frost;
use masque_protocol::{PartyId, RequestId, custodian_name, network::JointKeyInfo};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a peer keeps the nonces of an entry it voted on, waiting for the second
/// round (the coordinator asks right after the votes).
const NONCE_TTL: Duration = Duration::from_secs(600);
/// The most entries a peer keeps nonces for (a batch is at most 256).
const MAX_PENDING: usize = 4096;

/// A problem with the joint signature.
#[derive(Debug, thiserror::Error)]
pub enum JointError {
    /// A package, commitment or share does not decode.
    #[error("{what} does not decode: {message}")]
    Malformed {
        /// What.
        what: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// No nonces for this request here (never voted, already signed, or restarted).
    #[error(
        "{party} has no commitment for request {id}: it did not vote on it, already signed it, or restarted since"
    )]
    NoCommitment {
        /// This custodian.
        party: &'static str,
        /// The request.
        id: RequestId,
    },
    /// The package is for another entry than the one this custodian prepared.
    #[error(
        "the signing package for request {id} is not the entry {party} prepared; {party} signs only its own"
    )]
    OtherEntry {
        /// This custodian.
        party: &'static str,
        /// The request.
        id: RequestId,
    },
    /// FROST refused (a wrong share names its custodian).
    #[error("{0}")]
    Frost(String),
}

fn malformed(what: &'static str, e: impl ToString) -> JointError {
    JointError::Malformed {
        what,
        message: e.to_string(),
    }
}

/// FROST's identifier of custodian `party` (P0 → 1, P1 → 2, P2 → 3).
pub fn identifier(party: PartyId) -> Identifier {
    Identifier::try_from(party.index() as u16 + 1).expect("1 to 3 are valid identifiers")
}

fn party_of(id: &Identifier) -> Option<PartyId> {
    PartyId::ALL.into_iter().find(|p| identifier(*p) == *id)
}

/// FROST's randomness: ChaCha20 seeded from the operating system. (frost-ed25519 takes a
/// `rand_core` 0.6 generator; the workspace's `rand` is 0.9, so this adapts one.)
pub struct JointRng(rand_chacha::ChaCha20Rng);

impl JointRng {
    /// A generator seeded from the operating system.
    pub fn new() -> Self {
        use rand::SeedableRng;
        JointRng(rand_chacha::ChaCha20Rng::from_os_rng())
    }
}

impl Default for JointRng {
    fn default() -> Self {
        Self::new()
    }
}

impl frost::rand_core::RngCore for JointRng {
    fn next_u32(&mut self) -> u32 {
        rand::RngCore::next_u32(&mut self.0)
    }

    fn next_u64(&mut self) -> u64 {
        rand::RngCore::next_u64(&mut self.0)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand::RngCore::fill_bytes(&mut self.0, dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), frost::rand_core::Error> {
        rand::RngCore::fill_bytes(&mut self.0, dest);
        Ok(())
    }
}

impl frost::rand_core::CryptoRng for JointRng {}

/// The three custodians' key packages (P0, P1, P2) and the public package, from FROST's
/// distributed key generation run for all three in this process.
pub fn generate() -> Result<([KeyPackage; 3], PublicKeyPackage), JointError> {
    let frost_error = |e: frost::Error| JointError::Frost(e.to_string());
    let mut rng = JointRng::new();
    let ids = PartyId::ALL.map(identifier);
    let mut round1_secrets = BTreeMap::new();
    let mut round1_packages = BTreeMap::new();
    for id in ids {
        let (secret, package) = frost::keys::dkg::part1(id, 3, 3, &mut rng).map_err(frost_error)?;
        round1_secrets.insert(id, secret);
        round1_packages.insert(id, package);
    }
    let others = |me: Identifier| {
        round1_packages
            .iter()
            .filter(|(id, _)| **id != me)
            .map(|(id, p)| (*id, p.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut round2_secrets = BTreeMap::new();
    let mut round2_sent = BTreeMap::new();
    for id in ids {
        let secret = round1_secrets.remove(&id).expect("one per custodian");
        let (secret, packages) =
            frost::keys::dkg::part2(secret, &others(id)).map_err(frost_error)?;
        round2_secrets.insert(id, secret);
        round2_sent.insert(id, packages);
    }
    let mut keys = Vec::new();
    let mut public = None;
    for id in ids {
        let received: BTreeMap<_, _> = round2_sent
            .iter()
            .filter(|(from, _)| **from != id)
            .map(|(from, packages)| (*from, packages[&id].clone()))
            .collect();
        let (key, public_package) =
            frost::keys::dkg::part3(&round2_secrets[&id], &others(id), &received)
                .map_err(frost_error)?;
        if public.as_ref().is_some_and(|p| p != &public_package) {
            return Err(JointError::Frost(
                "the custodians ended the key generation with different public keys".into(),
            ));
        }
        public = Some(public_package);
        keys.push(key);
    }
    let keys: [KeyPackage; 3] = keys.try_into().expect("three key packages");
    Ok((keys, public.expect("three custodians")))
}

/// The public description of `public`: the joint key and the package, for
/// `network.json`.
pub fn key_info(public: &PublicKeyPackage) -> Result<JointKeyInfo, JointError> {
    let key = verifying_key(public)?;
    let package = public
        .serialize()
        .map_err(|e| malformed("the public key package", e))?;
    Ok(JointKeyInfo {
        key,
        package: Some(hex::encode(package)),
    })
}

/// The joint key of `public` as an Ed25519 verifying key.
fn verifying_key(public: &PublicKeyPackage) -> Result<ed25519_dalek::VerifyingKey, JointError> {
    let bytes = public
        .verifying_key()
        .serialize()
        .map_err(|e| malformed("the joint key", e))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| malformed("the joint key", "not 32 bytes"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|e| malformed("the joint key", e))
}

/// The hex text of a key package (what a custodian's `joint.key` file holds).
pub fn key_package_hex(key: &KeyPackage) -> Result<zeroize::Zeroizing<String>, JointError> {
    let bytes =
        zeroize::Zeroizing::new(key.serialize().map_err(|e| malformed("a key package", e))?);
    Ok(zeroize::Zeroizing::new(hex::encode(bytes.as_slice())))
}

/// The entry a peer voted on, waiting for the second round.
struct Pending {
    nonces: SigningNonces,
    message: Vec<u8>,
    since: Instant,
}

/// One custodian's share of the joint key, and the nonces of entries it voted on.
pub struct JointSigner {
    party: PartyId,
    key: KeyPackage,
    public: PublicKeyPackage,
    pending: Mutex<HashMap<RequestId, Pending>>,
}

impl std::fmt::Debug for JointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JointSigner({})", self.party)
    }
}

impl JointSigner {
    /// `party`'s signer from the hex text of its key package, checked against the
    /// network's joint key; `path` names the file in errors.
    pub fn open(
        party: PartyId,
        key_hex: &str,
        info: &JointKeyInfo,
        path: &std::path::Path,
    ) -> Result<Self, StartError> {
        let fail = |message: String| StartError::File {
            path: path.display().to_string(),
            message,
        };
        let bytes = zeroize::Zeroizing::new(
            hex::decode(key_hex.trim())
                .map_err(|_| fail("expected a FROST key package as hex digits".into()))?,
        );
        let key = KeyPackage::deserialize(&bytes)
            .map_err(|e| fail(format!("not a FROST key package: {e}")))?;
        if *key.identifier() != identifier(party) {
            return Err(fail(format!("this key package is not {party}'s")));
        }
        let package_hex = info.package.as_deref().ok_or_else(|| {
            fail("the network description's joint_key has no package; custodians need it (regenerate the network)".into())
        })?;
        let public = from_hex(package_hex, PublicKeyPackage::deserialize).ok_or_else(|| {
            fail("the network description's joint_key.package does not decode".into())
        })?;
        let joint = verifying_key(&public).map_err(|e| fail(e.to_string()))?;
        if joint != info.key
            || key.verifying_key() != public.verifying_key()
            || public.verifying_shares().get(key.identifier()) != Some(key.verifying_share())
        {
            return Err(fail(format!(
                "this key package is not {party}'s share of the joint key in the network description"
            )));
        }
        Ok(Self {
            party,
            key,
            public,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Round one at a peer, for the entry it prepared for request `id` (`message` is the
    /// entry's signed bytes): fresh nonces kept for the second round, and the
    /// commitments to send with the vote (hex).
    pub fn commit(&self, id: RequestId, message: Vec<u8>) -> String {
        let (nonces, commitments) =
            frost::round1::commit(self.key.signing_share(), &mut JointRng::new());
        let now = Instant::now();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, p| now.duration_since(p.since) < NONCE_TTL);
        if pending.len() >= MAX_PENDING {
            // The oldest are the least likely to be asked for; dropping nonces only
            // makes their second round fail.
            if let Some(oldest) = pending.iter().min_by_key(|(_, p)| p.since).map(|(k, _)| *k) {
                pending.remove(&oldest);
            }
        }
        pending.insert(
            id,
            Pending {
                nonces,
                message,
                since: now,
            },
        );
        hex::encode(
            commitments
                .serialize()
                .expect("commitments of a valid share serialise"),
        )
    }

    /// Round two at a peer: this custodian's share for `package_hex`, if the package is
    /// for the entry it committed to for request `id`. The nonces are used up either way.
    pub fn sign(&self, id: RequestId, package_hex: &str) -> Result<String, JointError> {
        let party = custodian_name(self.party);
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .ok_or(JointError::NoCommitment { party, id })?;
        let package = decode_package(package_hex)?;
        if package.message() != &pending.message {
            return Err(JointError::OtherEntry { party, id });
        }
        let share = frost::round2::sign(&package, &pending.nonces, &self.key)
            .map_err(|e| JointError::Frost(format!("{party} could not sign: {e}")))?;
        Ok(hex::encode(share.serialize()))
    }

    /// The coordinator's round: its own commitments and the peers' (`peer_commitments`,
    /// P1's and P2's, hex) over `message` make the signing package; with its own share
    /// and the peers' (from [`JointSigner::sign`]), [`JointSigner::aggregate`] makes the
    /// joint signature.
    pub fn coordinate(
        &self,
        message: &[u8],
        peer_commitments: [&str; 2],
    ) -> Result<Coordinated, JointError> {
        let (nonces, own) = frost::round1::commit(self.key.signing_share(), &mut JointRng::new());
        let mut commitments = BTreeMap::new();
        commitments.insert(*self.key.identifier(), own);
        for (peer, text) in [PartyId::P1, PartyId::P2].into_iter().zip(peer_commitments) {
            let commitment = from_hex(text, SigningCommitments::deserialize).ok_or_else(|| {
                malformed(
                    "a peer's commitments",
                    format!("{peer}'s are not FROST commitments"),
                )
            })?;
            commitments.insert(identifier(peer), commitment);
        }
        let package = SigningPackage::new(commitments, message);
        let own_share = frost::round2::sign(&package, &nonces, &self.key)
            .map_err(|e| JointError::Frost(format!("P0 could not sign: {e}")))?;
        let package_hex = hex::encode(
            package
                .serialize()
                .map_err(|e| malformed("the signing package", e))?,
        );
        Ok(Coordinated {
            package,
            package_hex,
            own_share,
        })
    }

    /// Aggregates the joint signature of `round` from the peers' shares (P1's, P2's,
    /// hex). A wrong share is named.
    pub fn aggregate(
        &self,
        round: &Coordinated,
        peer_shares: [&str; 2],
    ) -> Result<ed25519_dalek::Signature, JointError> {
        let mut shares = BTreeMap::new();
        shares.insert(*self.key.identifier(), round.own_share);
        for (peer, text) in [PartyId::P1, PartyId::P2].into_iter().zip(peer_shares) {
            let share = from_hex(text, SignatureShare::deserialize).ok_or_else(|| {
                malformed(
                    "a signature share",
                    format!("{peer}'s is not a FROST share"),
                )
            })?;
            shares.insert(identifier(peer), share);
        }
        let signature =
            frost::aggregate(&round.package, &shares, &self.public).map_err(|e| {
                match e.culprits().first().and_then(party_of) {
                    Some(culprit) => {
                        JointError::Frost(format!("{culprit}'s signature share does not verify"))
                    }
                    None => {
                        JointError::Frost(format!("the joint signature does not aggregate: {e}"))
                    }
                }
            })?;
        let bytes: [u8; 64] = signature
            .serialize()
            .map_err(|e| malformed("the joint signature", e))?
            .try_into()
            .map_err(|_| malformed("the joint signature", "not 64 bytes"))?;
        Ok(ed25519_dalek::Signature::from_bytes(&bytes))
    }
}

/// The coordinator's half of one entry's second round: the package to send to the
/// peers and its own share.
pub struct Coordinated {
    package: SigningPackage,
    /// The package as hex, for [`masque_protocol::api::CosignMember`].
    pub package_hex: String,
    own_share: SignatureShare,
}

/// A FROST object from its hex text, if both decode.
fn from_hex<T>(text: &str, parse: impl Fn(&[u8]) -> Result<T, frost::Error>) -> Option<T> {
    parse(&hex::decode(text).ok()?).ok()
}

fn decode_package(text: &str) -> Result<SigningPackage, JointError> {
    let bytes = hex::decode(text).map_err(|e| malformed("the signing package", e))?;
    SigningPackage::deserialize(&bytes).map_err(|e| malformed("the signing package", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    fn signers() -> ([JointSigner; 3], JointKeyInfo) {
        let (keys, public) = generate().unwrap();
        let info = key_info(&public).unwrap();
        let path = std::path::Path::new("joint.key");
        let signers = PartyId::ALL.map(|p| {
            JointSigner::open(p, &key_package_hex(&keys[p.index()]).unwrap(), &info, path).unwrap()
        });
        (signers, info)
    }

    /// Both rounds for `message`, as the coordinator and the peers run them.
    fn sign(
        signers: &[JointSigner; 3],
        id: RequestId,
        message: &[u8],
    ) -> Result<ed25519_dalek::Signature, JointError> {
        let c1 = signers[1].commit(id, message.to_vec());
        let c2 = signers[2].commit(id, message.to_vec());
        let round = signers[0].coordinate(message, [&c1, &c2])?;
        let s1 = signers[1].sign(id, &round.package_hex)?;
        let s2 = signers[2].sign(id, &round.package_hex)?;
        signers[0].aggregate(&round, [&s1, &s2])
    }

    #[test]
    fn three_custodians_make_an_ordinary_ed25519_signature_under_the_joint_key() {
        let (signers, info) = signers();
        for n in 0..4u8 {
            let message = vec![n; 100 * n as usize];
            let signature = sign(&signers, RequestId([n; 16]), &message).unwrap();
            info.key.verify_strict(&message, &signature).unwrap();
            info.key.verify(&message, &signature).unwrap();
            assert!(
                info.key
                    .verify_strict(b"another message", &signature)
                    .is_err()
            );
        }
    }

    #[test]
    fn a_peer_signs_only_the_entry_it_prepared_and_each_nonce_once() {
        let (signers, _) = signers();
        let id = RequestId([7; 16]);
        let c1 = signers[1].commit(id, b"entry P1 computed".to_vec());
        let c2 = signers[2].commit(id, b"the entry".to_vec());
        let round = signers[0].coordinate(b"the entry", [&c1, &c2]).unwrap();
        assert!(matches!(
            signers[1].sign(id, &round.package_hex),
            Err(JointError::OtherEntry { .. })
        ));
        // Its nonces are gone: asking again does not give a second chance.
        assert!(matches!(
            signers[1].sign(id, &round.package_hex),
            Err(JointError::NoCommitment { .. })
        ));
        let s2 = signers[2].sign(id, &round.package_hex).unwrap();
        assert!(matches!(
            signers[2].sign(id, &round.package_hex),
            Err(JointError::NoCommitment { .. })
        ));
        // Without P1's share there is no signature; a made-up share is named.
        let error = signers[0]
            .aggregate(&round, [&s2, &s2])
            .unwrap_err()
            .to_string();
        assert!(error.contains("P1"), "{error}");
        assert!(signers[0].aggregate(&round, ["zz", &s2]).is_err());
    }

    #[test]
    fn a_key_package_is_checked_against_the_network() {
        let (keys, public) = generate().unwrap();
        let info = key_info(&public).unwrap();
        let path = std::path::Path::new("joint.key");
        let p1 = key_package_hex(&keys[1]).unwrap();
        let error = JointSigner::open(PartyId::P0, &p1, &info, path)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not P0's"), "{error}");
        let (_, other_public) = generate().unwrap();
        let other = key_info(&other_public).unwrap();
        let error = JointSigner::open(PartyId::P1, &p1, &other, path)
            .unwrap_err()
            .to_string();
        assert!(error.contains("share of the joint key"), "{error}");
        let error = JointSigner::open(PartyId::P1, "00ff", &info, path)
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a FROST key package"), "{error}");
        let no_package = JointKeyInfo {
            package: None,
            ..info
        };
        assert!(JointSigner::open(PartyId::P1, &p1, &no_package, path).is_err());
    }
}
