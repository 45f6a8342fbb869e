//! The writer task: takes every op appended since its last batch, in order, and carries it
//! out on NATS — QoS 1/2 messages and retained messages published to their streams (each
//! acknowledged by JetStream, so stored on a majority of replicas), NATS subscriptions
//! made or dropped, session records written — then announces the batch's commit number.
//! Answers held for a commit (PUBACK after a QoS 1/2 PUBLISH, SUBACK, CONNACK) go out only
//! then. While a batch waits for NATS new ops accumulate for the next (group commit).
//!
//! A publish that fails (a NATS server died, leaders are being elected) is retried with the
//! same `Nats-Msg-Id`, so JetStream stores it once; its acknowledgement waits meanwhile.
//! Queue positions of sessions (see `record.rs`) are written lazily, at most every
//! [`LAZY`]: nobody waits for them, and a node taking a session over after a crash at worst
//! resends a few QoS 1 messages (QoS 2 ones are in the record before they are sent).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use bytestring::ByteString;
use futures_util::future::join_all;
use tokio::task::JoinHandle;

use super::node::{Node, subject_of};
use super::record::{Change, Record, Tracked, key_of};
use super::subject::{self, Kind};
use super::{inbound, wire};
use crate::store::{Clock, ClusterOp, Message, Op, SessionKey};

/// How often queue positions of sessions are written.
const LAZY: Duration = Duration::from_millis(200);

struct Writer {
    node: Arc<Node>,
    /// NATS subscriptions for QoS 0 messages, per filter.
    live: HashMap<ByteString, JoinHandle<()>>,
    /// Queue-group subscriptions of shared-subscription members.
    members: HashMap<(ByteString, ByteString, SessionKey), JoinHandle<()>>,
    /// Pullers of shared groups' durable consumers, with their local member count.
    shares: HashMap<(ByteString, ByteString), (usize, JoinHandle<()>)>,
    next_id: u64,
}

/// Runs until the node closes and everything appended is committed.
pub(super) async fn run(node: Arc<Node>) {
    let mut w = Writer {
        node,
        live: HashMap::new(),
        members: HashMap::new(),
        shares: HashMap::new(),
        next_id: 0,
    };
    let mut tick = tokio::time::interval(LAZY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = w.node.wake.notified() => {}
            _ = tick.tick() => w.write_lazy().await,
        }
        loop {
            let (ops, upto, closing) = {
                let mut p = w.node.lock_pending();
                (std::mem::take(&mut p.ops), p.last, p.closing)
            };
            if ops.is_empty() {
                w.node.commits.send_replace(upto);
                if closing {
                    w.write_lazy().await;
                    for (_, h) in w.live.drain() {
                        h.abort();
                    }
                    for (_, h) in w.members.drain() {
                        h.abort();
                    }
                    for (_, (_, h)) in w.shares.drain() {
                        h.abort();
                    }
                    w.node.writer_done.cancel();
                    return;
                }
                break;
            }
            w.apply(ops).await;
            w.node.commits.send_replace(upto);
        }
    }
}

/// A publish on its way to a stream.
struct Publishing {
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
    id: String,
    ack: Option<PublishAckFuture>,
    /// An incoming QoS 2 message (session id, packet id): noted as stored once acknowledged.
    qos2: Option<(u64, u16)>,
}

/// A record write.
enum Job {
    Put(Bytes),
    Delete,
}

/// Why a record write did not happen.
enum Lost {
    /// Another node owns the session now.
    Owner,
    /// The node is stopping.
    Stopped,
}

impl Writer {
    async fn apply(&mut self, ops: Vec<Op>) {
        let clock = Clock::now();
        let mut publishes = Vec::new();
        // Incoming QoS 2 messages: sent once their record holds the de-duplication id.
        let mut deferred = Vec::new();
        let mut dirty: Vec<u64> = Vec::new();
        let mut flush = false;
        for op in ops {
            match op {
                Op::Cluster(ClusterOp::Publish {
                    msg,
                    origin,
                    qos2,
                    id,
                }) => {
                    let qos2 = qos2.map(|(sid, pid)| (sid, pid.get()));
                    let fresh = id.is_none();
                    let Some(mut p) = self.prepare(Kind::Stored, &msg, origin, id) else {
                        continue;
                    };
                    p.qos2 = qos2;
                    match qos2 {
                        Some((sid, pid)) if fresh => {
                            if let Some(t) = self.node.lock_tracked().get_mut(&sid) {
                                t.qos2_publishing(pid, &p.id);
                                if !dirty.contains(&sid) {
                                    dirty.push(sid);
                                }
                            }
                            deferred.push(p);
                        }
                        _ => {
                            p.ack = self.send(&p).await;
                            publishes.push(p);
                        }
                    }
                }
                Op::Retain { topic, msg } => {
                    let msg = msg.unwrap_or_else(|| Arc::new(tombstone(&topic)));
                    publishes.extend(self.publish(Kind::Retained, &msg, None).await);
                }
                Op::Cluster(ClusterOp::Interest { filter, add }) => {
                    self.interest(filter, add).await;
                    flush = true;
                }
                Op::Cluster(ClusterOp::Member {
                    group,
                    filter,
                    key,
                    add,
                }) => {
                    self.member(group, filter, key, add).await;
                    flush = true;
                }
                op => {
                    let Some(sid) = sid_of(&op) else { continue };
                    let mut tracked = self.node.lock_tracked();
                    if let std::collections::hash_map::Entry::Vacant(v) = tracked.entry(sid) {
                        // A session this node created: its record is made on first write.
                        let Op::Session(r) = &op else { continue };
                        let rec = Record {
                            client_id: r.client_id.to_string(),
                            ..Record::default()
                        };
                        v.insert(Tracked::new(key_of(&r.client_id), 0, rec));
                    }
                    if let Some(t) = tracked.get_mut(&sid)
                        && t.apply(&op, clock) == Change::Now
                        && !dirty.contains(&sid)
                    {
                        dirty.push(sid);
                    }
                }
            }
        }
        self.write_records(&dirty).await;
        for mut p in deferred {
            p.ack = self.send(&p).await;
            publishes.push(p);
        }
        for p in publishes {
            let qos2 = p.qos2;
            self.finish(p).await;
            if let Some((sid, pid)) = qos2
                && let Some(t) = self.node.lock_tracked().get_mut(&sid)
            {
                t.qos2_stored(pid);
            }
        }
        if flush {
            let _ = self.node.client.flush().await;
        }
    }

    /// Starts publishing `msg` to its stream (the acknowledgement is awaited in `finish`).
    async fn publish(
        &mut self,
        kind: Kind,
        msg: &Message,
        origin: Option<SessionKey>,
    ) -> Option<Publishing> {
        let mut p = self.prepare(kind, msg, origin, None)?;
        p.ack = self.send(&p).await;
        Some(p)
    }

    /// A publish of `msg` with a new de-duplication id (or `id`), not sent yet.
    fn prepare(
        &mut self,
        kind: Kind,
        msg: &Message,
        origin: Option<SessionKey>,
        id: Option<ByteString>,
    ) -> Option<Publishing> {
        let subject = subject_of(kind, &msg.topic)?;
        let payload = wire::encode(msg)?;
        let id = match id {
            Some(id) => id.to_string(),
            None => {
                self.next_id += 1;
                format!("{}-{}", self.node.owner, self.next_id)
            }
        };
        Some(Publishing {
            subject,
            headers: wire::headers(&self.node.id, origin),
            payload,
            id,
            ack: None,
            qos2: None,
        })
    }

    async fn send(&self, p: &Publishing) -> Option<PublishAckFuture> {
        let m = PublishMessage::build()
            .payload(p.payload.clone())
            .headers(p.headers.clone())
            .message_id(&p.id);
        match self.node.js.send_publish(p.subject.clone(), m).await {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(subject = %p.subject, "cluster: publish failed, retrying: {e}");
                None
            }
        }
    }

    /// Waits until JetStream stored `p`, publishing it again (same message id) until it is.
    async fn finish(&self, mut p: Publishing) {
        let mut delay = Duration::from_millis(50);
        loop {
            if let Some(ack) = p.ack.take() {
                match ack.await {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::warn!(subject = %p.subject, "cluster: publish not acknowledged, retrying: {e}")
                    }
                }
            }
            if self.node.stop.is_cancelled() {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
            p.ack = self.send(&p).await;
        }
    }

    async fn interest(&mut self, filter: ByteString, add: bool) {
        if !add {
            if let Some(h) = self.live.remove(&filter) {
                // Dropping the subscriber unsubscribes.
                h.abort();
            }
            return;
        }
        let Some(subject) = subject::filter_subject(Kind::Live, &filter) else {
            return;
        };
        match self.node.client.subscribe(subject).await {
            Ok(sub) => {
                let h = tokio::spawn(inbound::read_live(
                    Arc::clone(&self.node),
                    filter.clone(),
                    sub,
                ));
                if let Some(old) = self.live.insert(filter, h) {
                    old.abort();
                }
            }
            Err(e) => tracing::error!(%filter, "cluster: cannot subscribe: {e}"),
        }
    }

    async fn member(&mut self, group: ByteString, filter: ByteString, key: SessionKey, add: bool) {
        let k = (group.clone(), filter.clone(), key);
        let g = (group.clone(), filter.clone());
        if !add {
            if let Some(h) = self.members.remove(&k) {
                h.abort();
            }
            let last = self.shares.get_mut(&g).is_some_and(|(n, _)| {
                *n -= 1;
                *n == 0
            });
            if last && let Some((_, h)) = self.shares.remove(&g) {
                h.abort();
            }
            return;
        }
        // QoS 0: one queue-group subscription per member, so NATS balances per member.
        let Some(subject) = subject::filter_subject(Kind::Live, &filter) else {
            return;
        };
        let queue = subject::queue_name(&group, &filter);
        match self.node.client.queue_subscribe(subject, queue).await {
            Ok(sub) => {
                let h = tokio::spawn(inbound::read_member(
                    Arc::clone(&self.node),
                    group.clone(),
                    filter.clone(),
                    key,
                    sub,
                ));
                if let Some(old) = self.members.insert(k, h) {
                    old.abort();
                }
            }
            Err(e) => tracing::error!(%group, %filter, "cluster: cannot subscribe: {e}"),
        }
        // QoS 1/2: the group's durable consumer, pulled while a member is here. It exists
        // before the SUBACK (this commit), so nothing published after it is missed.
        if let Some(e) = self.shares.get_mut(&g) {
            e.0 += 1;
            return;
        }
        for attempt in 0..20 {
            match inbound::share_consumer(&self.node, &group, &filter).await {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(%group, %filter, attempt, "cluster: shared subscription consumer: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let h = tokio::spawn(inbound::pull_shared(Arc::clone(&self.node), group, filter));
        self.shares.insert(g, (1, h));
    }

    /// Writes the records of `sids` (all at once, one write per record).
    async fn write_records(&self, sids: &[u64]) {
        if sids.is_empty() {
            return;
        }
        let jobs: Vec<(u64, String, String, u64, Job)> = {
            let mut tracked = self.node.lock_tracked();
            sids.iter()
                .filter_map(|sid| {
                    let t = tracked.get_mut(sid)?;
                    let job = if t.gone {
                        Job::Delete
                    } else {
                        let mut rec = t.snapshot();
                        rec.owner = if t.released {
                            String::new()
                        } else {
                            self.node.owner.clone()
                        };
                        Job::Put(rec.to_bytes())
                    };
                    Some((*sid, t.key.clone(), t.rec.client_id.clone(), t.rev, job))
                })
                .collect()
        };
        let results = join_all(
            jobs.iter()
                .map(|(_, key, _, rev, job)| self.write_one(key, *rev, job)),
        )
        .await;
        let mut lost = Vec::new();
        {
            let mut tracked = self.node.lock_tracked();
            for ((sid, _, client_id, _, _), r) in jobs.into_iter().zip(results) {
                match r {
                    Ok(rev) => {
                        let done = tracked.get_mut(&sid).is_some_and(|t| {
                            t.rev = rev;
                            t.gone || t.released
                        });
                        if done {
                            tracked.remove(&sid);
                        }
                    }
                    Err(Lost::Owner) => {
                        tracked.remove(&sid);
                        lost.push(client_id);
                    }
                    Err(Lost::Stopped) => {}
                }
            }
        }
        if let Some(broker) = self.node.broker() {
            for client_id in lost {
                tracing::warn!(%client_id, "cluster: another node owns this session now; closing it here");
                broker.disown(&client_id);
            }
        }
    }

    /// Records whose queue position moved since their last write.
    async fn write_lazy(&self) {
        let sids: Vec<u64> = self
            .node
            .lock_tracked()
            .iter()
            .filter(|(_, t)| t.lazy && !t.gone)
            .map(|(sid, _)| *sid)
            .collect();
        self.write_records(&sids).await;
    }

    /// One record write with compare-and-swap on `rev`; the new revision.
    async fn write_one(&self, key: &str, mut rev: u64, job: &Job) -> Result<u64, Lost> {
        let kv = &self.node.sessions;
        let mut delay = Duration::from_millis(50);
        loop {
            let conflict = match job {
                // Created by `claim` and never written since: find its revision.
                Job::Delete if rev == 0 => true,
                Job::Delete => match kv.delete_expect_revision(key, Some(rev)).await {
                    Ok(()) => return Ok(0),
                    Err(e)
                        if e.kind()
                            == async_nats::jetstream::kv::UpdateErrorKind::WrongLastRevision =>
                    {
                        true
                    }
                    Err(e) => {
                        tracing::warn!(
                            key,
                            "cluster: cannot delete a session record, retrying: {e}"
                        );
                        false
                    }
                },
                Job::Put(bytes) if rev == 0 => match kv.create(key, bytes.clone()).await {
                    Ok(r) => return Ok(r),
                    Err(e)
                        if e.kind()
                            == async_nats::jetstream::kv::CreateErrorKind::AlreadyExists =>
                    {
                        true
                    }
                    Err(e) => {
                        tracing::warn!(
                            key,
                            "cluster: cannot write a session record, retrying: {e}"
                        );
                        false
                    }
                },
                Job::Put(bytes) => match kv.update(key, bytes.clone(), rev).await {
                    Ok(r) => return Ok(r),
                    Err(e)
                        if e.kind()
                            == async_nats::jetstream::kv::UpdateErrorKind::WrongLastRevision =>
                    {
                        true
                    }
                    Err(e) => {
                        tracing::warn!(
                            key,
                            "cluster: cannot write a session record, retrying: {e}"
                        );
                        false
                    }
                },
            };
            if conflict {
                // Still ours (our own earlier write whose acknowledgement was lost)? Then
                // write over it; otherwise the session has moved on.
                match kv.entry(key).await {
                    Ok(Some(e)) if e.operation == async_nats::jetstream::kv::Operation::Put => {
                        match Record::parse(&e.value) {
                            Some(r) if r.owner == self.node.owner => rev = e.revision,
                            _ => return Err(Lost::Owner),
                        }
                    }
                    Ok(Some(e)) if matches!(job, Job::Put(_)) && rev == 0 => rev = e.revision,
                    Ok(_) if matches!(job, Job::Delete) => return Ok(0),
                    Ok(_) => return Err(Lost::Owner),
                    Err(e) => tracing::warn!(key, "cluster: cannot read a session record: {e}"),
                }
                continue;
            }
            if self.node.stop.is_cancelled() {
                return Err(Lost::Stopped);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

/// The session an op is about.
fn sid_of(op: &Op) -> Option<u64> {
    Some(match op {
        Op::Session(r) => r.sid,
        Op::SessionGone { sid }
        | Op::Subscribe { sid, .. }
        | Op::Unsubscribe { sid, .. }
        | Op::Enqueue { sid, .. }
        | Op::Sent { sid, .. }
        | Op::Dequeue { sid, .. }
        | Op::Qos2In { sid, .. }
        | Op::Qos2Released { sid, .. }
        | Op::Cluster(ClusterOp::Since { sid, .. } | ClusterOp::Released { sid }) => *sid,
        _ => return None,
    })
}

/// The message that clears the retained message of `topic` cluster-wide.
fn tombstone(topic: &ByteString) -> Message {
    Message {
        topic: tern_codec::TopicName::new(topic.clone())
            .unwrap_or_else(|_| tern_codec::TopicName::empty()),
        payload: Bytes::new(),
        qos: tern_codec::QoS::AtMostOnce,
        retain: true,
        properties: None,
        origin: None,
        expires_at: None,
    }
}
