//! One request to all three custodians.

use crate::deal::{seal_enrolment, seal_query};
use crate::http::{CallError, HttpClient};
use ed25519_dalek::{Signer, SigningKey};
use masque_mpc::PartyId;
use masque_protocol::{
    ProtocolError, RequestId,
    api::{
        ConsentGrantRequest, ConsentRevokeRequest, DeleteRequest, EnrolRequest, IssueRequest,
        OfferAnswer, OperationResult, Problem, VerifyRequest, enrol_statement,
    },
    consent::SignedConsent,
    custodian_name,
    entry::{LogEntry, Outcome, Refusal},
    network::NetworkDescription,
    receipt::{Receipt, VerifiedReceipt},
    request::{RequestAuth, unix_now},
};
use masque_template::EyePair;
use std::time::Duration;

/// Why an operation did not come back with one agreed outcome.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Building or checking a message failed.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A custodian could not be reached.
    #[error("custodian unreachable: {0}")]
    Unreachable(#[from] CallError),
    /// A custodian refused the request (nothing was done).
    #[error("{custodian} refused the request ({status}): {detail}")]
    Refused {
        /// Which custodian.
        custodian: String,
        /// HTTP status.
        status: u16,
        /// Its explanation.
        detail: String,
    },
    /// The custodians answered differently (report this: it should never happen).
    #[error("the custodians disagree: {0}")]
    Disagree(String),
}

/// The three custodians' answers to one request, which agree.
#[derive(Debug, Clone)]
pub struct Outcomes {
    /// P0's, P1's and P2's answers.
    pub results: [OperationResult; 3],
}

impl Outcomes {
    /// The agreed outcome.
    pub fn outcome(&self) -> Outcome {
        self.results[0].outcome
    }

    /// Why it was refused.
    pub fn reason(&self) -> Option<Refusal> {
        self.results[0].reason
    }

    /// The signed log entry.
    pub fn entry(&self) -> Result<LogEntry, ProtocolError> {
        LogEntry::parse(self.results[0].entry.as_bytes())
    }

    /// The issuer's response to a credential request (masque-cred JSON), from P0.
    pub fn credential(&self) -> Option<&str> {
        self.results[0].credential.as_deref()
    }

    /// The receipt (from the first custodian that has one).
    pub fn receipt(&self) -> Option<&Receipt> {
        self.results.iter().find_map(|r| r.receipt.as_ref())
    }

    /// Verifies the receipt against the network's custodian keys and witness policy.
    pub fn verify_receipt(
        &self,
        network: &NetworkDescription,
    ) -> Result<VerifiedReceipt, ProtocolError> {
        let receipt = self
            .receipt()
            .ok_or_else(|| ProtocolError::Receipt("no custodian returned a receipt yet".into()))?;
        receipt.verify(&network.custodian_keys(), &network.policy()?)
    }
}

/// A client of a network's custodians.
#[derive(Debug, Clone)]
pub struct Custodians {
    network: NetworkDescription,
    http: HttpClient,
}

impl Custodians {
    /// A client of `network` whose calls wait at most `timeout` for an answer (an
    /// enrolment runs the 1:N check and waits for the log's witnesses: allow minutes).
    pub fn new(network: NetworkDescription, timeout: Duration) -> Self {
        Self {
            network,
            http: HttpClient::new(timeout),
        }
    }

    /// The network.
    pub fn network(&self) -> &NetworkDescription {
        &self.network
    }

    /// Sends `bodies[i]` to custodian `Pi` at `path`, all under `request_id` and signed
    /// by `signer`, and returns the agreed answers.
    pub async fn send(
        &self,
        path: &str,
        signer: &SigningKey,
        request_id: RequestId,
        bodies: [Vec<u8>; 3],
    ) -> Result<Outcomes, ClientError> {
        let now = unix_now();
        let calls = PartyId::ALL.map(|p| {
            let body = bodies[p.index()].clone();
            let auth = RequestAuth::sign(signer, p, "POST", path, request_id, now, &body);
            let url = format!(
                "{}{path}",
                self.network.custodian(p).api.trim_end_matches('/')
            );
            async move {
                let mut headers: Vec<(&str, String)> = auth.headers().into_iter().collect();
                headers.push(("content-type", "application/json".into()));
                let (status, answer) = self.http.call("POST", &url, &headers, body).await?;
                if status != 200 {
                    let detail = serde_json::from_slice::<Problem>(&answer)
                        .map(|p| p.detail)
                        .unwrap_or_else(|_| String::from_utf8_lossy(&answer).into_owned());
                    return Err(ClientError::Refused {
                        custodian: custodian_name(p).to_owned(),
                        status,
                        detail,
                    });
                }
                serde_json::from_slice::<OperationResult>(&answer).map_err(|e| {
                    ClientError::Disagree(format!(
                        "{} answered something else than a result: {e}",
                        custodian_name(p)
                    ))
                })
            }
        });
        let [a, b, c] = calls;
        let (a, b, c) = tokio::join!(a, b, c);
        let results = [a?, b?, c?];
        for r in &results[1..] {
            if r.outcome != results[0].outcome
                || r.entry != results[0].entry
                || r.request_id != request_id
            {
                return Err(ClientError::Disagree(format!(
                    "{} says {:?}, {} says {:?}",
                    custodian_name(PartyId::P0),
                    results[0].outcome,
                    custodian_name(r.custodian),
                    r.outcome
                )));
            }
        }
        let outcomes = Outcomes { results };
        outcomes.entry()?.verify(&self.network.custodian_keys())?;
        Ok(outcomes)
    }

    /// Enrols the person of `pair` through station `station`, under the new record key
    /// `record` with audit key `audit_key`.
    pub async fn enrol(
        &self,
        station: &SigningKey,
        record: &SigningKey,
        audit_key: &[u8; 32],
        pair: &EyePair,
    ) -> Result<Outcomes, ClientError> {
        let id = RequestId::random();
        let sealed = seal_enrolment(&self.network, &id, pair, audit_key)?;
        let record_key = hex::encode(record.verifying_key().as_bytes());
        let bodies = PartyId::ALL.map(|p| {
            let sealed = sealed[p.index()].clone();
            let statement = enrol_statement(&id, p, &record_key, &sealed);
            serde_json::to_vec(&EnrolRequest {
                record_key: record_key.clone(),
                sealed,
                record_signature: hex::encode(record.sign(&statement).to_bytes()),
            })
            .expect("a request serialises")
        });
        self.send("/v1/enrol", station, id, bodies).await
    }

    /// A 1:1 check of `pair` against `record`'s record, for `service` (which needs a
    /// live consent) or for the person.
    pub async fn verify(
        &self,
        record: &SigningKey,
        pair: &EyePair,
        service: Option<&str>,
    ) -> Result<Outcomes, ClientError> {
        let id = RequestId::random();
        let sealed = seal_query(&self.network, &id, pair)?;
        let bodies = PartyId::ALL.map(|p| {
            serde_json::to_vec(&VerifyRequest {
                sealed: sealed[p.index()].clone(),
                service: service.map(str::to_owned),
            })
            .expect("a request serialises")
        });
        self.send("/v1/verify", record, id, bodies).await
    }

    /// Deletes `record`'s record.
    pub async fn delete(&self, record: &SigningKey) -> Result<Outcomes, ClientError> {
        let body = serde_json::to_vec(&DeleteRequest {}).expect("serialises");
        self.send(
            "/v1/delete",
            record,
            RequestId::random(),
            [body.clone(), body.clone(), body],
        )
        .await
    }

    /// Records a consent signed by `record`.
    pub async fn grant_consent(
        &self,
        record: &SigningKey,
        consent: SignedConsent,
    ) -> Result<Outcomes, ClientError> {
        let body = serde_json::to_vec(&ConsentGrantRequest { consent }).expect("serialises");
        self.send(
            "/v1/consents",
            record,
            RequestId::random(),
            [body.clone(), body.clone(), body],
        )
        .await
    }

    /// The credential issuer's offer (masque-cred JSON) for `record`'s record, from P0.
    pub async fn offer(&self, record: &SigningKey) -> Result<String, ClientError> {
        let body = serde_json::to_vec(&DeleteRequest {}).expect("serialises");
        let path = "/v1/credentials/offer";
        let auth = RequestAuth::sign(
            record,
            PartyId::P0,
            "POST",
            path,
            RequestId::random(),
            unix_now(),
            &body,
        );
        let mut headers: Vec<(&str, String)> = auth.headers().into_iter().collect();
        headers.push(("content-type", "application/json".into()));
        let url = format!(
            "{}{path}",
            self.network
                .custodian(PartyId::P0)
                .api
                .trim_end_matches('/')
        );
        let (status, answer) = self.http.call("POST", &url, &headers, body).await?;
        if status != 200 {
            return Err(ClientError::Refused {
                custodian: "P0".into(),
                status,
                detail: serde_json::from_slice::<Problem>(&answer)
                    .map(|p| p.detail)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&answer).into_owned()),
            });
        }
        let answer: OfferAnswer = serde_json::from_slice(&answer).map_err(|e| {
            ClientError::Disagree(format!("P0 answered something else than an offer: {e}"))
        })?;
        Ok(answer.offer)
    }

    /// Sends a credential request (masque-cred JSON) for `record`'s record; on
    /// `issued`, P0's answer carries the issuer's response ([`Outcomes::credential`]).
    pub async fn issue(&self, record: &SigningKey, request: &str) -> Result<Outcomes, ClientError> {
        let body = serde_json::to_vec(&IssueRequest {
            request: request.to_owned(),
        })
        .expect("serialises");
        self.send(
            "/v1/credentials",
            record,
            RequestId::random(),
            [body.clone(), body.clone(), body],
        )
        .await
    }

    /// Revokes consent `consent_id` of `record`.
    pub async fn revoke_consent(
        &self,
        record: &SigningKey,
        consent_id: &str,
    ) -> Result<Outcomes, ClientError> {
        let body = serde_json::to_vec(&ConsentRevokeRequest {
            consent_id: consent_id.to_owned(),
        })
        .expect("serialises");
        self.send(
            "/v1/consents/revoke",
            record,
            RequestId::random(),
            [body.clone(), body.clone(), body],
        )
        .await
    }
}
