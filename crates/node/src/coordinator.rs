//! The all-or-nothing protocol. P0 coordinates; P1 and P2 follow.
//!
//! One request (or batch of enrolments) at a time, in the order P0 received them:
//!
//! 1. P0 takes a sequence number (durably) and sends the run order to P1 and P2; all
//!    three take the request out of their inbox, run it (the MPC checks for requests
//!    with shares) and write a **prepared** record durably, and P1 and P2 answer with
//!    their signature over the log entry they computed.
//! 2. If any custodian failed, or a signature does not verify over P0's own entry (the
//!    custodians disagree), P0 records **abort** and tells the others; everyone drops
//!    the prepared record. Nothing is stored anywhere.
//! 3. Otherwise P0 records **commit** together with the signed entry in one transaction:
//!    this is the commit point. It applies its own commit, appends the entry to the log,
//!    and sends the decision (with the entry and its receipt) to P1 and P2, which apply
//!    theirs.
//!
//! Enrolments queued together run as one **batch** (up to `limits.max_batch`, waiting
//! `limits.batch_window_ms` for more): each member gets its own sequence number and
//! gallery id, P1 and P2 get one batch order, the three custodians run one MPC in which
//! each member is compared with the stored records and with the members before it (so
//! two enrolments of one person in a batch end as one `enrolled` and one `duplicate`),
//! and write a prepared record per member. P0 then decides each member on its own, in
//! batch order, exactly as steps 2 and 3; if a custodian could not prepare the batch,
//! every member is aborted. A member that is aborted after the MPC (its peers' entries
//! disagree) may have made a later member of the same person a `duplicate`: the
//! conservative answer, and the person enrols again.
//!
//! After a crash: P0 commits its prepared records that have a commit decision and
//! aborts (and records abort for) the others; P1 and P2 ask P0 about prepared records
//! older than a few seconds and do what it says, P0 answering abort for anything it
//! never decided (it can no longer commit it). While P0 is down, P1 and P2 keep their
//! prepared records and wait: the protocol blocks rather than diverges. The full
//! failure analysis is in `docs/protocol.md`.

use crate::flow;
use crate::node::Node;
use crate::store::{Decision, Prepared};
use masque_protocol::{
    PartyId, RequestId,
    api::{
        BatchOrder, BatchVotes, CosignMember, CosignOrder, CosignShares, DecideOrder,
        DecisionAnswer, OperationResult, RunOrder, Vote,
    },
    entry::{LogEntry, hour_of},
    request::{RequestAuth, unix_now},
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a receipt may take (waiting for the witnesses' cosignatures).
pub const RECEIPT_WAIT: Duration = Duration::from_secs(10);

/// Signs and sends a call to peer `to`; returns the status and body.
pub async fn call_peer(
    node: &Node,
    to: PartyId,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let auth = RequestAuth::sign(
        &node.signing,
        to,
        method,
        path,
        RequestId::random(),
        unix_now(),
        &body,
    );
    let mut headers: Vec<(&str, String)> = auth.headers().into_iter().collect();
    headers.push(("content-type", "application/json".into()));
    let url = format!(
        "{}{path}",
        node.network.custodian(to).api.trim_end_matches('/')
    );
    node.http
        .call(method, &url, &headers, body)
        .await
        .map_err(|e| e.to_string())
}

/// P0's loop: runs queued requests one at a time (enrolments queued together as one
/// batch), forever. A committed request's answer waits for its receipt (the witnesses'
/// cosignature) on a task of its own, so the next request runs meanwhile.
pub async fn run(node: Arc<Node>, mut queue: mpsc::UnboundedReceiver<RequestId>) {
    let mut held = None;
    loop {
        let id = match held.take() {
            Some(id) => id,
            None => match queue.recv().await {
                Some(id) => id,
                None => return,
            },
        };
        let (batch, next) = gather(&node, id, &mut queue).await;
        held = next;
        *node.active.lock().unwrap_or_else(|p| p.into_inner()) = batch.clone();
        let started = std::time::Instant::now();
        let results = if batch.len() == 1 {
            vec![round(&node, id).await]
        } else {
            node.metrics.batches.inc();
            node.metrics.batched.add(batch.len() as u64);
            round_batch(&node, &batch).await
        };
        node.metrics.round.record(started.elapsed());
        node.active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for (id, result) in batch.into_iter().zip(results) {
            finish(&node, id, result);
        }
    }
}

/// The batch that starts with `first`: if it is an enrolment, the enrolments queued
/// right behind it (waiting up to the configured window for more), up to the
/// configured size. A request that is not an enrolment ends the batch and is handed
/// back to run next.
async fn gather(
    node: &Node,
    first: RequestId,
    queue: &mut mpsc::UnboundedReceiver<RequestId>,
) -> (Vec<RequestId>, Option<RequestId>) {
    let limits = &node.config.limits;
    let mut batch = vec![first];
    if limits.max_batch < 2 || !node.inbox.is_enrolment(&first) {
        return (batch, None);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(limits.batch_window_ms);
    while batch.len() < limits.max_batch {
        let next = match queue.try_recv() {
            Ok(id) => Some(id),
            Err(_) if limits.batch_window_ms > 0 => tokio::time::timeout_at(deadline, queue.recv())
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        match next {
            Some(id) if node.inbox.is_enrolment(&id) => batch.push(id),
            Some(id) => return (batch, Some(id)),
            None => break,
        }
    }
    (batch, None)
}

/// Hands a request's end to its waiting handler: a commit after its receipt.
fn finish(node: &Arc<Node>, id: RequestId, result: Result<(OperationResult, Option<u64>), String>) {
    match result {
        Ok((mut answer, index)) => {
            node.metrics.commits.inc();
            let node = node.clone();
            tokio::spawn(async move {
                answer.receipt = node
                    .receipt(&id, answer.entry.as_bytes(), index, RECEIPT_WAIT)
                    .await;
                node.inbox.finish(&id, Ok(answer));
            });
        }
        Err(reason) => {
            node.metrics.aborts.inc();
            tracing::warn!("request {id} aborted: {reason}");
            node.inbox.finish(&id, Err(reason));
        }
    }
}

/// Sends `order` to `peer` at `path` and reads its answer (`what` names it in errors).
async fn order_peer<A: serde::de::DeserializeOwned>(
    node: &Node,
    peer: PartyId,
    path: &str,
    order: &impl serde::Serialize,
    what: &str,
) -> Result<A, String> {
    let body = serde_json::to_vec(order).expect("an order serialises");
    let (status, answer) = call_peer(node, peer, "POST", path, body).await?;
    if status != 200 {
        return Err(format!(
            "{peer} refused ({status}): {}",
            problem_detail(&answer)
        ));
    }
    serde_json::from_slice(&answer)
        .map_err(|e| format!("{peer} answered something else than {what}: {e}"))
}

async fn peer_vote(node: &Node, peer: PartyId, order: &RunOrder) -> Result<Vote, String> {
    order_peer(node, peer, "/v1/peer/run", order, "a vote").await
}

/// The `detail` of a problem answer, or the body as text.
pub fn problem_detail(body: &[u8]) -> String {
    serde_json::from_slice::<masque_protocol::api::Problem>(body)
        .map(|p| p.detail)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned())
}

/// Runs one request up to its decision; a commit comes back with the entry's log index
/// (when the log took it) and no receipt yet.
async fn round(node: &Arc<Node>, id: RequestId) -> Result<(OperationResult, Option<u64>), String> {
    let op = node
        .inbox
        .take(&id, Duration::ZERO)
        .await
        .ok_or_else(|| "the request left the inbox before it ran".to_string())?;
    let store = node.store.clone();
    let (sequence, gallery_id) = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::store::StoreError>((store.take_sequence()?, store.next_record_id()?))
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let order = RunOrder {
        request_id: id,
        sequence,
        hour: hour_of(unix_now()),
        gallery_id,
    };
    let own = flow::prepare(node.clone(), order.clone(), op);
    let (own, v1, v2) = tokio::join!(
        own,
        peer_vote(node, PartyId::P1, &order),
        peer_vote(node, PartyId::P2, &order)
    );
    let signed = match (own.map_err(|e| format!("P0: {e}")), v1, v2) {
        (Ok(prepared), Ok(a), Ok(b)) => sign_jointly(node, &[(&prepared, a, b)])
            .await
            .map(|mut signed| signed.remove(0)),
        (own, v1, v2) => Err(own.err().or(v1.err()).or(v2.err()).unwrap_or_default()),
    };
    decide(node, id, signed).await
}

/// The log entries of `members` (P0's prepared transaction and both peers' votes on
/// it), signed jointly by the three custodians. Each vote's own signature is checked
/// first (a peer that computed another entry is named), then the joint signature's
/// second round runs with both peers at once (`/v1/peer/cosign`), and P0 aggregates.
/// All or nothing: a failure is the reason for every member.
async fn sign_jointly(
    node: &Node,
    members: &[(&Prepared, Vote, Vote)],
) -> Result<Vec<(LogEntry, Option<String>)>, String> {
    let mut rounds = Vec::with_capacity(members.len());
    for (prepared, v1, v2) in members {
        for (peer, vote) in [(PartyId::P1, v1), (PartyId::P2, v2)] {
            if vote.signature.custodian != peer {
                return Err(format!("{peer} signed as {}", vote.signature.custodian));
            }
            prepared
                .entry
                .verify_signature(&vote.signature, &node.network.custodian(peer).signing_key)
                .map_err(|_| format!("{peer} computed another outcome or entry than P0"))?;
        }
        let message = prepared.entry.signed_bytes();
        let round = node
            .joint
            .coordinate(&message, [&v1.commitments, &v2.commitments])
            .map_err(|e| format!("the joint signature: {e}"))?;
        rounds.push(round);
    }
    let order = CosignOrder {
        members: members
            .iter()
            .zip(&rounds)
            .map(|((prepared, _, _), round)| CosignMember {
                request_id: prepared.request_id,
                package: round.package_hex.clone(),
            })
            .collect(),
    };
    let (s1, s2) = tokio::join!(
        peer_shares(node, PartyId::P1, &order),
        peer_shares(node, PartyId::P2, &order)
    );
    let (s1, s2) = (s1?, s2?);
    members
        .iter()
        .zip(rounds)
        .zip(s1.iter().zip(&s2))
        .map(|(((prepared, _, _), round), (a, b))| {
            let signature = node
                .joint
                .aggregate(&round, [a, b])
                .map_err(|e| format!("the joint signature: {e}"))?;
            Ok((
                LogEntry::jointly_signed(prepared.entry.clone(), &signature),
                prepared.issued.clone(),
            ))
        })
        .collect()
}

/// A peer's signature shares for `order`, one per member.
async fn peer_shares(
    node: &Node,
    peer: PartyId,
    order: &CosignOrder,
) -> Result<Vec<String>, String> {
    let shares: CosignShares =
        order_peer(node, peer, "/v1/peer/cosign", order, "signature shares").await?;
    if shares.shares.len() != order.members.len() {
        return Err(format!(
            "{peer} signed {} of {} entries",
            shares.shares.len(),
            order.members.len()
        ));
    }
    Ok(shares.shares)
}

/// Commits request `id` with its signed entry, or aborts it everywhere with the reason.
async fn decide(
    node: &Arc<Node>,
    id: RequestId,
    signed: Result<(LogEntry, Option<String>), String>,
) -> Result<(OperationResult, Option<u64>), String> {
    let (entry, credential) = match signed {
        Ok(done) => done,
        Err(reason) => {
            abort(node, id, &reason).await;
            return Err(format!(
                "the custodians did not all complete the request, so nothing was stored: {reason}"
            ));
        }
    };
    crate::failpoint::hit("coordinator-after-prepare");
    let bytes = entry.to_bytes();
    {
        let node = node.clone();
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || {
            node.store.decide(&id, Decision::Commit, Some(&bytes))?;
            crate::failpoint::hit("coordinator-after-decide");
            node.apply_commit(&id)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("P0 could not commit: {e}"))?;
    }
    crate::failpoint::hit("coordinator-after-commit");
    node.append_queued().await;
    let store = node.store.clone();
    let index = tokio::task::spawn_blocking(move || store.entry_index(&id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let text = String::from_utf8(bytes).expect("JSON is UTF-8");
    let decide = DecideOrder {
        request_id: id,
        commit: true,
        entry: Some(text.clone()),
        log_index: index,
        reason: None,
    };
    tell_peers(node, &decide).await;
    Ok((
        OperationResult {
            request_id: id,
            custodian: PartyId::P0,
            outcome: entry.body.outcome,
            reason: entry.body.reason,
            entry: text,
            receipt: None,
            credential,
        },
        index,
    ))
}

/// Runs a batch of enrolments: one sequence number per member, one batch order to P1
/// and P2, one MPC for all at each custodian, then each member decided on its own (in
/// batch order, so the gallery grows as it would one by one). If a custodian could not
/// prepare the batch, every member is aborted.
async fn round_batch(
    node: &Arc<Node>,
    ids: &[RequestId],
) -> Vec<Result<(OperationResult, Option<u64>), String>> {
    type Outcome = Result<(OperationResult, Option<u64>), String>;
    let mut results: Vec<Option<Outcome>> = ids.iter().map(|_| None).collect();
    let mut ops = Vec::new();
    let mut positions = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        match node.inbox.take(id, Duration::ZERO).await {
            Some(op) => {
                ops.push((*id, op));
                positions.push(k);
            }
            None => results[k] = Some(Err("the request left the inbox before it ran".into())),
        }
    }
    let store = node.store.clone();
    let count = ops.len();
    let numbers = tokio::task::spawn_blocking(move || {
        let sequences = (0..count)
            .map(|_| store.take_sequence())
            .collect::<Result<Vec<u64>, _>>()?;
        Ok::<_, crate::store::StoreError>((sequences, store.next_record_id()?))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r.map_err(|e| e.to_string()));
    let hour = hour_of(unix_now());
    let outcomes: Vec<Outcome> = match numbers {
        Err(e) => ops
            .iter()
            .map(|_| Err(format!("P0 could not sequence the batch: {e}")))
            .collect(),
        Ok((sequences, base)) => {
            let members: Vec<(RunOrder, crate::inbox::PendingOp)> = ops
                .into_iter()
                .zip(sequences)
                .enumerate()
                .map(|(k, ((request_id, op), sequence))| {
                    let order = RunOrder {
                        request_id,
                        sequence,
                        hour,
                        gallery_id: base + k as u64,
                    };
                    (order, op)
                })
                .collect();
            let order = BatchOrder {
                members: members.iter().map(|(o, _)| o.clone()).collect(),
            };
            let (own, v1, v2) = tokio::join!(
                flow::prepare_enrolments(node.clone(), members),
                batch_votes(node, PartyId::P1, &order),
                batch_votes(node, PartyId::P2, &order)
            );
            let mut outcomes = Vec::with_capacity(order.members.len());
            match (own, v1, v2) {
                (Ok(prepared), Ok(v1), Ok(v2)) => {
                    let voted: Vec<(&Prepared, Vote, Vote)> = prepared
                        .iter()
                        .zip(v1)
                        .zip(v2)
                        .map(|((p, a), b)| (p, a, b))
                        .collect();
                    match sign_jointly(node, &voted).await {
                        Ok(signed) => {
                            for (p, entry) in prepared.iter().zip(signed) {
                                outcomes.push(decide(node, p.request_id, Ok(entry)).await);
                            }
                        }
                        Err(reason) => {
                            for p in &prepared {
                                outcomes
                                    .push(decide(node, p.request_id, Err(reason.clone())).await);
                            }
                        }
                    }
                }
                (own, v1, v2) => {
                    let reason = [own.err().map(|e| format!("P0: {e}")), v1.err(), v2.err()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("; ");
                    for member in &order.members {
                        outcomes.push(decide(node, member.request_id, Err(reason.clone())).await);
                    }
                }
            }
            outcomes
        }
    };
    for (k, outcome) in positions.into_iter().zip(outcomes) {
        results[k] = Some(outcome);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("the batch ended without deciding it".into())))
        .collect()
}

/// A peer's votes on a batch: one per member, or why it has none.
async fn batch_votes(node: &Node, peer: PartyId, order: &BatchOrder) -> Result<Vec<Vote>, String> {
    let votes: BatchVotes = order_peer(node, peer, "/v1/peer/run-batch", order, "votes").await?;
    if votes.votes.len() != order.members.len() {
        return Err(format!(
            "{peer} voted on {} of the batch's {} members",
            votes.votes.len(),
            order.members.len()
        ));
    }
    Ok(votes.votes)
}

async fn abort(node: &Arc<Node>, id: RequestId, reason: &str) {
    let store = node.store.clone();
    let stored = tokio::task::spawn_blocking(move || {
        store.decide(&id, Decision::Abort, None)?;
        store.abort(&id)
    })
    .await;
    if !matches!(stored, Ok(Ok(()))) {
        tracing::error!("could not record the abort of {id}; peers will ask again");
    }
    let decide = DecideOrder {
        request_id: id,
        commit: false,
        entry: None,
        log_index: None,
        reason: Some(reason.to_owned()),
    };
    tell_peers(node, &decide).await;
}

/// Sends a decision to P1 and P2, a few times; a peer that misses it asks later.
async fn tell_peers(node: &Arc<Node>, decide: &DecideOrder) {
    let body = serde_json::to_vec(decide).expect("a decision serialises");
    let sends = [PartyId::P1, PartyId::P2].map(|peer| {
        let body = body.clone();
        async move {
            for attempt in 0..3 {
                match call_peer(node, peer, "POST", "/v1/peer/decide", body.clone()).await {
                    Ok((200, _)) => return,
                    Ok((status, answer)) => tracing::warn!(
                        "{peer} did not take the decision on {} ({status}): {}",
                        decide.request_id,
                        problem_detail(&answer)
                    ),
                    Err(e) => tracing::warn!(
                        "decision on {} not delivered to {peer}: {e}",
                        decide.request_id
                    ),
                }
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    });
    let [a, b] = sends;
    tokio::join!(a, b);
}

/// P0's answer to a peer asking about `id` after a restart.
pub fn answer_decision(
    node: &Node,
    id: &RequestId,
) -> Result<DecisionAnswer, crate::store::StoreError> {
    if let Some(decision) = node.store.decision(id)? {
        return Ok(match decision {
            Decision::Commit => DecisionAnswer::Commit,
            Decision::Abort => DecisionAnswer::Abort,
        });
    }
    if node
        .active
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(id)
    {
        return Ok(DecisionAnswer::Pending);
    }
    // Never decided and not running: P0 can no longer commit it (presumed abort).
    node.store.decide(id, Decision::Abort, None)?;
    node.store.abort(id)?;
    Ok(DecisionAnswer::Abort)
}

/// At P0's start: finishes what a crash interrupted.
pub fn recover_coordinator(node: &Node) -> Result<(), crate::store::StoreError> {
    for prepared in node.store.prepared()? {
        let id = prepared.request_id;
        match node.store.decision(&id)? {
            Some(Decision::Commit) => {
                tracing::info!("recovery: committing {id}, decided before the restart");
                node.apply_commit(&id)?;
            }
            _ => {
                tracing::info!("recovery: aborting {id}, undecided at the restart");
                node.store.decide(&id, Decision::Abort, None)?;
                node.store.abort(&id)?;
            }
        }
    }
    Ok(())
}

/// P1/P2's loop: settles prepared records whose decision did not arrive.
pub async fn resolve_forever(node: Arc<Node>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let store = node.store.clone();
        let Ok(Ok(prepared)) = tokio::task::spawn_blocking(move || store.prepared()).await else {
            continue;
        };
        let now = unix_now();
        for p in prepared {
            let id = p.request_id;
            let busy = node
                .in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&id);
            if busy || now < p.prepared_at + 3 {
                continue;
            }
            let path = format!("/v1/peer/decision/{id}");
            let answer = match call_peer(&node, PartyId::P0, "GET", &path, Vec::new()).await {
                Ok((200, body)) => serde_json::from_slice::<DecisionAnswer>(&body).ok(),
                _ => None,
            };
            let node2 = node.clone();
            let applied = tokio::task::spawn_blocking(move || match answer {
                Some(DecisionAnswer::Commit) => node2.apply_commit(&id).map(|_| "committed"),
                Some(DecisionAnswer::Abort) => node2.store.abort(&id).map(|_| "aborted"),
                _ => Ok("still waiting for P0"),
            })
            .await;
            if let Ok(Ok(what)) = applied {
                tracing::info!("prepared request {id}: {what}");
                if what != "still waiting for P0" {
                    node.inbox.finish(&id, Err(format!("request {id} was {what} after a custodian restarted; see the log for its entry")));
                }
            }
        }
    }
}
