//! Anonymous credentials for masque: "I am a unique, enrolled human", with exactly one
//! stable pseudonym per service.
//!
//! # Scheme
//!
//! BBS signatures with blind issuance and per-verifier pseudonyms, ciphersuite
//! BLS12-381-SHA-256, from three IRTF CFRG drafts. What fixes the algorithms is the
//! published BLS12-381-SHA-256 test vectors of the pseudonym draft, which both backends
//! reproduce byte for byte (`src/backend/kat_nym.rs`):
//!
//! * `draft-irtf-cfrg-bbs-per-verifier-linkability-02` (nym secret vectors,
//!   `BlindSignWithNym`, `ProofGenWithNym`): its test vectors, unchanged in the draft's
//!   repository since (which lists a -03 with editorial changes only; not found
//!   published);
//! * `draft-irtf-cfrg-bbs-blind-signatures-02`, computed as those vectors require where its
//!   text differs (the signing domain also covers `Q_2`; the signature's `e` hashes `SK`
//!   and `B` only);
//! * `draft-irtf-cfrg-bbs-signatures`: the operations those vectors exercise, with the
//!   identifiers used from revision -04 on (ciphersuite id, `H2G_HM2S_` interface); no test
//!   pins a revision of this draft by itself. The latest revision found published is -11;
//!   the "-13" that zkryptium 0.8.0's README names was not found.
//!
//! Where each of these was checked is in `docs/cred.md` ("Scheme and revisions").
//!
//! Two backends implement them behind [`backend::BbsBackend`]: the default
//! [`backend::fast::Fast`] (blst through `blstrs`: cached generators, windowed MSMs,
//! one multi-pairing; it also reproduces the fixtures' generated proofs byte for byte)
//! and [`backend::zkryptium::Zkryptium`] (crate `zkryptium` 0.8.0), kept as the
//! reference. They agree byte for byte on keys, signatures and pseudonyms.
//!
//! # Flow
//!
//! 1. For the person's enrolment record, the [`BbsIssuer`] gives an [`IssuanceOffer`]
//!    ([`Issuer::offer`]): its key id and the record's binding salt.
//! 2. The [`BbsHolder`] derives its prover nym from the wallet seed (HKDF-SHA-256, domain
//!    separated), commits to it and binds the commitment to its nym anchor for the record
//!    ([`binding`]), giving the [`CredentialRequest`] ([`Holder::request`]); it keeps the
//!    [`PendingIssuance`].
//! 3. The issuer verifies the commitment proof and the binding, refuses replays and any
//!    other nym than the one bound to the record at its first issuance, and blind-signs
//!    the commitment together with the [`CredentialAttributes`] (epoch, modalities,
//!    enrolment quarter), adding signer nym entropy derived from its secret and the
//!    enrolment record, so re-issuance for the same record keeps the pseudonyms.
//! 4. The holder verifies and finalises ([`Holder::finalise`]) into a [`Credential`].
//! 5. A service's [`BbsVerifier`] issues a [`Challenge`] (its normalised [`ContextId`], a
//!    single-use nonce with expiry, the attributes it requires); the holder answers with a
//!    [`Presentation`]; the verifier checks it and returns the [`Pseudonym`].
//!
//! # Guarantees and limits
//!
//! * Same wallet seed + same record + same service → same pseudonym, across presentations,
//!   epochs, re-issuance and wallet restoration; different services → unlinkable
//!   pseudonyms (under the draft's assumptions). The issuer never sees the nym secret.
//! * One prover nym per record: the issuer keeps the nym anchor of a record's first
//!   issuance and refuses a request that does not prove the same nym
//!   ([`CredError::NymMismatch`], [`CredError::InvalidNymBinding`]), so another wallet
//!   seed cannot get a second set of pseudonyms for the record; a wallet restored from its
//!   mnemonic always passes. Deletion and re-enrolment give a new record and new
//!   pseudonyms by design; a service that must count a person once over a period sets
//!   [`VerifierPolicy::enrolled_before`].
//! * Secrets (seeds, nym secret, prover blind, issuer key) are zeroized on drop and never
//!   appear in `Debug` output or errors. The fast backend keeps its working copies in
//!   zeroizing containers; the zkryptium backend's internal copies are not zeroized.
//! * Replay state (issuer requests and nym anchors, verifier nonces) is in memory by
//!   default; with the [`store`] module's redb stores it survives restarts, so a replay or
//!   a second nym is refused after a restart too.
//! * Not provided: threshold issuance, revocation lists (revocation is by epoch only),
//!   holder binding to a device key.

#![deny(missing_docs)]

pub mod attributes;
pub mod backend;
pub mod bench;
pub mod binding;
pub mod context;
pub mod error;
pub mod holder;
pub mod issuer;
pub mod objects;
pub mod roles;
pub mod secrets;
pub mod store;
pub mod verifier;
pub mod wire;

pub use attributes::{
    AttributeKind, CredentialAttributes, EnrolmentQuarter, Epoch, EpochSchedule, Modalities,
    Modality, Timestamp,
};
pub use context::ContextId;
pub use error::{CredError, DecodeError};
pub use holder::BbsHolder;
pub use issuer::BbsIssuer;
pub use objects::{
    BindingSalt, Challenge, Credential, CredentialRequest, IssuanceOffer, IssuanceResponse,
    IssuerPublicKey, KeyId, NymAnchor, NymBinding, PendingIssuance, Presentation, Pseudonym,
    VerifiedPresentation,
};
pub use roles::{Holder, Issuer, Verifier};
pub use secrets::{IssuerSeed, RecordHandle, WalletSeed};
pub use verifier::{BbsVerifier, VerifierPolicy};
pub use wire::WireObject;
