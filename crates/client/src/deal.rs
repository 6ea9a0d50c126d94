//! Dealing and sealing a template.

use masque_mpc::{PartyId, dealer};
use masque_protocol::{
    ProtocolError, RequestId,
    network::NetworkDescription,
    payload::SharePayload,
    seal::{SealedBlob, seal},
};
use masque_template::EyePair;

fn eyes(pair: &EyePair) -> [&masque_template::IrisCode; 2] {
    [&pair.left, &pair.right]
}

/// Each custodian's sealed enrolment: enrolment and query shares of both eyes and the
/// record's audit key, sealed to that custodian inside request `request_id`.
pub fn seal_enrolment(
    network: &NetworkDescription,
    request_id: &RequestId,
    pair: &EyePair,
    audit_key: &[u8; 32],
) -> Result<[SealedBlob; 3], ProtocolError> {
    let mut payloads: [SharePayload; 3] = Default::default();
    for eye in eyes(pair) {
        let enrolment = dealer::enrolment_shares(eye);
        let query = dealer::query_shares(eye);
        for p in PartyId::ALL {
            payloads[p.index()]
                .enrolment
                .push(enrolment[p.index()].to_bytes());
            payloads[p.index()].query.push(query[p.index()].to_bytes());
        }
    }
    for payload in &mut payloads {
        payload.audit_key = Some(*audit_key);
    }
    seal_all(network, request_id, &payloads)
}

/// Each custodian's sealed query shares of both eyes (a 1:1 verification).
pub fn seal_query(
    network: &NetworkDescription,
    request_id: &RequestId,
    pair: &EyePair,
) -> Result<[SealedBlob; 3], ProtocolError> {
    let mut payloads: [SharePayload; 3] = Default::default();
    for eye in eyes(pair) {
        let query = dealer::query_shares(eye);
        for p in PartyId::ALL {
            payloads[p.index()].query.push(query[p.index()].to_bytes());
        }
    }
    seal_all(network, request_id, &payloads)
}

fn seal_all(
    network: &NetworkDescription,
    request_id: &RequestId,
    payloads: &[SharePayload; 3],
) -> Result<[SealedBlob; 3], ProtocolError> {
    let sealed = PartyId::ALL.map(|p| {
        seal(
            &network.custodian(p).hpke_key,
            p,
            request_id,
            &payloads[p.index()].to_bytes(),
        )
    });
    let [a, b, c] = sealed;
    Ok([a?, b?, c?])
}
