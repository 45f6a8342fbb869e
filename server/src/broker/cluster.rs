//! The broker's side of a cluster node (see `crate::cluster` for the design): what a
//! message published here does in a cluster, how subscriptions become NATS interest, and
//! what the other nodes send in — QoS 0 messages per filter, QoS 1/2 messages from the
//! message stream in its order, shared-subscription messages, retained messages, and
//! sessions taken over. None of it runs without `[cluster]`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use tern_codec::{Pid, QoS, SubscriptionOptions};
use tokio_util::sync::CancellationToken;

use super::routing::{Body, Route};
use super::subscriptions::{Subscriber, split_shared};
use super::{Broker, Commit, Congestion, Delivery, Inflight, Message, SessionKey, State, record};
use crate::cluster::Link;
use crate::store::{ClusterOp, Op, PendingWill, StoredWill};

/// How long a node handing a session over waits for its connection to let go.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// A session taken over from another node, rebuilt from its record and the message stream.
#[derive(Debug)]
pub struct Adoption {
    /// This node's store id for it (from `Store::next_sid`).
    pub sid: u64,
    pub client_id: ByteString,
    pub expiry: u32,
    /// When its client went away; `None` if it was connected (on the old node).
    pub disconnected_at: Option<Instant>,
    pub subscriptions: Vec<(ByteString, SubscriptionOptions, Option<NonZeroU32>)>,
    /// Messages for it from the message stream, oldest first; `stored.mid` is the stream
    /// position.
    pub queue: Vec<Delivery>,
    pub inflight: Vec<Inflight>,
    pub incoming_qos2: Vec<Pid>,
    pub will: Option<StoredWill>,
    /// The message stream position the queue was rebuilt up to.
    pub upto: u64,
    /// Its node died: the connection counts as lost now (will after its delay, expiry from
    /// now); otherwise a client is about to connect here.
    pub orphaned: bool,
}

impl Broker {
    /// Whether this broker is a cluster node.
    pub fn clustered(&self) -> bool {
        self.inner.cluster.is_some()
    }

    /// In a cluster, what a SUBSCRIBE waits for before it reads the retained store (see
    /// [`Link::retained_barrier`]).
    pub fn retained_barrier(&self) -> Option<crate::cluster::BoxFuture<()>> {
        self.inner.cluster.as_ref().map(|l| l.retained_barrier())
    }

    /// In a cluster, the recorded de-duplication id of the stored session `sid`'s incoming
    /// QoS 2 message `pid` when JetStream may not have stored it (its first node died before
    /// it could say): a resent PUBLISH is published again under that id, so it is stored
    /// exactly once; `None`: answer PUBREC again without publishing.
    pub fn qos2_redo(&self, sid: u64, pid: Pid) -> Option<ByteString> {
        self.inner.cluster.as_ref()?.qos2_unstored(sid, pid.get())
    }

    /// Whether this node has a session for `client_id`.
    pub fn has_session(&self, client_id: &str) -> bool {
        self.lock().sessions.key_of(client_id).is_some()
    }

    /// Whether `topic` (or filter) fits a NATS subject; always true for a single broker.
    pub fn topic_fits(&self, topic: &str) -> bool {
        self.inner.cluster.is_none() || crate::cluster::subject::fits(topic)
    }

    /// A message published on this node, in a cluster: QoS 0 is routed here and sent to the
    /// other nodes over core NATS (at most once); QoS 1/2 goes into the message stream only
    /// (the commit holds PUBACK / PUBREC until it is stored there) and reaches every node,
    /// this one too, from the stream in its order. Subscribers elsewhere are unknown here,
    /// so the count is never 0 (no v5 0x10 No matching subscribers).
    pub(super) fn dispatch_cluster(
        &self,
        st: &mut State,
        link: &Arc<dyn Link>,
        msg: &Arc<Message>,
        congestion: &mut Option<Congestion>,
        qos2: Option<(u64, Pid)>,
        id: Option<ByteString>,
    ) -> usize {
        if msg.qos == QoS::AtMostOnce {
            self.route(
                st,
                msg,
                congestion,
                Route {
                    shared: false,
                    seq: 0,
                },
            );
            link.send_live(Arc::clone(msg), msg.origin);
        } else {
            st.ops.push(Op::Cluster(ClusterOp::Publish {
                msg: Arc::clone(msg),
                origin: msg.origin,
                qos2: qos2.filter(|(sid, _)| *sid != 0),
                id,
            }));
        }
        usize::MAX
    }

    /// A new subscription (`existed`: only its options changed): the NATS subscription for
    /// its filter when it is this node's first, or the shared-group membership; for a
    /// stored session, where the message stream was (see `ClusterOp::Since`).
    pub(super) fn cluster_subscribed(
        &self,
        st: &mut State,
        key: SessionKey,
        sid: u64,
        filter: &str,
        existed: bool,
    ) {
        if existed {
            return;
        }
        match split_shared(filter) {
            (None, inner) => {
                let n = st.interest.entry(ByteString::from(inner)).or_insert(0);
                *n += 1;
                if *n == 1 {
                    st.ops.push(Op::Cluster(ClusterOp::Interest {
                        filter: inner.into(),
                        add: true,
                    }));
                }
            }
            (Some(group), inner) => st.ops.push(Op::Cluster(ClusterOp::Member {
                group: group.into(),
                filter: inner.into(),
                key,
                add: true,
            })),
        }
        if sid != 0 {
            st.ops.push(Op::Cluster(ClusterOp::Since {
                sid,
                filter: filter.into(),
                seq: st.stream_pos,
            }));
        }
    }

    /// A subscription removed: the NATS subscription goes with this node's last one.
    pub(super) fn cluster_unsubscribed(&self, st: &mut State, key: SessionKey, filter: &str) {
        match split_shared(filter) {
            (None, inner) => {
                let gone = st.interest.get_mut(inner).is_some_and(|n| {
                    *n -= 1;
                    *n == 0
                });
                if gone {
                    st.interest.remove(inner);
                    st.ops.push(Op::Cluster(ClusterOp::Interest {
                        filter: inner.into(),
                        add: false,
                    }));
                }
            }
            (Some(group), inner) => st.ops.push(Op::Cluster(ClusterOp::Member {
                group: group.into(),
                filter: inner.into(),
                key,
                add: false,
            })),
        }
    }

    /// A QoS 0 message from another node, received on this node's NATS subscription for
    /// `filter`: to this node's plain subscribers of exactly that filter. A session with two
    /// matching filters gets one copy per subscription, which [MQTT-3.3.4-2] allows.
    pub fn deliver_live(&self, filter: &str, msg: Message) {
        let msg = Arc::new(msg);
        let mut st = self.lock();
        let State {
            sessions,
            subs,
            scratch,
            ops,
            ..
        } = &mut *st;
        scratch.clear();
        subs.exact(filter, scratch);
        for m in scratch.iter() {
            let d = Delivery {
                msg: Arc::clone(&msg),
                qos: msg.qos.min(m.qos),
                retain: m.retain_as_published && msg.retain,
                sub_ids: m.id.into_iter().collect(),
                stored: None,
            };
            self.enqueue(sessions, ops, &mut Body::default(), m.key, d, &mut None, 0);
        }
        self.commit(&mut st);
    }

    /// A QoS 0 message NATS gave to the shared-subscription member `key` of
    /// `$share/{group}/{filter}` on this node (its queue-group subscription).
    pub fn deliver_member(&self, group: &str, filter: &str, key: SessionKey, msg: Message) {
        let full = format!("$share/{group}/{filter}");
        let mut st = self.lock();
        let State { sessions, ops, .. } = &mut *st;
        let Some((options, id)) = sessions
            .get(key)
            .and_then(|s| s.subscriptions.get(full.as_str()).copied())
        else {
            return;
        };
        let d = Delivery {
            qos: msg.qos.min(options.qos),
            retain: options.retain_as_published && msg.retain,
            msg: Arc::new(msg),
            sub_ids: id.into_iter().collect(),
            stored: None,
        };
        self.enqueue(sessions, ops, &mut Body::default(), key, d, &mut None, 0);
        self.commit(&mut st);
    }

    /// A QoS 1/2 message from the message stream (`seq`: its position), in stream order:
    /// to every matching plain subscription on this node. Positions seen before (a replay
    /// after a NATS reconnect) are ignored.
    pub fn deliver_stored(&self, seq: u64, msg: Message) {
        let msg = Arc::new(msg);
        let mut st = self.lock();
        if seq <= st.stream_pos {
            return;
        }
        st.stream_pos = seq;
        self.route(&mut st, &msg, &mut None, Route { shared: false, seq });
        self.commit(&mut st);
    }

    /// A QoS 1/2 message of the shared subscription `$share/{group}/{filter}` that NATS
    /// gave to this node: to one connected member here, round robin. `None` when none is
    /// connected (NATS then offers it to another node).
    pub fn deliver_shared(
        &self,
        group: &str,
        filter: &str,
        seq: u64,
        msg: Message,
    ) -> Option<Commit> {
        let mut st = self.lock();
        let State {
            sessions,
            subs,
            ops,
            ..
        } = &mut *st;
        let m = subs.pick_member(group, filter, &|k| {
            sessions.get(k).is_some_and(|s| s.live.is_some())
        })?;
        let d = Delivery {
            qos: msg.qos.min(m.qos),
            retain: m.retain_as_published && msg.retain,
            msg: Arc::new(msg),
            sub_ids: m.id.into_iter().collect(),
            stored: None,
        };
        self.enqueue(
            sessions,
            ops,
            &mut Body(Some(seq)),
            m.key,
            d,
            &mut None,
            seq,
        );
        Some(self.commit(&mut st))
    }

    /// A retained message (an empty payload clears it) from the retained stream, in its
    /// order: the one way retained messages change on a cluster node.
    pub fn mirror_retained(&self, msg: Message) {
        let msg = Arc::new(msg);
        self.lock().retained.set(&msg);
    }

    /// The last message-stream position routed here.
    pub fn stream_position(&self) -> u64 {
        self.lock().stream_pos
    }

    /// Where routing from the message stream starts (at start-up: its last position).
    pub fn start_stream_at(&self, seq: u64) {
        let mut st = self.lock();
        st.stream_pos = st.stream_pos.max(seq);
    }

    /// Puts a session taken over from another node in place. `Err(pos)` when this node has
    /// routed the message stream beyond `a.upto` meanwhile: rebuild the queue up to `pos`
    /// and try again (otherwise the messages in between would be missing).
    pub fn adopt(&self, a: Box<Adoption>) -> Result<Commit, (Box<Adoption>, u64)> {
        let now = Instant::now();
        let mut st = self.lock();
        if st.stream_pos > a.upto {
            let pos = st.stream_pos;
            return Err((a, pos));
        }
        let a = *a;
        if let Some(old) = st.sessions.key_of(&a.client_id) {
            // A stale local copy (this node lost the session while cut off from NATS).
            self.drop_local(&mut st, old);
        }
        let key = st.sessions.create(a.client_id.clone(), a.expiry).key;
        for (filter, options, id) in &a.subscriptions {
            st.subs.insert(
                filter,
                Subscriber {
                    key,
                    options: *options,
                    id: *id,
                },
            );
            // `Since` stays as the record has it.
            self.cluster_subscribed(&mut st, key, 0, filter, false);
        }
        let State { sessions, ops, .. } = &mut *st;
        let Some(s) = sessions.get_mut(key) else {
            return Ok(0);
        };
        s.sid = a.sid;
        s.hwm = a.upto;
        s.subscriptions = a
            .subscriptions
            .into_iter()
            .map(|(f, o, id)| (f, (o, id)))
            .collect();
        s.incoming_qos2 = a.incoming_qos2;
        s.disconnected_at = Some(a.disconnected_at.unwrap_or(now));
        // The writer learns the entries under their new queue positions.
        let enqueue = |s: &mut crate::store::StoredSession, d: &mut Delivery| {
            s.next_seq += 1;
            let e = d.stored.as_mut()?;
            e.seq = s.next_seq;
            Some(Op::Enqueue {
                sid: s.sid,
                seq: e.seq,
                mid: e.mid,
                qos: d.qos,
                retain: d.retain,
                sub_ids: d.sub_ids.clone(),
            })
        };
        let mut inflight = a.inflight;
        for f in &mut inflight {
            ops.extend(enqueue(s, &mut f.delivery));
            if let Some(e) = f.delivery.stored {
                ops.push(Op::Sent {
                    sid: s.sid,
                    seq: e.seq,
                    pid: f.pid,
                    released: f.released,
                });
            }
        }
        s.inflight = inflight;
        for mut d in a.queue {
            ops.extend(enqueue(s, &mut d));
            s.queue.push(d, 0, 0, &mut Vec::new());
        }
        let mut will_now = None;
        let mut stored_will = None;
        match a.will {
            // Its connection died with its node: due after the delay, or at once when the
            // session ends with it [MQTT-3.1.3-9].
            Some(StoredWill::Armed { msg, delay, expiry }) if a.orphaned => {
                let mut msg = msg;
                msg.expires_at =
                    expiry.map(|e| now + Duration::from_secs(u64::from(delay) + u64::from(e)));
                if delay == 0 || a.expiry == 0 {
                    will_now = Some(msg);
                } else {
                    let at = now + Duration::from_secs(u64::from(delay.min(a.expiry)));
                    stored_will = Some(StoredWill::Due {
                        msg: msg.clone(),
                        at,
                    });
                    s.will = Some(Box::new(PendingWill { msg, at }));
                }
            }
            Some(StoredWill::Due { msg, at }) => {
                stored_will = Some(StoredWill::Due {
                    msg: msg.clone(),
                    at,
                });
                s.will = Some(Box::new(PendingWill { msg, at }));
            }
            _ => {}
        }
        ops.push(record(s, stored_will));
        let ends = a.orphaned && a.expiry == 0;
        let deadline = match (s.will.as_ref().map(|w| w.at), s.expires_at()) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if ends {
            // Ended with its connection: only the will is left.
            self.end_session(&mut st, key);
        } else if let Some(at) = deadline
            && st.next_deadline.is_none_or(|n| at < n)
        {
            st.next_deadline = Some(at);
            self.inner.timer.notify_one();
        }
        if let Some(w) = will_now {
            self.publish_locked(&mut st, w);
        }
        Ok(self.commit(&mut st))
    }

    /// Hands the session of `client_id` to another node: its connection is closed
    /// ([MQTT-3.1.4-3], v5 0x8E) and has handed its state back, the session leaves this
    /// node, and its final record is appended. Wait for the returned commit before telling
    /// the other node.
    pub async fn release(&self, client_id: &str) -> Commit {
        for _ in 0..3 {
            let done: Option<CancellationToken> = {
                let st = self.lock();
                st.sessions
                    .key_of(client_id)
                    .and_then(|k| st.sessions.get(k))
                    .and_then(|s| s.live.clone())
                    .map(|live| {
                        live.kick.cancel();
                        live.done
                    })
            };
            let Some(done) = done else { break };
            let _ = tokio::time::timeout(RELEASE_WAIT, done.cancelled()).await;
        }
        let mut st = self.lock();
        if let Some(key) = st.sessions.key_of(client_id) {
            if let Some(s) = st.sessions.get_mut(key) {
                let will = s.will.as_ref().map(|w| StoredWill::Due {
                    msg: w.msg.clone(),
                    at: w.at,
                });
                if s.sid != 0 {
                    let rec = record(s, will);
                    let sid = s.sid;
                    st.ops.push(rec);
                    st.ops.push(Op::Cluster(ClusterOp::Released { sid }));
                }
            }
            self.drop_local(&mut st, key);
        }
        self.commit(&mut st)
    }

    /// Another node owns `client_id`'s session now (this node learnt it from a failed
    /// compare-and-swap): the connection is closed as taken over, the local copy dropped.
    pub fn disown(&self, client_id: &str) {
        let mut st = self.lock();
        if let Some(key) = st.sessions.key_of(client_id) {
            if let Some(live) = st.sessions.get(key).and_then(|s| s.live.clone()) {
                live.kick.cancel();
            }
            self.drop_local(&mut st, key);
            self.commit(&mut st);
        }
    }

    /// Removes a session from this node only: no will, nothing removed from the cluster.
    fn drop_local(&self, st: &mut State, key: SessionKey) {
        let Some(s) = st.sessions.remove(key) else {
            return;
        };
        for filter in s.subscriptions.keys() {
            st.subs.remove(filter, key);
            self.cluster_unsubscribed(st, key, filter);
        }
    }
}
