//! Outcomes and log entries in plain words.

use masque_protocol::entry::{EntryBody, Operation, Outcome, Refusal};

use crate::wallet::utc;

/// Why a request was refused, for a person.
pub fn refusal(reason: Option<Refusal>) -> &'static str {
    match reason {
        Some(Refusal::NoConsent) => "no consent for this service",
        Some(Refusal::ConsentExpired) => "the consent for this service has expired",
        Some(Refusal::ConsentRevoked) => "the consent for this service was revoked",
        Some(Refusal::UnknownRecord) => "the record does not exist (never enrolled, or deleted)",
        Some(Refusal::InvalidTemplate) => "the capture is not a valid iris template",
        Some(Refusal::LowCoverage) => {
            "too little of the iris is visible in the capture (capture again, eyes wide open)"
        }
        Some(Refusal::NotVerified) => "a re-issuance needs a matching check first",
        Some(Refusal::RecordExists) => "this record key is already enrolled",
        Some(Refusal::UnknownConsent) => "this record has no such consent (or it was revoked)",
        None => "no reason given",
    }
}

/// The first 12 hex digits of a consent id: enough to tell consents apart on screen.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `match` / `no match`.
fn decision(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Match => "match",
        Outcome::NoMatch => "no match",
        _ => "no decision",
    }
}

/// One log entry in plain words ("enrolled at desk-north on 2026-12-02 14:00 UTC").
pub fn entry(body: &EntryBody) -> String {
    let when = utc(body.hour);
    let service = body.service.as_deref().unwrap_or("an unnamed service");
    let consent = body.consent.as_ref().map(|c| short(&c.0)).unwrap_or("-");
    let what = match (body.op, body.outcome) {
        (Operation::Enrol, Outcome::Enrolled) => format!(
            "enrolled at {}",
            body.station.as_deref().unwrap_or("an unnamed station")
        ),
        (Operation::Enrol, Outcome::Duplicate) => "enrolment refused: already enrolled".into(),
        (Operation::Verify, Outcome::Match | Outcome::NoMatch) => match &body.service {
            Some(service) => format!(
                "checked for service {service} under consent {consent}: {}",
                decision(body.outcome)
            ),
            None => format!(
                "checked by you (for no service): {}",
                decision(body.outcome)
            ),
        },
        (Operation::Verify, Outcome::Refused) => match &body.service {
            Some(service) => format!(
                "check for service {service} refused: {}",
                refusal(body.reason)
            ),
            None => format!("check refused: {}", refusal(body.reason)),
        },
        (Operation::Delete, Outcome::Deleted) => "deleted".into(),
        (Operation::ConsentGrant, Outcome::Granted) => {
            return format!(
                "consent {consent} given to service {service} on {when}{}",
                body.consent_not_after
                    .map(|t| format!(", valid until {}", utc(t)))
                    .unwrap_or_default()
            );
        }
        (Operation::ConsentRevoke, Outcome::Revoked) => {
            format!("consent {consent} for service {service} revoked")
        }
        (Operation::Issue | Operation::Reissue, Outcome::Issued) => "credential issued".into(),
        (op, Outcome::Refused) => format!("{} refused: {}", op_name(op), refusal(body.reason)),
        (op, outcome) => format!("{}: {}", op_name(op), outcome_name(outcome)),
    };
    format!("{what} on {when}")
}

/// The operation's name as the log writes it.
pub fn op_name(op: Operation) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The outcome's name as the log writes it.
pub fn outcome_name(outcome: Outcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use masque_protocol::{RequestId, consent::ConsentId};

    fn body(op: Operation, outcome: Outcome) -> EntryBody {
        EntryBody::new(op, 1_796_220_000, RequestId([1; 16]), outcome)
    }

    #[test]
    fn entries_in_plain_words() {
        let mut enrolled = body(Operation::Enrol, Outcome::Enrolled);
        enrolled.station = Some("desk-north".into());
        assert_eq!(
            entry(&enrolled),
            "enrolled at desk-north on 2026-12-02 14:00 UTC"
        );
        let mut checked = body(Operation::Verify, Outcome::Match);
        checked.service = Some("aid".into());
        checked.consent = Some(ConsentId("0123456789abcdef".into()));
        assert_eq!(
            entry(&checked),
            "checked for service aid under consent 0123456789ab: match on 2026-12-02 14:00 UTC"
        );
        let mut refused = body(Operation::Verify, Outcome::Refused);
        refused.service = Some("aid".into());
        refused.reason = Some(Refusal::NoConsent);
        assert!(entry(&refused).starts_with("check for service aid refused: no consent"));
        assert!(entry(&body(Operation::Delete, Outcome::Deleted)).starts_with("deleted on "));
    }
}
