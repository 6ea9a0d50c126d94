//! What one custodian does for one sequenced request: decide the outcome (running the
//! MPC checks where the request has shares), compute the log entry, and write the
//! prepared transaction durably. The same function runs at all three custodians on the
//! same order; since their stores agree, so do their outcomes and entries, which the
//! coordinator checks by verifying each custodian's signature over its own entry.

use crate::inbox::PendingOp;
use crate::mpc::{Verdict, decode_enrolment, decode_query};
use crate::node::Node;
use crate::store::{Action, Prepared, RecordMeta};
use masque_protocol::{
    api::RunOrder,
    audit::audit_tag,
    entry::{EntryBody, Operation, Outcome, Refusal},
    request::unix_now,
};
use std::sync::Arc;

/// Why a request could not be prepared (it is then aborted everywhere).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The MPC failed (a peer down or too slow, a gallery mismatch).
    #[error(transparent)]
    Mpc(#[from] crate::mpc::MpcError),
    /// This custodian's state is not the coordinator's (a bug or a missed commit).
    #[error("out of step with the coordinator: {0}")]
    OutOfStep(String),
    /// The worker thread failed.
    #[error("worker: {0}")]
    Worker(String),
    /// The issuer refused the credential request.
    #[error("{0}")]
    Issue(String),
}

/// Runs `op` as ordered and prepares its transaction.
pub async fn prepare(
    node: Arc<Node>,
    order: RunOrder,
    op: PendingOp,
) -> Result<Prepared, FlowError> {
    tokio::task::spawn_blocking(move || prepare_blocking(&node, &order, op))
        .await
        .map_err(|e| FlowError::Worker(e.to_string()))?
}

fn tag(meta: &RecordMeta) -> Option<String> {
    Some(hex::encode(audit_tag(&meta.audit_key, meta.operations)))
}

/// Runs enrolments ordered as one batch (`BatchOrder`; a lone enrolment is a batch of
/// one) and prepares each: the checks without shares first (the record key is new, also
/// within the batch; the gallery id is in step), then one MPC for the members that got
/// that far (`Mpc::enrolments`, in the first member's sessions), then each member's
/// entry and prepared record.
pub async fn prepare_enrolments(
    node: Arc<Node>,
    members: Vec<(RunOrder, PendingOp)>,
) -> Result<Vec<Prepared>, FlowError> {
    tokio::task::spawn_blocking(move || prepare_enrolments_blocking(&node, members))
        .await
        .map_err(|e| FlowError::Worker(e.to_string()))?
}

/// A batch member that reached the MPC: its index among the requests sent to it.
struct Candidate {
    record_key: [u8; 32],
    audit_key: [u8; 32],
    shares: Vec<Vec<u8>>,
    request: usize,
}

fn prepare_enrolments_blocking(
    node: &Node,
    members: Vec<(RunOrder, PendingOp)>,
) -> Result<Vec<Prepared>, FlowError> {
    let store = node.store.as_ref();
    let party = node.party;
    let Some(first) = members.first().map(|(order, _)| order.sequence) else {
        return Ok(Vec::new());
    };
    let next = store.next_record_id()?;
    let mut keys = std::collections::HashSet::new();
    let mut requests = Vec::new();
    let mut entries = Vec::with_capacity(members.len());
    for (k, (order, op)) in members.into_iter().enumerate() {
        let PendingOp::Enrol {
            record_key,
            station,
            payload,
        } = op
        else {
            return Err(FlowError::OutOfStep(format!(
                "request {} of a batch of enrolments is not an enrolment",
                order.request_id
            )));
        };
        let mut body = EntryBody::new(
            Operation::Enrol,
            order.hour,
            order.request_id,
            Outcome::Refused,
        );
        body.station = Some(station);
        let expected = next + k as u64;
        if order.gallery_id != expected {
            return Err(FlowError::OutOfStep(format!(
                "member {k} of the batch would get gallery id {expected} here, the coordinator says {}",
                order.gallery_id
            )));
        }
        // A key stored already, or taken by an earlier member of this batch.
        let candidate = if store.record(&record_key)?.is_some() || !keys.insert(record_key) {
            body.reason = Some(Refusal::RecordExists);
            None
        } else {
            let query = decode_query(party, &payload.query)?;
            let enrolment = decode_enrolment(party, &payload.enrolment)?;
            let audit_key = payload
                .audit_key
                .ok_or_else(|| FlowError::OutOfStep("an enrolment without audit key".into()))?;
            requests.push((query, enrolment));
            Some(Candidate {
                record_key,
                audit_key,
                shares: payload.enrolment.clone(),
                request: requests.len() - 1,
            })
        };
        entries.push((order, body, candidate));
    }
    let verdicts = if requests.is_empty() {
        Vec::new()
    } else {
        node.metrics
            .mpc
            .time(|| node.mpc.enrolments(first, &requests))?
    };
    drop(requests);
    let mut prepared = Vec::with_capacity(entries.len());
    for (order, mut body, candidate) in entries {
        let action = match candidate {
            None => Action::Nothing,
            Some(c) => match verdicts[c.request] {
                Verdict::Pass => {
                    body.outcome = Outcome::Enrolled;
                    let mut meta = RecordMeta {
                        gallery_id: order.gallery_id,
                        audit_key: c.audit_key,
                        operations: 0,
                        enrolled_hour: order.hour,
                        issued: false,
                        self_match_hour: None,
                    };
                    body.audit_tag = tag(&meta);
                    meta.operations = 1;
                    Action::Enrol {
                        record_key: c.record_key,
                        meta,
                        shares: c.shares,
                    }
                }
                Verdict::Fail => {
                    body.outcome = Outcome::Duplicate;
                    Action::Nothing
                }
                Verdict::Invalid => {
                    body.reason = Some(Refusal::InvalidTemplate);
                    Action::Nothing
                }
                Verdict::LowCoverage => {
                    body.reason = Some(Refusal::LowCoverage);
                    Action::Nothing
                }
            },
        };
        let member = Prepared {
            request_id: order.request_id,
            sequence: order.sequence,
            prepared_at: unix_now(),
            action,
            entry: body,
            issued: None,
        };
        store.prepare(&member)?;
        prepared.push(member);
    }
    if node.party != masque_protocol::PartyId::P0 {
        crate::failpoint::hit("peer-after-prepare");
    }
    Ok(prepared)
}

fn prepare_blocking(node: &Node, order: &RunOrder, op: PendingOp) -> Result<Prepared, FlowError> {
    let store = node.store.as_ref();
    let party = node.party;
    let mut body = EntryBody::new(
        Operation::Enrol,
        order.hour,
        order.request_id,
        Outcome::Refused,
    );
    let refuse = |body: &mut EntryBody, reason| {
        body.outcome = Outcome::Refused;
        body.reason = Some(reason);
    };
    let mut issued = None;
    let action = match op {
        PendingOp::Enrol {
            record_key,
            station,
            payload,
        } => {
            let op = PendingOp::Enrol {
                record_key,
                station,
                payload,
            };
            return prepare_enrolments_blocking(node, vec![(order.clone(), op)])
                .map(|mut one| one.remove(0));
        }
        PendingOp::Verify {
            record_key,
            service,
            payload,
        } => {
            body.op = Operation::Verify;
            body.service = service.clone();
            match store.record(&record_key)? {
                None => {
                    refuse(&mut body, Refusal::UnknownRecord);
                    Action::Nothing
                }
                Some(meta) => {
                    body.audit_tag = tag(&meta);
                    let mut consented = true;
                    if let Some(service) = &service {
                        let now = unix_now();
                        let consents = store.consents(&record_key)?;
                        let for_service: Vec<_> = consents
                            .iter()
                            .filter(|c| &c.consent.consent.service == service)
                            .collect();
                        let live = for_service
                            .iter()
                            .filter(|c| !c.revoked && c.consent.is_live(now))
                            .max_by_key(|c| c.consent.consent.not_after);
                        match live {
                            Some(c) => {
                                body.consent = Some(c.consent.id());
                                body.consent_not_after = Some(c.consent.consent.not_after);
                            }
                            None => {
                                consented = false;
                                // Named after the consent that lasted longest.
                                let latest = for_service
                                    .iter()
                                    .max_by_key(|c| c.consent.consent.not_after);
                                let reason = match latest {
                                    None => Refusal::NoConsent,
                                    Some(c) if c.revoked => Refusal::ConsentRevoked,
                                    Some(_) => Refusal::ConsentExpired,
                                };
                                refuse(&mut body, reason);
                            }
                        }
                    }
                    let mut action = Action::Touch { record_key };
                    if consented {
                        let query = decode_query(party, &payload.query)?;
                        let verdict = node.metrics.mpc.time(|| {
                            node.mpc
                                .verification(order.sequence, meta.gallery_id, &query)
                        })?;
                        body.outcome = match verdict {
                            Verdict::Pass => Outcome::Match,
                            Verdict::Fail => Outcome::NoMatch,
                            Verdict::Invalid => {
                                body.reason = Some(Refusal::InvalidTemplate);
                                Outcome::Refused
                            }
                            Verdict::LowCoverage => {
                                body.reason = Some(Refusal::LowCoverage);
                                Outcome::Refused
                            }
                        };
                        // The person's own match allows one re-issuance within the hour.
                        if verdict == Verdict::Pass && service.is_none() {
                            action = Action::SelfMatch {
                                record_key,
                                hour: order.hour,
                            };
                        }
                    }
                    action
                }
            }
        }
        PendingOp::Issue {
            record_key,
            request,
        } => {
            body.op = Operation::Issue;
            match store.record(&record_key)? {
                None => {
                    refuse(&mut body, Refusal::UnknownRecord);
                    Action::Nothing
                }
                Some(meta) => {
                    body.audit_tag = tag(&meta);
                    if meta.issued {
                        body.op = Operation::Reissue;
                    }
                    // A first issuance follows the enrolment; a re-issuance needs the
                    // person's own 1:1 match within the last hour.
                    let allowed = !meta.issued
                        || meta.self_match_hour.is_some_and(|h| order.hour <= h + 3600);
                    if allowed {
                        body.outcome = Outcome::Issued;
                        if party == masque_protocol::PartyId::P0 {
                            let issuing = node.issuer.as_ref().ok_or_else(|| {
                                FlowError::Issue("this network issues no credentials".into())
                            })?;
                            issued = Some(
                                issuing
                                    .issue(&meta, &request, unix_now())
                                    .map_err(|e| FlowError::Issue(e.to_string()))?,
                            );
                        }
                        Action::Issued { record_key }
                    } else {
                        refuse(&mut body, Refusal::NotVerified);
                        Action::Touch { record_key }
                    }
                }
            }
        }
        PendingOp::Delete { record_key } => {
            body.op = Operation::Delete;
            match store.record(&record_key)? {
                None => {
                    refuse(&mut body, Refusal::UnknownRecord);
                    Action::Nothing
                }
                Some(meta) => {
                    body.outcome = Outcome::Deleted;
                    body.audit_tag = tag(&meta);
                    Action::Delete {
                        record_key,
                        gallery_id: meta.gallery_id,
                    }
                }
            }
        }
        PendingOp::GrantConsent { consent } => {
            body.op = Operation::ConsentGrant;
            body.service = Some(consent.consent.service.clone());
            body.consent = Some(consent.id());
            body.consent_not_after = Some(consent.consent.not_after);
            match store.record(&consent.consent.record_key.to_bytes())? {
                None => {
                    refuse(&mut body, Refusal::UnknownRecord);
                    Action::Nothing
                }
                Some(meta) => {
                    body.outcome = Outcome::Granted;
                    body.audit_tag = tag(&meta);
                    Action::GrantConsent { consent }
                }
            }
        }
        PendingOp::RevokeConsent {
            record_key,
            consent_id,
        } => {
            body.op = Operation::ConsentRevoke;
            body.consent = Some(masque_protocol::consent::ConsentId(consent_id.clone()));
            match store.record(&record_key)? {
                None => {
                    refuse(&mut body, Refusal::UnknownRecord);
                    Action::Nothing
                }
                Some(meta) => {
                    body.audit_tag = tag(&meta);
                    let given = store
                        .consents(&record_key)?
                        .into_iter()
                        .find(|c| c.consent.id().0 == consent_id);
                    match given {
                        Some(c) if !c.revoked => {
                            body.outcome = Outcome::Revoked;
                            body.service = Some(c.consent.consent.service.clone());
                            Action::RevokeConsent {
                                record_key,
                                consent_id,
                            }
                        }
                        _ => {
                            refuse(&mut body, Refusal::UnknownConsent);
                            Action::Touch { record_key }
                        }
                    }
                }
            }
        }
    };
    let prepared = Prepared {
        request_id: order.request_id,
        sequence: order.sequence,
        prepared_at: unix_now(),
        action,
        entry: body,
        issued,
    };
    store.prepare(&prepared)?;
    if node.party != masque_protocol::PartyId::P0 {
        crate::failpoint::hit("peer-after-prepare");
    }
    Ok(prepared)
}
