//! Requests a custodian has accepted and not yet run.
//!
//! A station or wallet sends one request to all three custodians. Each custodian checks
//! it, opens its sealed shares, and parks it here under its request id; the HTTP handler
//! then waits for the outcome. The coordinator's run order takes the parked request out
//! ([`Inbox::take`], waiting briefly if the order arrived first), and the decision
//! resolves the waiting handler ([`Inbox::finish`]).

use masque_protocol::{
    RequestId, api::OperationResult, consent::SignedConsent, payload::SharePayload,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};

/// A checked request, ready to run.
pub enum PendingOp {
    /// Enrol a new record.
    Enrol {
        /// Its public key.
        record_key: [u8; 32],
        /// The station's pseudonym.
        station: String,
        /// This custodian's shares and the audit key.
        payload: SharePayload,
    },
    /// Check a capture against a record.
    Verify {
        /// The record.
        record_key: [u8; 32],
        /// The service, if the check is for one.
        service: Option<String>,
        /// This custodian's query shares.
        payload: SharePayload,
    },
    /// Delete a record.
    Delete {
        /// The record.
        record_key: [u8; 32],
    },
    /// Record a consent.
    GrantConsent {
        /// The consent.
        consent: SignedConsent,
    },
    /// Issue (or re-issue) a credential.
    Issue {
        /// The record.
        record_key: [u8; 32],
        /// The `CredentialRequest` JSON.
        request: String,
    },
    /// Revoke a consent.
    RevokeConsent {
        /// The record.
        record_key: [u8; 32],
        /// The consent's id.
        consent_id: String,
    },
}

impl std::fmt::Debug for PendingOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PendingOp::Enrol { .. } => "Enrol",
            PendingOp::Verify { .. } => "Verify",
            PendingOp::Delete { .. } => "Delete",
            PendingOp::GrantConsent { .. } => "GrantConsent",
            PendingOp::RevokeConsent { .. } => "RevokeConsent",
            PendingOp::Issue { .. } => "Issue",
        })
    }
}

/// How a parked request ended: its result, or why it failed (nothing was stored).
pub type Finished = Result<OperationResult, String>;

struct Slot {
    op: Option<PendingOp>,
    done: Option<oneshot::Sender<Finished>>,
}

/// The parked requests.
#[derive(Default)]
pub struct Inbox {
    slots: Mutex<HashMap<RequestId, Slot>>,
    arrived: Notify,
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parks `op`; the receiver gets its end. `None` if the id is already parked.
    pub fn park(&self, id: RequestId, op: PendingOp) -> Option<oneshot::Receiver<Finished>> {
        let (tx, rx) = oneshot::channel();
        {
            let mut slots = self.lock();
            if slots.contains_key(&id) {
                return None;
            }
            slots.insert(
                id,
                Slot {
                    op: Some(op),
                    done: Some(tx),
                },
            );
        }
        self.arrived.notify_waiters();
        Some(rx)
    }

    /// Takes the parked request `id` to run it, waiting at most `wait` for it to arrive.
    pub async fn take(&self, id: &RequestId, wait: Duration) -> Option<PendingOp> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            if let Some(op) = self.lock().get_mut(id).and_then(|slot| slot.op.take()) {
                return Some(op);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Resolves the handler waiting on `id` (if any) and forgets it.
    pub fn finish(&self, id: &RequestId, result: Finished) {
        if let Some(mut slot) = self.lock().remove(id)
            && let Some(done) = slot.done.take()
        {
            let _ = done.send(result);
        }
    }

    /// Forgets `id` (its handler gave up waiting).
    pub fn forget(&self, id: &RequestId) {
        self.lock().remove(id);
    }

    /// Whether `id` is parked, not yet taken, and an enrolment (which P0 may batch).
    pub fn is_enrolment(&self, id: &RequestId) -> bool {
        matches!(
            self.lock().get(id).and_then(|slot| slot.op.as_ref()),
            Some(PendingOp::Enrol { .. })
        )
    }

    /// Requests parked and not yet taken.
    pub fn waiting(&self) -> usize {
        self.lock().values().filter(|s| s.op.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn take_waits_for_a_late_request_and_finish_reaches_the_handler() {
        let inbox = std::sync::Arc::new(Inbox::default());
        let id = RequestId([1; 16]);
        assert!(inbox.take(&id, Duration::from_millis(20)).await.is_none());
        let waiter = {
            let inbox = inbox.clone();
            tokio::spawn(async move { inbox.take(&id, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let rx = inbox
            .park(
                id,
                PendingOp::Delete {
                    record_key: [0; 32],
                },
            )
            .unwrap();
        assert!(
            inbox
                .park(
                    id,
                    PendingOp::Delete {
                        record_key: [0; 32]
                    }
                )
                .is_none(),
            "one per id"
        );
        assert!(matches!(
            waiter.await.unwrap(),
            Some(PendingOp::Delete { .. })
        ));
        inbox.finish(&id, Err("aborted".into()));
        assert_eq!(rx.await.unwrap().unwrap_err(), "aborted");
        assert_eq!(inbox.waiting(), 0);
    }
}
