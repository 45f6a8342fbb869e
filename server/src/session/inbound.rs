//! Packets from the client: PUBLISH with its QoS 1/2 flows and topic aliases, the acks of
//! our own PUBLISHes, SUBSCRIBE, UNSUBSCRIBE and DISCONNECT.

use std::time::{Duration, Instant};

use tern_codec::{
    AckProperties, Disconnect, Packet, PropertyBlock, PubResp, Publish, QoS, QosPid, ReasonCode,
    SubAck, Subscribe, TopicName, UnsubAck, Unsubscribe,
};
use tokio::io::AsyncWrite;

use super::{Close, Session};
use crate::broker::subscriptions::split_shared;
use crate::broker::{Message, Stats};
use crate::connection::PacketWriter;
use crate::limits;
use crate::store::Op;

impl Session {
    pub(super) fn on_publish<W: AsyncWrite + Unpin>(
        &mut self,
        p: Publish,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        let config = self.broker.config();
        let qos = p.qos_pid.qos();
        let v5 = self.version.is_v5();
        if qos > config.max_qos() {
            return Err(Close::violation(
                ReasonCode::QoSNotSupported,
                "[MQTT-3.2.2-11] PUBLISH QoS above the server's maximum QoS",
            ));
        }
        if p.retain && !config.retain_available {
            return Err(Close::violation(
                ReasonCode::RetainNotSupported,
                "[MQTT-3.2.2-14] PUBLISH with RETAIN but retain is not available",
            ));
        }
        if !p.properties.subscription_identifiers.is_empty() {
            return Err(Close::violation(
                ReasonCode::ProtocolError,
                "[MQTT-3.3.4-6] PUBLISH from a client carries a Subscription Identifier",
            ));
        }
        let max_levels = config.max_topic_levels;
        let topic = self.resolve_alias(&p)?;
        if limits::too_many_levels(&topic, max_levels) {
            // Deep topics cost routing and retained-store work per level; Mosquitto refuses
            // beyond 200 the same way (3.1.1 has no code: the connection is closed).
            return Err(Close::violation(
                ReasonCode::TopicNameInvalid,
                format!("PUBLISH topic has more than max_topic_levels ({max_levels}) levels"),
            ));
        }
        if !self.broker.topic_fits(&topic) {
            // A cluster node sends every message as a NATS subject; NATS refuses control
            // lines over 4 KiB.
            return Err(Close::violation(
                ReasonCode::TopicNameInvalid,
                "PUBLISH topic too long for a NATS subject (cluster)",
            ));
        }

        // In a cluster, a resent QoS 2 PUBLISH whose first node died before JetStream said it
        // had stored it is published again under its recorded de-duplication id.
        let mut redo = None;
        if let QosPid::ExactlyOnce(pid) = p.qos_pid
            && self.incoming_qos2.contains(&pid)
        {
            redo = self.broker.qos2_redo(self.sid, pid);
            if redo.is_none() {
                // A resent QoS 2 PUBLISH we already own: acknowledge again, do not deliver
                // twice [MQTT-4.3.3-9, MQTT-4.3.3-10].
                // Held behind the original PUBREC if that still waits for its commit.
                return self.emit(w, Packet::PubRec(PubResp::new(pid)), 0);
            }
        }
        if qos == QoS::ExactlyOnce
            && redo.is_none()
            && self.incoming_qos2.len() >= usize::from(self.receive_max_in)
        {
            return Err(Close::violation(
                ReasonCode::ReceiveMaximumExceeded,
                if v5 {
                    "[MQTT-3.3.4-7] more QoS 2 PUBLISH in flight than our Receive Maximum"
                } else {
                    "more QoS 2 PUBLISH awaiting PUBREL than max_queued_messages"
                },
            ));
        }

        let stats = self.broker.stats();
        Stats::add(&stats.publish_received, 1);
        Stats::add(&stats.publish_bytes_received, p.payload.len() as u64);

        // Payload Format Indicator 1 promises UTF-8; we check and refuse the message with
        // 0x99 rather than forward a broken promise (section 3.3.2.3.2).
        let bad_format = v5
            && p.properties.payload_format_indicator == Some(true)
            && std::str::from_utf8(&p.payload).is_err();
        // Clients may not inject `$SYS` data; such messages are acknowledged and dropped.
        let sys = topic.starts_with("$SYS");
        let mut reason = ReasonCode::Success;
        let mut commit = 0;
        // A stored session's incoming QoS 2 id is stored with the deliveries, atomically:
        // after a crash, a resent PUBLISH is either known (no second delivery) or was never
        // routed [MQTT-4.3.3-9].
        let qos2_in = match p.qos_pid {
            // (A cluster gives every session a record; only one that outlives its connection
            // needs its QoS 2 ids kept.)
            QosPid::ExactlyOnce(pid) if self.sid != 0 && self.expiry > 0 => {
                Some(Op::Qos2In { sid: self.sid, pid })
            }
            _ => None,
        };
        let redone = redo.is_some();
        if bad_format {
            reason = ReasonCode::PayloadFormatInvalid;
        } else if !self.may_publish(&topic) {
            // acl_file refuses: v5 PUBACK / PUBREC 0x87 (section 3.4.2.1, 3.5.2.1); 3.1.1 has
            // no way to say so, so the message is acknowledged as usual and dropped
            // [MQTT-3.3.5-2], as Mosquitto does (`ack` sends Success to 3.1.1 clients).
            reason = ReasonCode::NotAuthorized;
        } else if !sys {
            // The decoded block is reused (no copy, no new allocation); Topic Alias and
            // Message Expiry are per hop and recomputed on delivery.
            let mut props = p.properties.into_box();
            let expiry = props.as_ref().and_then(|b| b.message_expiry_interval);
            if let Some(b) = props.as_mut() {
                b.topic_alias = None;
                b.message_expiry_interval = None;
            }
            let msg = Message {
                topic,
                payload: p.payload,
                qos,
                retain: p.retain,
                expires_at: expiry.map(|s| Instant::now() + Duration::from_secs(u64::from(s))),
                properties: props.filter(|b| !b.is_empty()),
                origin: Some(self.key),
            };
            let published = self.broker.publish_as(msg, qos2_in.clone(), redo);
            commit = published.commit;
            self.note_congestion(published.congestion);
            if published.matched == 0 && v5 {
                reason = ReasonCode::NoMatchingSubscribers;
            }
        }
        match p.qos_pid {
            QosPid::AtMostOnce => Ok(()),
            // PUBACK after taking ownership [MQTT-4.3.2-2]: once what it stands for is stored.
            QosPid::AtLeastOnce(pid) => {
                let ack = Packet::PubAck(self.ack(pid, reason));
                self.emit(w, ack, commit)
            }
            QosPid::ExactlyOnce(pid) => {
                // A 3.1.1 client was told Success, so its flow continues with PUBREL.
                if (!reason.is_error() || !v5) && !redone {
                    self.incoming_qos2.push(pid);
                    if commit == 0 && qos2_in.is_some() {
                        // Not routed (refused, `$SYS`, no subscriber): the id alone.
                        commit = self.broker.append(&mut qos2_in.into_iter().collect());
                    }
                }
                let rec = Packet::PubRec(self.ack(pid, reason));
                self.emit(w, rec, commit)
            }
        }
    }

    fn ack(&self, pid: tern_codec::Pid, reason: ReasonCode) -> PubResp {
        PubResp {
            pid,
            reason: if self.version.is_v5() {
                reason
            } else {
                ReasonCode::Success
            },
            properties: AckProperties::default().into(),
        }
    }

    /// Resolves or records a v5 Topic Alias [MQTT-3.3.2-10..12].
    fn resolve_alias(&mut self, p: &Publish) -> Result<TopicName, Close> {
        let Some(alias) = p.properties.topic_alias else {
            return Ok(p.topic.clone());
        };
        if alias.get() > self.max_alias_in {
            return Err(Close::violation(
                ReasonCode::TopicAliasInvalid,
                "[MQTT-3.3.2-9] Topic Alias greater than our Topic Alias Maximum",
            ));
        }
        let idx = usize::from(alias.get() - 1);
        if p.topic.is_empty() {
            return self.aliases_in.get(idx).cloned().flatten().ok_or_else(|| {
                Close::violation(
                    ReasonCode::ProtocolError,
                    "(section 3.3.2.3.4) empty topic with a Topic Alias that is not set",
                )
            });
        }
        if self.aliases_in.len() <= idx {
            self.aliases_in.resize(idx + 1, None);
        }
        self.aliases_in[idx] = Some(p.topic.clone());
        Ok(p.topic.clone())
    }

    pub(super) fn on_puback(&mut self, r: PubResp) -> Result<(), Close> {
        match self.inflight.iter().position(|f| f.pid == r.pid) {
            Some(i) if self.inflight[i].delivery.qos == QoS::AtLeastOnce => {
                if let Some(f) = self.inflight.remove(i) {
                    self.forget(f.delivery.stored);
                }
                self.want_pull = true;
            }
            _ => {
                tracing::debug!(client_id = %self.client_id, pid = r.pid.get(), "PUBACK for an unknown packet id ignored")
            }
        }
        Ok(())
    }

    pub(super) fn on_pubrec<W: AsyncWrite + Unpin>(
        &mut self,
        r: PubResp,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        let found = self
            .inflight
            .iter()
            .position(|f| f.pid == r.pid && f.delivery.qos == QoS::ExactlyOnce);
        let Some(i) = found else {
            // Unknown id: PUBREL 0x92 Packet Identifier not found (section 3.6.2.1).
            let rel = self.ack(r.pid, ReasonCode::PacketIdentifierNotFound);
            return self.send(w, &Packet::PubRel(rel));
        };
        if r.reason.is_error() {
            // The receiver refused the message: the flow ends here (section 4.3.3).
            if let Some(f) = self.inflight.remove(i) {
                self.forget(f.delivery.stored);
            }
            self.want_pull = true;
            return Ok(());
        }
        self.inflight[i].released = true;
        // Stored before PUBREL goes out: after a restart the receiver gets PUBREL again,
        // never the PUBLISH it may already have completed [MQTT-4.3.3-4].
        let mut commit = 0;
        if let (sid @ 1.., Some(e)) = (self.sid, self.inflight[i].delivery.stored) {
            commit = self.broker.append(&mut vec![Op::Sent {
                sid,
                seq: e.seq,
                pid: r.pid,
                released: true,
            }]);
        }
        self.emit(w, Packet::PubRel(PubResp::new(r.pid)), commit)
    }

    pub(super) fn on_pubcomp(&mut self, r: PubResp) -> Result<(), Close> {
        match self
            .inflight
            .iter()
            .position(|f| f.pid == r.pid && f.released)
        {
            Some(i) => {
                if let Some(f) = self.inflight.remove(i) {
                    self.forget(f.delivery.stored);
                }
                self.want_pull = true;
            }
            None => tracing::debug!(
                client_id = %self.client_id,
                pid = r.pid.get(),
                "PUBCOMP for an unknown packet id ignored"
            ),
        }
        Ok(())
    }

    pub(super) fn on_pubrel<W: AsyncWrite + Unpin>(
        &mut self,
        r: PubResp,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        let mut commit = 0;
        let reason = match self.incoming_qos2.iter().position(|p| *p == r.pid) {
            Some(i) => {
                self.incoming_qos2.swap_remove(i);
                if self.sid != 0 && self.expiry > 0 {
                    // Released in the store before PUBCOMP: a stale id would make a later
                    // PUBLISH that reuses it look like a resend, and drop it.
                    let op = Op::Qos2Released {
                        sid: self.sid,
                        pid: r.pid,
                    };
                    commit = self.broker.append(&mut vec![op]);
                }
                ReasonCode::Success
            }
            None => ReasonCode::PacketIdentifierNotFound,
        };
        // PUBCOMP with the same packet id [MQTT-4.3.3-11].
        let comp = Packet::PubComp(self.ack(r.pid, reason));
        self.emit(w, comp, commit)
    }

    pub(super) fn on_subscribe<W: AsyncWrite + Unpin>(
        &mut self,
        s: Subscribe,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        let config = self.broker.config();
        let max_qos = config.max_qos();
        let mut reasons = Vec::with_capacity(s.filters.len());
        let mut granted = Vec::with_capacity(s.filters.len());
        // Index in `reasons` of each granted filter, to apply the broker's quota verdict.
        let mut slots = Vec::with_capacity(s.filters.len());
        for (filter, mut options) in s.filters {
            let inner = split_shared(filter.as_str()).1;
            if limits::too_many_levels(inner, config.max_topic_levels) {
                // v5 SUBACK 0x8F Topic Filter invalid, 3.1.1 0x80 [MQTT-3.9.3-1].
                tracing::warn!(client_id = %self.client_id, levels_max = config.max_topic_levels, "refusing SUBSCRIBE filter with more than max_topic_levels levels");
                reasons.push(ReasonCode::TopicFilterInvalid);
                continue;
            }
            if !self.broker.topic_fits(inner) {
                tracing::warn!(client_id = %self.client_id, "refusing SUBSCRIBE filter too long for a NATS subject (cluster)");
                reasons.push(ReasonCode::TopicFilterInvalid);
                continue;
            }
            if !self.may_subscribe(inner) {
                // Refused by the acl_file: v5 SUBACK 0x87, 3.1.1 0x80 Failure (section
                // 3.9.3; the codec writes 0x80 for any error) [MQTT-3.9.3-1: one code per
                // filter, in order].
                reasons.push(ReasonCode::NotAuthorized);
                continue;
            }
            // Granted QoS = min(requested, maximum) [MQTT-3.8.4-8].
            options.qos = options.qos.min(max_qos);
            reasons.push(match options.qos {
                QoS::AtMostOnce => ReasonCode::Success,
                QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
                QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
            });
            slots.push(reasons.len() - 1);
            granted.push((filter, options));
        }
        // The retained messages `subscribe` queues are pulled after this returns, so the
        // SUBACK written below still goes out first [MQTT-3.8.4-1].
        let done = self
            .broker
            .subscribe(self.key, &granted, s.properties.subscription_identifier);
        for (slot, ok) in slots.into_iter().zip(done.accepted) {
            if !ok {
                // Over max_subscriptions: v5 0x97 Quota exceeded, 3.1.1 0x80.
                reasons[slot] = ReasonCode::QuotaExceeded;
            }
        }
        if reasons.contains(&ReasonCode::QuotaExceeded) {
            tracing::warn!(client_id = %self.client_id, max = config.max_subscriptions, "refusing subscriptions beyond max_subscriptions");
        }
        let ack = Packet::SubAck(SubAck {
            pid: s.pid,
            reasons,
            properties: AckProperties::default().into(),
        });
        self.emit(w, ack, done.commit)
    }

    pub(super) fn on_unsubscribe<W: AsyncWrite + Unpin>(
        &mut self,
        u: Unsubscribe,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        let (existed, commit) = self.broker.unsubscribe(self.key, &u.filters);
        let reasons = if self.version.is_v5() {
            existed
                .into_iter()
                .map(|e| {
                    if e {
                        ReasonCode::Success
                    } else {
                        ReasonCode::NoSubscriptionExisted
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let ack = Packet::UnsubAck(UnsubAck {
            pid: u.pid,
            reasons,
            properties: AckProperties::default().into(),
        });
        self.emit(w, ack, commit)
    }

    /// Removes a delivered (or discarded) message from the durable store. Nobody waits
    /// for this commit: at worst a crash resends a message already acknowledged, which QoS 1
    /// allows and QoS 2 handles with the stored packet id.
    pub(super) fn forget(&mut self, stored: Option<crate::store::Stored>) {
        if let (sid @ 1.., Some(e)) = (self.sid, stored) {
            self.broker.append(&mut vec![Op::Dequeue {
                sid,
                seq: e.seq,
                mid: e.mid,
            }]);
        }
    }

    pub(super) fn on_disconnect(&mut self, d: Disconnect) -> Close {
        if let Some(expiry) = d.properties.session_expiry_interval {
            if self.connect_expiry_zero && expiry != 0 {
                return Close::violation(
                    ReasonCode::ProtocolError,
                    "[MQTT-3.14.2-2] DISCONNECT sets a Session Expiry Interval after CONNECT had 0",
                );
            }
            self.expiry = self.broker.config().granted_session_expiry(expiry);
        }
        // Only a normal disconnection (0x00) discards the will [MQTT-3.14.4-3]; 0x04 asks
        // for it explicitly.
        Close::Disconnect {
            send_will: self.version.is_v5() && d.reason != ReasonCode::Success,
        }
    }
}
