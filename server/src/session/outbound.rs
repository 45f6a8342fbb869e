//! Messages to the client: the in-flight window (the client's Receive Maximum, v5
//! [MQTT-3.3.4-9]), packet id allocation, message expiry on delivery, outgoing topic aliases
//! and the client's Maximum Packet Size [MQTT-3.1.2-24, MQTT-3.1.2-25].

use std::time::Instant;

use tern_codec::{Packet, Pid, PubResp, Publish, PublishProperties, QoS, QosPid, TopicName};
use tokio::io::AsyncWrite;

use super::{Close, PULL_BATCH, Session};
use crate::broker::{Delivery, Inflight, Stats};
use crate::connection::PacketWriter;
use crate::store::Op;

impl Session {
    /// Moves queued messages into the write buffer, as far as the in-flight window allows.
    /// Returns whether anything was taken from the queue.
    pub(super) fn pull<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut PacketWriter<W>,
    ) -> Result<bool, Close> {
        let room = self.window.saturating_sub(self.inflight.len());
        let mut batch = std::mem::take(&mut self.pull_buf);
        let more = self.broker.drain(self.key, room, PULL_BATCH, &mut batch);
        let now = Instant::now();
        let progress = !batch.is_empty();
        let mut result = Ok(progress);
        for d in batch.drain(..) {
            if result.is_ok() {
                result = self.send_delivery(d, w, now).map(|()| progress);
            }
        }
        // Keep a small buffer for the next pull; release a large one (idle memory).
        if batch.capacity() <= 4 {
            self.pull_buf = batch;
        }
        // Stays set while messages wait for window room; an ack or write progress retries.
        self.want_pull = more;
        result
    }

    fn send_delivery<W: AsyncWrite + Unpin>(
        &mut self,
        d: Delivery,
        w: &mut PacketWriter<W>,
        now: Instant,
    ) -> Result<(), Close> {
        let stats = self.broker.stats();
        if !self.may_read(d.msg.topic.as_str()) {
            // Not readable under the acl_file: never sent, whichever way it came (live,
            // retained on SUBSCRIBE, a will, $SYS).
            tracing::debug!(client_id = %self.client_id, topic = %d.msg.topic, "delivery denied by acl_file");
            self.forget(d.stored);
            return Ok(());
        }
        if d.msg.is_expired(now) {
            // Expired messages are not delivered [MQTT-3.3.2-5].
            Stats::add(&stats.publish_dropped, 1);
            self.forget(d.stored);
            return Ok(());
        }
        let pid = match d.qos {
            QoS::AtMostOnce => None,
            _ => Some(self.free_pid()),
        };
        let (mut publish, new_alias) = self.build_publish(&d, pid, false, now);
        if !self.fits(&publish) && new_alias.is_some() {
            // Try without registering a new alias (the topic is sent in full either way).
            publish.properties.topic_alias = None;
        }
        if !self.fits(&publish) {
            // Never send a packet larger than the client's Maximum Packet Size; the message
            // is discarded as if delivered [MQTT-3.1.2-25].
            tracing::debug!(client_id = %self.client_id, topic = %d.msg.topic, "message larger than the client's Maximum Packet Size dropped");
            Stats::add(&stats.publish_dropped, 1);
            self.forget(d.stored);
            return Ok(());
        }
        if let Some(alias) = new_alias.filter(|_| publish.properties.topic_alias.is_some()) {
            self.aliases_out
                .insert(d.msg.topic.as_bytestring().clone(), alias);
        }
        Stats::add(&stats.publish_sent, 1);
        Stats::add(&stats.publish_bytes_sent, d.msg.payload.len() as u64);
        // A stored QoS 2 message leaves only once its packet id is stored: after a restart
        // it is resent with the same id, which the receiver recognises [MQTT-4.3.3-9]; a new
        // id would deliver it twice. (QoS 1 ids are stored when the connection ends.)
        let mut commit = 0;
        if let (sid @ 1.., Some(e), Some(pid)) = (self.sid, d.stored, pid)
            && d.qos == QoS::ExactlyOnce
        {
            commit = self.broker.append(&mut vec![Op::Sent {
                sid,
                seq: e.seq,
                pid,
                released: false,
            }]);
        }
        if d.qos == QoS::AtMostOnce {
            // Delivered: a stored QoS 0 message (queued offline) is done.
            self.forget(d.stored);
        }
        self.emit(w, Packet::Publish(publish), commit)?;
        if let Some(pid) = pid {
            self.next_pid = pid.next();
            self.inflight.push_back(Inflight {
                pid,
                delivery: d,
                released: false,
            });
        }
        Ok(())
    }

    /// The PUBLISH for a delivery, and the alias it would newly register.
    fn build_publish(
        &self,
        d: &Delivery,
        pid: Option<Pid>,
        dup: bool,
        now: Instant,
    ) -> (Publish, Option<u16>) {
        let msg = &d.msg;
        let qos_pid = match (d.qos, pid) {
            (QoS::AtLeastOnce, Some(p)) => QosPid::AtLeastOnce(p),
            (QoS::ExactlyOnce, Some(p)) => QosPid::ExactlyOnce(p),
            _ => QosPid::AtMostOnce,
        };
        let mut topic = msg.topic.clone();
        let mut properties = PublishProperties::default();
        let mut new_alias = None;
        if self.version.is_v5() {
            if let Some(p) = &msg.properties {
                properties = PublishProperties::clone(p);
            }
            // The remaining lifetime, not the original interval [MQTT-3.3.2-6].
            properties.message_expiry_interval = msg.remaining_expiry(now);
            properties.subscription_identifiers = d.sub_ids.clone();
            if !dup && self.max_alias_out > 0 {
                match self.aliases_out.get(msg.topic.as_str()) {
                    Some(&alias) => {
                        properties.topic_alias = std::num::NonZeroU16::new(alias);
                        topic = TopicName::empty();
                    }
                    None if self.aliases_out.len() < usize::from(self.max_alias_out) => {
                        let alias = self.aliases_out.len() as u16 + 1;
                        properties.topic_alias = std::num::NonZeroU16::new(alias);
                        new_alias = Some(alias);
                    }
                    None => {}
                }
            }
        }
        let publish = Publish {
            dup,
            qos_pid,
            retain: d.retain,
            topic,
            payload: msg.payload.clone(),
            properties: properties.into(),
        };
        (publish, new_alias)
    }

    fn fits(&self, publish: &Publish) -> bool {
        if self.client_max_packet >= crate::config::PROTOCOL_MAX_PACKET_SIZE {
            return true;
        }
        // The Publish is cloned cheaply (Bytes / ByteString are reference counted).
        tern_codec::encoded_len(&Packet::Publish(publish.clone()), self.version)
            .is_ok_and(|n| n <= self.client_max_packet as usize)
    }

    /// A packet id not used by any in-flight message [MQTT-2.2.1-3].
    fn free_pid(&self) -> Pid {
        let mut pid = self.next_pid;
        while self.inflight.iter().any(|f| f.pid == pid) {
            pid = pid.next();
        }
        pid
    }

    /// After a resumed CONNECT: resend unacknowledged PUBLISH with DUP = 1 and PUBREL for
    /// released QoS 2 messages, in their original order [MQTT-4.4.0-1, MQTT-4.6.0-1].
    pub(super) fn resend_inflight<W: AsyncWrite + Unpin>(&mut self, w: &mut PacketWriter<W>) {
        let now = Instant::now();
        let inflight = std::mem::take(&mut self.inflight);
        for f in inflight {
            let packet = if f.released {
                Packet::PubRel(PubResp::new(f.pid))
            } else {
                let (publish, _) = self.build_publish(&f.delivery, Some(f.pid), true, now);
                if !self.fits(&publish) {
                    Stats::add(&self.broker.stats().publish_dropped, 1);
                    self.forget(f.delivery.stored);
                    continue;
                }
                Packet::Publish(publish)
            };
            if self.emit(w, packet, 0).is_ok() {
                self.next_pid = f.pid.next();
                self.inflight.push_back(f);
            }
        }
    }
}
