//! Writes the snapshot body (layout in `super`'s docs and the README's "Persistence").

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tern_codec::{Packet, Pid, Props, Publish, QoS, QosPid, Version};

use super::wire::Writer;
use crate::store::image::{Clock, Image, SessionImage};
use crate::store::{Delivery, Message};

/// Message table: one entry per distinct `Arc<Message>`.
#[derive(Default)]
struct Table {
    index: HashMap<*const Message, u32>,
    messages: Vec<Arc<Message>>,
}

impl Table {
    fn add(&mut self, m: &Arc<Message>) -> u32 {
        let next = u32::try_from(self.messages.len()).unwrap_or(u32::MAX);
        *self.index.entry(Arc::as_ptr(m)).or_insert_with(|| {
            self.messages.push(Arc::clone(m));
            next
        })
    }
}

/// Encodes the snapshot body; `clock` is the moment the snapshot was taken. Fails only if a
/// message cannot be encoded as a PUBLISH, and then nothing is written (the previous
/// snapshot stays).
pub fn encode(s: &Image, clock: Clock) -> Result<Bytes, String> {
    let mut table = Table::default();
    let retained: Vec<u32> = s.retained.iter().map(|m| table.add(m)).collect();
    // Deliveries first (they fill the table), the table is written before them.
    let mut sessions = Writer::default();
    sessions.count(s.sessions.len());
    for img in &s.sessions {
        encode_session(&mut sessions, img, clock, &mut table);
    }
    let mut w = Writer::default();
    w.u64(clock.unix_ms);
    w.count(table.messages.len());
    for m in &table.messages {
        encode_message(&mut w, m, clock)?;
    }
    w.count(retained.len());
    for i in retained {
        w.u32(i);
    }
    w.buf.extend_from_slice(&sessions.buf);
    Ok(w.buf.freeze())
}

fn encode_message(w: &mut Writer, m: &Message, clock: Clock) -> Result<(), String> {
    let mut properties = m.properties.clone();
    if let Some(p) = properties.as_mut() {
        // Kept as an absolute time below; recomputed on delivery [MQTT-3.3.2-6].
        p.message_expiry_interval = None;
        p.topic_alias = None;
        p.subscription_identifiers.clear();
    }
    let qos_pid = QosPid::from_parts(m.qos, Pid::new(1).filter(|_| m.qos != QoS::AtMostOnce))
        .unwrap_or(QosPid::AtMostOnce);
    let publish = Publish {
        dup: false,
        qos_pid,
        retain: m.retain,
        topic: m.topic.clone(),
        payload: m.payload.clone(),
        properties: properties.map_or_else(Props::none, Props::from),
    };
    let mut buf = BytesMut::new();
    tern_codec::encode(&Packet::Publish(publish), Version::V5, &mut buf)
        .map_err(|e| format!("cannot encode the message on {}: {e}", m.topic.as_str()))?;
    w.opt_u64(m.expires_at.map(|at| clock.to_unix(at)));
    w.bytes(&buf);
    Ok(())
}

fn encode_delivery(w: &mut Writer, d: &Delivery, table: &mut Table) {
    w.u32(table.add(&d.msg));
    w.u8(d.qos as u8);
    w.bool(d.retain);
    w.count(d.sub_ids.len());
    for id in &d.sub_ids {
        w.u32(id.get());
    }
}

fn encode_session(w: &mut Writer, s: &SessionImage, clock: Clock, table: &mut Table) {
    w.bytes(s.client_id.as_bytes());
    w.u32(s.expiry);
    w.u64(
        s.disconnected_at
            .map_or(clock.unix_ms, |t| clock.to_unix(t)),
    );
    w.count(s.subscriptions.len());
    for (filter, opts, id) in &s.subscriptions {
        w.bytes(filter.as_bytes());
        w.u8(opts.to_byte());
        w.u32(id.map_or(0, NonZeroU32::get));
    }
    w.count(s.queue.len());
    for d in &s.queue {
        encode_delivery(w, d, table);
    }
    w.count(s.inflight.len());
    for f in &s.inflight {
        w.u16(f.pid.get());
        w.bool(f.released);
        encode_delivery(w, &f.delivery, table);
    }
    w.count(s.incoming_qos2.len());
    for p in &s.incoming_qos2 {
        w.u16(p.get());
    }
    match &s.will {
        Some((msg, at)) => {
            w.u8(1);
            // A will is not shared with anything else: its own table entry.
            w.u32(u32::try_from(table.messages.len()).unwrap_or(u32::MAX));
            table.messages.push(Arc::new(msg.clone()));
            w.u64(clock.to_unix(*at));
        }
        None => w.u8(0),
    }
}
