//! Reads the snapshot body back, applying the time that passed while the broker was down.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use tern_codec::{
    DecodeConfig, Packet, Pid, PropertyBlock, QoS, RetainHandling, SubscriptionOptions, Version,
};

use super::wire::{Malformed, Reader, Result};
use crate::store::NEVER_EXPIRES;
use crate::store::image::{Clock, Image, SessionImage};
use crate::store::{Delivery, Inflight, Message};

/// A decoded message and its absolute expiry (UNIX ms), before the clock is applied.
struct Loaded {
    msg: Arc<Message>,
    expired: bool,
}

/// Decodes a snapshot body at `clock` (the load time): expiry times that passed while the
/// broker was down are applied here — expired retained and queued messages are left out
/// [MQTT-3.3.2-5], sessions whose expiry interval ran out are left out [MQTT-3.1.2-23], and
/// remaining intervals become `Instant`s.
pub fn decode(body: Bytes, clock: Clock, max_packet: u32) -> Result<Image> {
    let mut r = Reader::new(body);
    let _saved_at = r.u64("saved-at time")?;
    let n = r.count(6, "message count")?;
    let mut table = Vec::with_capacity(n);
    for _ in 0..n {
        table.push(decode_message(&mut r, clock, max_packet)?);
    }
    let get = |i: u32| -> Result<&Loaded> {
        table
            .get(i as usize)
            .ok_or_else(|| Malformed::new(format!("message index {i} out of range")))
    };
    let mut snap = Image::default();
    let n = r.count(4, "retained count")?;
    for _ in 0..n {
        let m = get(r.u32("retained index")?)?;
        if !m.expired {
            snap.retained.push(Arc::clone(&m.msg));
        }
    }
    let n = r.count(24, "session count")?;
    for _ in 0..n {
        snap.sessions.push(decode_session(&mut r, clock, &get)?);
    }
    if r.remaining() != 0 {
        return Err(Malformed::new(format!(
            "{} unexpected bytes after the last session",
            r.remaining()
        )));
    }
    Ok(snap)
}

fn decode_message(r: &mut Reader, clock: Clock, max_packet: u32) -> Result<Loaded> {
    let expires = r.opt_u64("message expiry")?;
    let raw = r.bytes("message")?;
    let cfg = DecodeConfig {
        version: Version::V5,
        max_packet_size: max_packet,
    };
    let mut buf = BytesMut::from(&raw[..]);
    let p = match tern_codec::decode(&mut buf, &cfg) {
        Ok(Some(Packet::Publish(p))) if buf.is_empty() => p,
        Ok(_) => return Err(Malformed::new("message entry is not one PUBLISH packet")),
        Err(e) => return Err(Malformed::new(format!("message entry: {e}"))),
    };
    let left = expires.map(|ms| clock.left(ms));
    Ok(Loaded {
        expired: matches!(left, Some(None)),
        msg: Arc::new(Message {
            topic: p.topic,
            payload: p.payload,
            qos: p.qos_pid.qos(),
            retain: p.retain,
            properties: p.properties.into_box().filter(|b| !b.is_empty()),
            origin: None,
            // An expired in-flight message keeps an expiry in the past (it is still resent,
            // onward delivery had started).
            expires_at: left.map(|l| clock.instant + l.unwrap_or_default()),
        }),
    })
}

fn qos(v: u8, what: &str) -> Result<QoS> {
    QoS::try_from(v).map_err(|_| Malformed::new(format!("{what}: invalid QoS {v}")))
}

fn decode_delivery<'a>(
    r: &mut Reader,
    get: &impl Fn(u32) -> Result<&'a Loaded>,
) -> Result<(Delivery, bool)> {
    let m = get(r.u32("delivery message")?)?;
    let q = qos(r.u8("delivery QoS")?, "delivery")?;
    let retain = r.bool("delivery retain")?;
    let n = r.count(4, "subscription identifiers")?;
    let mut sub_ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = r.u32("subscription identifier")?;
        sub_ids.extend(NonZeroU32::new(id));
    }
    let d = Delivery {
        msg: Arc::clone(&m.msg),
        qos: q,
        retain,
        sub_ids,
        stored: None,
    };
    Ok((d, m.expired))
}

fn pid(r: &mut Reader, what: &str) -> Result<Pid> {
    let v = r.u16(what)?;
    Pid::new(v).ok_or_else(|| Malformed::new(format!("{what}: packet identifier 0")))
}

fn decode_session<'a>(
    r: &mut Reader,
    clock: Clock,
    get: &impl Fn(u32) -> Result<&'a Loaded>,
) -> Result<SessionImage> {
    let raw_id = r.bytes("client id")?;
    let client_id =
        ByteString::try_from(raw_id).map_err(|_| Malformed::new("client id is not UTF-8"))?;
    let expiry = r.u32("session expiry")?;
    let gone_since = clock.since(r.u64("disconnect time")?);
    let mut s = SessionImage {
        sid: 0,
        client_id,
        expiry,
        disconnected_at: Some(clock.instant),
        subscriptions: Vec::new(),
        queue: Vec::new(),
        inflight: Vec::new(),
        incoming_qos2: Vec::new(),
        will: None,
        expired: false,
    };
    let n = r.count(9, "subscription count")?;
    for _ in 0..n {
        let raw = r.bytes("topic filter")?;
        let filter =
            ByteString::try_from(raw).map_err(|_| Malformed::new("topic filter is not UTF-8"))?;
        let b = r.u8("subscription options")?;
        let retain_handling = RetainHandling::try_from((b >> 4) & 3)
            .map_err(|v| Malformed::new(format!("retain handling {v}")))?;
        let opts = SubscriptionOptions {
            qos: qos(b & 3, "subscription")?,
            no_local: b & 4 != 0,
            retain_as_published: b & 8 != 0,
            retain_handling,
        };
        let id = NonZeroU32::new(r.u32("subscription identifier")?);
        s.subscriptions.push((filter, opts, id));
    }
    let n = r.count(10, "queue length")?;
    for _ in 0..n {
        let (d, expired) = decode_delivery(r, get)?;
        // Expired while queued: never delivered [MQTT-3.3.2-5].
        if !expired {
            s.queue.push(d);
        }
    }
    let n = r.count(13, "in-flight count")?;
    for _ in 0..n {
        let pid = pid(r, "in-flight packet identifier")?;
        let released = r.bool("in-flight released")?;
        let (delivery, _) = decode_delivery(r, get)?;
        s.inflight.push(Inflight {
            pid,
            delivery,
            released,
        });
    }
    let n = r.count(2, "incoming QoS 2 count")?;
    for _ in 0..n {
        s.incoming_qos2
            .push(pid(r, "incoming QoS 2 packet identifier")?);
    }
    if r.bool("will present")? {
        let m = get(r.u32("will message")?)?;
        let due = r.u64("will time")?;
        let msg = Message::clone(&m.msg);
        s.will = Some((msg, clock.instant + clock.left(due).unwrap_or_default()));
    }
    if expiry != NEVER_EXPIRES {
        let interval = Duration::from_secs(u64::from(expiry));
        if gone_since >= interval {
            // The session expired while the broker was down [MQTT-3.1.2-23].
            s.expired = true;
            return Ok(s);
        }
        // Count the downtime: the loaded session disconnected "now" with what is left.
        let left = interval - gone_since;
        s.expiry = u32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0))
            .unwrap_or(u32::MAX)
            .max(1);
    }
    Ok(s)
}
