//! Session ownership across nodes.
//!
//! * Every session has a record in `tern_sessions` (see `record.rs`) naming its owner
//!   `<node_id>/<incarnation>`. A connecting client's node claims it with compare-and-swap
//!   on the entry's revision ([`Node::claim`]): a live owner is asked to hand it over first
//!   (`tern.ctl.<node>.release`: it closes the connection with 0x8E, writes the final
//!   record and lets go), a dead owner's session is simply taken.
//! * Nodes put a heartbeat into `tern_nodes` every third of `node_timeout`. A node whose
//!   heartbeat revision has not moved for `node_timeout` (measured on this node's own
//!   clock, so clock skew between machines does not matter), or whose entry was deleted (a
//!   graceful stop), is dead: the survivors claim its sessions — each record goes to the
//!   one whose compare-and-swap wins — rebuild them from the record and the message stream,
//!   and publish their wills after the will delay.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::kv::{CreateErrorKind, Operation, UpdateErrorKind};
use bytestring::ByteString;
use futures_util::StreamExt;
use tern_codec::{Pid, QoS, SubscriptionOptions};

use super::link::Claim;
use super::node::Node;
use super::record::{Record, Tracked, key_of};
use super::subject::{self, Kind};
use super::wire;
use crate::broker::Adoption;
use crate::broker::subscriptions::split_shared;
use crate::store::{Clock, Delivery, Inflight, Message, Stored};

/// How long a claiming node waits for the owner to hand a session over.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// A node's heartbeat as last seen here.
#[derive(Debug)]
pub(super) struct Seen {
    rev: u64,
    owner: String,
    /// When `rev` last changed (this node's clock).
    since: Instant,
    gone: bool,
}

/// A subscription as replayed: filter, options, identifier, start position.
type Sub = (String, SubscriptionOptions, Option<NonZeroU32>, u64);

fn release_subject(node_id: &str) -> String {
    format!("{}.ctl.{node_id}.release", subject::ROOT)
}

impl Node {
    fn timeout(&self) -> Duration {
        self.config.node_timeout
    }

    /// Whether the process `owner` (`<node_id>/<incarnation>`) may be alive: not known to be
    /// dead. A node never heard of counts as alive (a claim asks it first and takes over only
    /// when it does not answer); one seen restarted (another incarnation), stopped (entry
    /// deleted) or silent for `node_timeout` is dead.
    pub(super) fn alive(&self, owner: &str) -> bool {
        if owner == self.owner {
            return true;
        }
        let node = owner.split('/').next().unwrap_or_default();
        match self.lock_seen().get(node) {
            Some(s) => s.owner == owner && !s.gone && s.since.elapsed() <= self.timeout(),
            None => true,
        }
    }

    /// See [`Link::claim`](super::Link::claim).
    pub(super) async fn claim(&self, client_id: &str) -> Claim {
        let key = key_of(client_id);
        let mut asked = 0;
        for _ in 0..8 {
            let entry =
                match tokio::time::timeout(Duration::from_secs(5), self.sessions.entry(&key)).await
                {
                    Ok(Ok(e)) => e,
                    Ok(Err(e)) => {
                        return Claim::Unavailable(format!("reading the session record: {e}"));
                    }
                    Err(_) => {
                        return Claim::Unavailable("reading the session record timed out".into());
                    }
                };
            let Some(e) = entry.filter(|e| e.operation == Operation::Put) else {
                // No session anywhere: this node's from now on.
                let rec = Record {
                    owner: self.owner.clone(),
                    client_id: client_id.to_owned(),
                    connected: true,
                    ..Record::default()
                };
                match self.sessions.create(&key, rec.to_bytes()).await {
                    Ok(_) => return Claim::Ready,
                    Err(e) if e.kind() == CreateErrorKind::AlreadyExists => continue,
                    Err(e) => {
                        return Claim::Unavailable(format!("creating the session record: {e}"));
                    }
                }
            };
            let rec = Record::parse(&e.value).unwrap_or_default();
            if rec.owner == self.owner {
                let local = self.broker().is_some_and(|b| b.has_session(client_id));
                if local {
                    return Claim::Ready;
                }
            } else if !rec.owner.is_empty() && self.alive(&rec.owner) && asked < 2 {
                // Its node is alive: ask it to let go, then look again.
                asked += 1;
                let node = rec.owner.split('/').next().unwrap_or_default();
                let ask = self
                    .client
                    .request(release_subject(node), client_id.to_owned().into());
                match tokio::time::timeout(RELEASE_TIMEOUT, ask).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::info!(client_id, owner = %rec.owner, "cluster: owner did not answer the takeover: {e}")
                    }
                    Err(_) => {
                        tracing::warn!(client_id, owner = %rec.owner, "cluster: owner did not hand the session over in time")
                    }
                }
                continue;
            }
            // Released, its node dead (or not answering): take it.
            let orphaned = !rec.owner.is_empty() && rec.owner != self.owner;
            let mut mine = rec.clone();
            mine.owner = self.owner.clone();
            match self
                .sessions
                .update(&key, mine.to_bytes(), e.revision)
                .await
            {
                Ok(rev) => {
                    if let Err(why) = self.adopt_record(key, rev, rec, orphaned).await {
                        return Claim::Unavailable(why);
                    }
                    return Claim::Ready;
                }
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Claim::Unavailable(format!("claiming the session record: {e}")),
            }
        }
        Claim::Unavailable("the session kept changing hands".into())
    }

    /// Puts a claimed record's session into the broker: subscriptions, QoS 2 state, will,
    /// and its queue replayed from the message stream.
    async fn adopt_record(
        &self,
        key: String,
        rev: u64,
        rec: Record,
        orphaned: bool,
    ) -> Result<(), String> {
        let broker = self.broker().ok_or("cluster node stopped")?;
        let clock = Clock::now();
        let sid = self.new_sid();
        let mut tracked = rec.clone();
        tracked.owner = self.owner.clone();
        self.lock_tracked()
            .insert(sid, Tracked::new(key, rev, tracked));
        let mut exclude: HashSet<u64> = rec.done.iter().copied().collect();
        let mut inflight = Vec::new();
        for s in &rec.sent {
            exclude.insert(s.mid);
            let (Some(pid), Ok(qos)) = (Pid::new(s.pid), QoS::try_from(s.qos)) else {
                continue;
            };
            let Some(msg) = self.fetch(s.mid).await else {
                tracing::warn!(client_id = %rec.client_id, seq = s.mid, "cluster: in-flight message no longer in the message stream");
                continue;
            };
            inflight.push(Inflight {
                pid,
                delivery: Delivery {
                    msg: Arc::new(msg),
                    qos,
                    retain: s.retain,
                    sub_ids: s.ids.iter().filter_map(|i| NonZeroU32::new(*i)).collect(),
                    stored: Some(Stored { seq: 0, mid: s.mid }),
                },
                released: s.released,
            });
        }
        let subs: Vec<Sub> = rec
            .subs
            .iter()
            .filter_map(|s| {
                Some((
                    s.filter.clone(),
                    crate::store::sqlite::subscription_options(s.options).ok()?,
                    s.id.and_then(NonZeroU32::new),
                    s.since,
                ))
            })
            .collect();
        let persistent = rec.expiry > 0;
        let mut upto = match self.msgs.get_info().await {
            Ok(i) => i.state.last_sequence,
            Err(e) => return Err(format!("message stream info: {e}")),
        };
        let queue = if persistent {
            self.replay(&subs, rec.floor, upto, &exclude).await
        } else {
            Vec::new()
        };
        let mut a = Box::new(Adoption {
            sid,
            client_id: ByteString::from(rec.client_id.as_str()),
            expiry: rec.expiry,
            disconnected_at: (!rec.connected)
                .then(|| clock.instant - clock.since(rec.disconnected_at)),
            subscriptions: subs
                .iter()
                .map(|(f, o, id, _)| (f.as_str().into(), *o, *id))
                .collect(),
            queue,
            inflight,
            incoming_qos2: rec.qos2_in.iter().filter_map(|p| Pid::new(*p)).collect(),
            will: rec.stored_will(clock),
            upto,
            orphaned,
        });
        loop {
            match broker.adopt(a) {
                Ok(_) => break,
                Err((mut back, pos)) => {
                    if persistent {
                        let more = self.replay(&subs, upto, pos, &exclude).await;
                        back.queue.extend(more);
                    }
                    upto = pos;
                    back.upto = pos;
                    a = back;
                }
            }
        }
        tracing::info!(client_id = %rec.client_id, from = %rec.owner, orphaned, "cluster: session taken over");
        Ok(())
    }

    /// One message of the message stream.
    async fn fetch(&self, seq: u64) -> Option<Message> {
        let m = self.msgs.get_raw_message(seq).await.ok()?;
        wire::decode(&m.payload, Some(&m.headers), &self.id).map(|d| d.msg)
    }

    /// The QoS 1/2 deliveries for `subs` among the message stream's positions in
    /// `(after, upto]`, leaving out `exclude` (done, or in flight): the session's queue as it
    /// was on its old node. At most `max_queued_messages`.
    async fn replay(
        &self,
        subs: &[Sub],
        after: u64,
        upto: u64,
        exclude: &HashSet<u64>,
    ) -> Vec<Delivery> {
        let plain: Vec<&Sub> = subs
            .iter()
            .filter(|s| split_shared(&s.0).0.is_none())
            .collect();
        let mut out = Vec::new();
        if after >= upto || plain.is_empty() {
            return out;
        }
        // One subscription: NATS filters; several: every message, filtered here.
        let filter = match plain.as_slice() {
            [one] => subject::filter_subject(Kind::Stored, &one.0),
            _ => None,
        }
        .unwrap_or_else(|| Kind::Stored.all());
        let consumer = self
            .msgs
            .create_consumer(pull::Config {
                filter_subject: filter,
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ack_policy: AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                memory_storage: true,
                num_replicas: 1,
                ..Default::default()
            })
            .await;
        let mut consumer = match consumer {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cluster: cannot replay the message stream: {e}");
                return out;
            }
        };
        let name = consumer.cached_info().name.clone();
        let pending = consumer.info().await.map_or(0, |i| i.num_pending);
        let limit = match self.max_queued {
            0 => usize::MAX,
            n => n,
        };
        let mut read = 0u64;
        'outer: while read < pending && out.len() < limit {
            let batch = consumer
                .fetch()
                .max_messages(usize::try_from((pending - read).min(256)).unwrap_or(256))
                .expires(Duration::from_secs(2))
                .messages()
                .await;
            let Ok(mut batch) = batch else { break };
            let mut got = 0;
            while let Some(Ok(m)) = batch.next().await {
                got += 1;
                read += 1;
                let Ok(seq) = m.info().map(|i| i.stream_sequence) else {
                    continue;
                };
                if seq > upto {
                    break 'outer;
                }
                if exclude.contains(&seq) {
                    continue;
                }
                let Some(d) = wire::decode(&m.payload, m.headers.as_ref(), &self.id) else {
                    continue;
                };
                if d.expired {
                    continue;
                }
                if let Some(delivery) = deliver(&plain, seq, d.msg) {
                    out.push(delivery);
                    if out.len() >= limit {
                        break 'outer;
                    }
                }
            }
            if got == 0 {
                break;
            }
        }
        let _ = self.msgs.delete_consumer(&name).await;
        out
    }

    /// Claims every session whose owner is dead.
    async fn claim_orphans(&self) {
        let Ok(mut keys) = self.sessions.keys().await else {
            return;
        };
        let mut all = Vec::new();
        while let Some(Ok(k)) = keys.next().await {
            all.push(k);
        }
        let mut claimed = 0;
        for key in all {
            let Ok(Some(e)) = self.sessions.entry(&key).await else {
                continue;
            };
            if e.operation != Operation::Put {
                continue;
            }
            let Some(rec) = Record::parse(&e.value) else {
                continue;
            };
            if self.alive(&rec.owner) && !rec.owner.is_empty() {
                continue;
            }
            let mut mine = rec.clone();
            mine.owner = self.owner.clone();
            let Ok(rev) = self
                .sessions
                .update(&key, mine.to_bytes(), e.revision)
                .await
            else {
                // Another survivor was faster.
                continue;
            };
            let orphaned = !rec.owner.is_empty();
            if let Err(e) = self.adopt_record(key, rev, rec, orphaned).await {
                tracing::warn!("cluster: claiming an orphaned session: {e}");
            }
            claimed += 1;
        }
        if claimed > 0 {
            tracing::info!(
                sessions = claimed,
                "cluster: sessions of dead nodes claimed"
            );
        }
    }
}

/// The delivery of stream message `seq` for the subscriptions `subs`: one copy at the
/// highest matching QoS with every Subscription Identifier [MQTT-3.3.4-2, MQTT-3.3.4-3];
/// `None` when nothing matches or it would be QoS 0 (at most once: not kept).
fn deliver(subs: &[&Sub], seq: u64, msg: Message) -> Option<Delivery> {
    let mut qos = None;
    let mut rap = false;
    let mut ids = Vec::new();
    for (filter, options, id, since) in subs {
        if *since >= seq || !subject::topic_matches(filter, &msg.topic) {
            continue;
        }
        qos = Some(qos.map_or(options.qos, |q: QoS| q.max(options.qos)));
        rap |= options.retain_as_published;
        ids.extend(*id);
    }
    let qos = msg.qos.min(qos?);
    if qos == QoS::AtMostOnce {
        return None;
    }
    Some(Delivery {
        qos,
        retain: rap && msg.retain,
        msg: Arc::new(msg),
        sub_ids: ids,
        stored: Some(Stored { seq: 0, mid: seq }),
    })
}

/// Puts this node's heartbeat every third of `node_timeout`.
pub(super) async fn heartbeat(node: Arc<Node>) {
    let every = node.config.node_timeout / 3;
    loop {
        if let Err(e) = node.nodes.put(&node.id, node.owner.clone().into()).await {
            tracing::warn!("cluster: heartbeat: {e}");
        }
        tokio::select! {
            () = node.stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// Follows the other nodes' heartbeats (one watch of the bucket: every heartbeat arrives as
/// it is written); claims the sessions of nodes that died (and, once after start-up, of any
/// dead owner, e.g. this node's previous run).
pub(super) async fn watch_nodes(node: Arc<Node>) {
    let every = node.config.node_timeout / 3;
    let mut handled: HashSet<String> = HashSet::new();
    let mut swept = false;
    let mut watch = None;
    let mut tick = tokio::time::interval(every);
    loop {
        if watch.is_none() {
            match node.nodes.watch_all().await {
                Ok(w) => watch = Some(w),
                Err(e) => tracing::warn!("cluster: watching node heartbeats: {e}"),
            }
        }
        let mut died = Vec::new();
        tokio::select! {
            () = node.stop.cancelled() => return,
            e = async {
                match watch.as_mut() {
                    Some(w) => w.next().await,
                    None => std::future::pending().await,
                }
            } => match e {
                Some(Ok(entry)) => {
                    let now = Instant::now();
                    let mut seen = node.lock_seen();
                    let gone = entry.operation != Operation::Put;
                    let owner = String::from_utf8_lossy(&entry.value).into_owned();
                    match seen.get_mut(&entry.key) {
                        Some(s) => {
                            if s.rev != entry.revision {
                                s.rev = entry.revision;
                                s.since = now;
                            }
                            s.gone = gone;
                            if !gone && s.owner != owner {
                                // Restarted: the previous process is dead.
                                died.push(std::mem::replace(&mut s.owner, owner));
                            }
                        }
                        None if !gone => {
                            seen.insert(
                                entry.key.clone(),
                                Seen {
                                    rev: entry.revision,
                                    owner,
                                    since: now,
                                    gone,
                                },
                            );
                        }
                        None => {}
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!("cluster: node heartbeats: {e}");
                    watch = None;
                }
                None => watch = None,
            },
            _ = tick.tick() => {}
        }
        {
            let seen = node.lock_seen();
            for (id, s) in seen.iter() {
                if *id == node.id {
                    continue;
                }
                let dead = s.gone || s.since.elapsed() > node.config.node_timeout;
                if dead && handled.insert(s.owner.clone()) {
                    died.push(s.owner.clone());
                }
                if !dead {
                    handled.remove(&s.owner);
                }
            }
        }
        let sweep = !swept && node.started.elapsed() > node.config.node_timeout;
        if !died.is_empty() {
            tracing::warn!(nodes = ?died, "cluster: nodes lost; claiming their sessions");
        }
        if !died.is_empty() || sweep {
            swept = true;
            node.claim_orphans().await;
        }
    }
}

/// Answers other nodes asking this one to hand a session over.
pub(super) async fn serve_releases(node: Arc<Node>) {
    let mut sub = loop {
        match node.client.subscribe(release_subject(&node.id)).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!("cluster: cannot serve takeovers: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        let m = tokio::select! {
            () = node.stop.cancelled() => return,
            m = sub.next() => m,
        };
        let Some(m) = m else { return };
        let node = Arc::clone(&node);
        tokio::spawn(async move {
            let client_id = String::from_utf8_lossy(&m.payload).into_owned();
            if let Some(broker) = node.broker() {
                broker.release(&client_id).await;
                // Everything the session's end appended (its last record, or its removal)
                // is written before the other node reads the record.
                node.committed_now().await;
                tracing::info!(client_id, "cluster: session handed over to another node");
            }
            if let Some(reply) = m.reply {
                let _ = node.client.publish(reply, "ok".into()).await;
            }
        });
    }
}
