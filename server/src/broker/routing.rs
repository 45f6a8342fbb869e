//! Routing: a PUBLISH into the retained store and every matching subscriber's queue, and
//! SUBSCRIBE / UNSUBSCRIBE. With a durable store, what a persistent session must not lose
//! (its subscriptions, its QoS 1/2 deliveries) and retained messages are appended as ops in
//! the same locked section.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;
use tern_codec::{QoS, RetainHandling, SubscriptionOptions, TopicFilter};

use super::subscriptions::{Subscriber, split_shared};
use super::{Broker, Commit, Congestion, Delivery, Message, Published, SessionKey, State, Stats};
use crate::store::{Op, Pushed, SessionStore, Stored};

/// The outcome of [`Broker::subscribe`].
#[derive(Debug)]
pub struct Subscribed {
    /// Per filter, whether it was accepted (a new filter beyond `max_subscriptions` is not).
    pub accepted: Vec<bool>,
    /// The commit that holds the subscriptions (SUBACK waits for it).
    pub commit: Commit,
}

/// Per routed message: the stored body's id, once a persistent queue took it (in a
/// cluster: the message's position in the message stream).
#[derive(Default)]
pub(super) struct Body(pub(super) Option<u64>);

/// How a message is routed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Route {
    /// Shared subscriptions get it too (not in a cluster: NATS chooses their member).
    pub shared: bool,
    /// Its position in the cluster's message stream (0: none).
    pub seq: u64,
}

impl Route {
    /// A single broker's routing.
    pub const LOCAL: Route = Route {
        shared: true,
        seq: 0,
    };
}

impl Broker {
    /// Routes `msg` to every matching subscription and updates the retained store when the
    /// RETAIN flag is set. `also` is appended atomically with the routing (the publisher's
    /// incoming QoS 2 id: stored together with the deliveries, or neither).
    pub fn publish(&self, msg: Message, also: Option<Op>) -> Published {
        self.publish_as(msg, also, None)
    }

    /// [`Broker::publish`]; in a cluster, `id` is the recorded JetStream de-duplication id
    /// of an incoming QoS 2 PUBLISH resent after its first node died (see `cluster.rs`).
    pub fn publish_as(&self, msg: Message, also: Option<Op>, id: Option<ByteString>) -> Published {
        let msg = Arc::new(msg);
        let mut st = self.lock();
        let mut congestion = None;
        let qos2 = match &also {
            Some(Op::Qos2In { sid, pid }) => Some((*sid, *pid)),
            _ => None,
        };
        let matched = self.dispatch_with(&mut st, &msg, &mut congestion, qos2, id);
        if self.inner.durable {
            st.ops.extend(also);
        }
        Published {
            matched,
            congestion,
            commit: self.commit(&mut st),
        }
    }

    /// Retains and routes a message published on this node (by a client, a will, `$SYS`).
    /// In a cluster it also goes to the other nodes (see `cluster.rs`).
    pub(super) fn dispatch(
        &self,
        st: &mut State,
        msg: &Arc<Message>,
        congestion: &mut Option<Congestion>,
    ) -> usize {
        self.dispatch_with(st, msg, congestion, None, None)
    }

    fn dispatch_with(
        &self,
        st: &mut State,
        msg: &Arc<Message>,
        congestion: &mut Option<Congestion>,
        qos2: Option<(u64, tern_codec::Pid)>,
        id: Option<ByteString>,
    ) -> usize {
        self.retain(st, msg);
        match &self.inner.cluster {
            Some(link) if !super::node_local(msg) => {
                self.dispatch_cluster(st, link, msg, congestion, qos2, id)
            }
            _ => self.route(st, msg, congestion, Route::LOCAL),
        }
    }

    /// Stores or clears the retained message of `msg`'s topic when it has RETAIN set. In a
    /// cluster the retained stream is the one copy: every node (this one too) applies it
    /// from there, in the stream's order.
    pub(super) fn retain(&self, st: &mut State, msg: &Arc<Message>) {
        if !(msg.retain && self.inner.config.retain_available) {
            return;
        }
        if self.inner.cluster.is_some() && !super::node_local(msg) {
            st.ops.push(Op::Retain {
                topic: msg.topic.as_bytestring().clone(),
                msg: (!msg.payload.is_empty()).then(|| Arc::clone(msg)),
            });
            return;
        }
        st.retained.set(msg);
        if self.inner.durable && !super::is_sys(msg) {
            st.ops.push(Op::Retain {
                topic: msg.topic.as_bytestring().clone(),
                msg: (!msg.payload.is_empty()).then(|| Arc::clone(msg)),
            });
        }
    }

    pub(super) fn route(
        &self,
        st: &mut State,
        msg: &Arc<Message>,
        congestion: &mut Option<Congestion>,
        how: Route,
    ) -> usize {
        let State {
            sessions,
            subs,
            scratch,
            ops,
            ..
        } = st;
        scratch.clear();
        subs.matches(
            &msg.topic,
            &|k| sessions.get(k).is_some_and(|s| s.live.is_some()),
            scratch,
        );
        // No Local: never back to the publishing session [MQTT-3.8.3-3]. In a cluster,
        // shared subscriptions are served through NATS queue groups instead (one member
        // cluster-wide).
        scratch.retain(|m| !(m.no_local && Some(m.key) == msg.origin) && (how.shared || !m.shared));
        if scratch.len() > 1 {
            scratch.sort_unstable_by_key(|m| (m.shared, m.key));
        }
        let mut body = Body((how.seq != 0).then_some(how.seq));
        let mut delivered = 0;
        let mut i = 0;
        while i < scratch.len() {
            let first = scratch[i];
            let mut qos = first.qos;
            let mut rap = first.retain_as_published;
            let mut ids: Vec<NonZeroU32> = first.id.into_iter().collect();
            let mut j = i + 1;
            // Overlapping subscriptions of one session: one copy at the highest QoS with
            // every Subscription Identifier [MQTT-3.3.4-2, MQTT-3.3.4-3].
            while !first.shared && j < scratch.len() && !scratch[j].shared {
                let m = scratch[j];
                if m.key != first.key {
                    break;
                }
                qos = qos.max(m.qos);
                rap |= m.retain_as_published;
                ids.extend(m.id);
                j += 1;
            }
            i = j;
            if how.seq != 0 && sessions.get(first.key).is_some_and(|s| s.hwm >= how.seq) {
                // Already queued when the session came over from another node.
                continue;
            }
            let d = Delivery {
                msg: Arc::clone(msg),
                qos: msg.qos.min(qos),
                // Live messages go out with RETAIN 0 unless Retain As Published
                // [MQTT-3.3.1-12, MQTT-3.3.1-13].
                retain: rap && msg.retain,
                sub_ids: ids,
                stored: None,
            };
            if self.enqueue(sessions, ops, &mut body, first.key, d, congestion, how.seq) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Pushes into one session's bounded queue. Offline sessions keep only QoS 1/2 (and QoS
    /// 0 with `queue_qos0_messages`). A persistent session's QoS 1/2 deliveries (and its
    /// offline QoS 0 ones) are stored; in a cluster, its QoS 1/2 deliveries from the message
    /// stream (`seq`, 0 for none) are noted so that another node can take them over. Reports
    /// the first live subscriber whose queue passed the congestion mark.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn enqueue(
        &self,
        sessions: &mut SessionStore,
        ops: &mut Vec<Op>,
        body: &mut Body,
        key: SessionKey,
        mut d: Delivery,
        congestion: &mut Option<Congestion>,
        seq: u64,
    ) -> bool {
        let config = &self.inner.config;
        let Some(s) = sessions.get_mut(key) else {
            return false;
        };
        let offline = s.live.is_none();
        if offline && d.qos == QoS::AtMostOnce && !config.queue_qos0_messages {
            return true;
        }
        let store = if self.inner.cluster.is_none() {
            self.inner.durable && s.sid != 0 && (d.qos != QoS::AtMostOnce || offline)
        } else {
            seq != 0 && d.qos != QoS::AtMostOnce && s.sid != 0 && s.expiry > 0
        };
        let mut entry = None;
        if store {
            let mid = *body.0.get_or_insert_with(|| {
                let mid = self.inner.store.next_mid();
                ops.push(Op::Message {
                    mid,
                    msg: Arc::clone(&d.msg),
                });
                mid
            });
            s.next_seq += 1;
            d.stored = Some(Stored {
                seq: s.next_seq,
                mid,
            });
            entry = Some(Op::Enqueue {
                sid: s.sid,
                seq: s.next_seq,
                mid,
                qos: d.qos,
                retain: d.retain,
                sub_ids: d.sub_ids.clone(),
            });
        }
        let mut evicted = Vec::new();
        match s.queue.push(
            d,
            config.max_queued_messages,
            config.max_queued_bytes,
            &mut evicted,
        ) {
            Pushed::Queued => ops.extend(entry),
            Pushed::DroppedOldQos0 => {
                ops.extend(entry);
                Stats::add(&self.inner.stats.publish_dropped, 1);
            }
            Pushed::DroppedNew => Stats::add(&self.inner.stats.publish_dropped, 1),
        }
        for e in evicted {
            ops.push(Op::Dequeue {
                sid: s.sid,
                seq: e.seq,
                mid: e.mid,
            });
        }
        if let Some(live) = &s.live {
            live.notify.notify_one();
            let limit = config.max_queued_messages;
            if limit > 0 && !s.slow && s.queue.len() >= self.congestion_mark() {
                s.congested = true;
                if congestion.is_none() {
                    *congestion = Some(Congestion {
                        key,
                        drained: Arc::clone(&live.drained),
                    });
                }
            }
        }
        true
    }

    /// Adds subscriptions for `key` with the options already granted, then queues the
    /// matching retained messages as Retain Handling asks [MQTT-3.3.1-9, MQTT-3.8.4-4].
    /// A new filter beyond `max_subscriptions` is not accepted (replacing an existing one
    /// always is).
    pub fn subscribe(
        &self,
        key: SessionKey,
        filters: &[(TopicFilter, SubscriptionOptions)],
        id: Option<NonZeroU32>,
    ) -> Subscribed {
        let now = Instant::now();
        let retain_available = self.inner.config.retain_available;
        let quota = match self.inner.config.max_subscriptions {
            0 => usize::MAX,
            n => n,
        };
        let mut st = self.lock();
        let mut accepted = Vec::with_capacity(filters.len());
        let mut retained = std::mem::take(&mut st.scratch_retained);
        for (filter, options) in filters {
            let Some(s) = st.sessions.get(key) else {
                accepted.push(false);
                continue;
            };
            let ok = s.subscriptions.len() < quota || s.subscriptions.contains_key(filter.as_str());
            accepted.push(ok);
            if !ok {
                continue;
            }
            let sid = s.sid;
            let existed = st.subs.insert(
                filter.as_str(),
                Subscriber {
                    key,
                    options: *options,
                    id,
                },
            );
            if let Some(s) = st.sessions.get_mut(key) {
                s.subscriptions
                    .insert(filter.as_str().into(), (*options, id));
            }
            if self.inner.durable && sid != 0 {
                st.ops.push(Op::Subscribe {
                    sid,
                    filter: filter.as_str().into(),
                    options: *options,
                    id,
                });
            }
            if self.inner.cluster.is_some() {
                self.cluster_subscribed(&mut st, key, sid, filter.as_str(), existed);
            }
            let (group, inner) = split_shared(filter.as_str());
            let send = match options.retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendIfNewSubscription => !existed,
                RetainHandling::DoNotSend => false,
            };
            // Retained messages are not sent for shared subscriptions (section 4.8.2).
            if !send || group.is_some() || !retain_available {
                continue;
            }
            retained.clear();
            st.retained.matching(inner, now, &mut retained);
            let State { sessions, ops, .. } = &mut *st;
            for msg in retained.drain(..) {
                let d = Delivery {
                    qos: msg.qos.min(options.qos),
                    msg,
                    retain: true,
                    sub_ids: id.into_iter().collect(),
                    stored: None,
                };
                // Retained messages answer this subscriber's own SUBSCRIBE: no publisher to
                // slow down.
                self.enqueue(sessions, ops, &mut Body::default(), key, d, &mut None, 0);
            }
        }
        st.scratch_retained = retained;
        Subscribed {
            accepted,
            commit: self.commit(&mut st),
        }
    }

    /// Removes subscriptions; for each filter, whether it existed [MQTT-3.10.4-5]; and the
    /// commit that holds the removal.
    pub fn unsubscribe(&self, key: SessionKey, filters: &[TopicFilter]) -> (Vec<bool>, Commit) {
        let mut st = self.lock();
        let mut existed = Vec::with_capacity(filters.len());
        for f in filters {
            let removed = st.subs.remove(f.as_str(), key);
            let mut sid = 0;
            if let Some(s) = st.sessions.get_mut(key) {
                s.subscriptions.remove(f.as_str());
                sid = s.sid;
            }
            if removed && self.inner.durable && sid != 0 {
                st.ops.push(Op::Unsubscribe {
                    sid,
                    filter: f.as_str().into(),
                });
            }
            if removed && self.inner.cluster.is_some() {
                self.cluster_unsubscribed(&mut st, key, f.as_str());
            }
            existed.push(removed);
        }
        let commit = self.commit(&mut st);
        (existed, commit)
    }
}
