//! Reading the whole database into an [`Image`] at start, with the time the broker was down
//! applied: what expired is marked (the broker removes it through ops, after publishing the
//! wills of expired sessions [MQTT-3.1.3-9]), remaining intervals become `Instant`s.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use rusqlite::Connection;
use tern_codec::{Pid, QoS, RetainHandling, SubscriptionOptions};

use crate::store::blob;
use crate::store::image::{Clock, Image, SessionImage};
use crate::store::{Delivery, Inflight, Message, NEVER_EXPIRES, Stored};

/// What loading found besides the image: the next free ids and each body's references.
pub struct Loaded {
    pub image: Image,
    pub next_sid: u64,
    pub next_mid: u64,
    pub refs: HashMap<u64, u32>,
    /// Queue entries whose message expired while the broker was down, to remove.
    pub expired_entries: Vec<(u64, Stored)>,
    /// Retained topics whose message expired, to remove.
    pub expired_retained: Vec<ByteString>,
}

fn err(e: rusqlite::Error) -> String {
    format!("cannot read the database: {e}")
}

/// Subscription options from their SUBSCRIBE byte (section 3.8.3.1).
pub fn options(b: u8) -> Result<SubscriptionOptions, String> {
    Ok(SubscriptionOptions {
        qos: QoS::try_from(b & 3).map_err(|_| format!("invalid QoS in options {b}"))?,
        no_local: b & 4 != 0,
        retain_as_published: b & 8 != 0,
        retain_handling: RetainHandling::try_from((b >> 4) & 3)
            .map_err(|v| format!("invalid retain handling {v}"))?,
    })
}

/// Subscription identifiers as stored: 4 bytes each, big-endian.
pub fn ids_to_blob(ids: &[NonZeroU32]) -> Vec<u8> {
    ids.iter().flat_map(|i| i.get().to_be_bytes()).collect()
}

fn ids_from_blob(b: &[u8]) -> Vec<NonZeroU32> {
    b.chunks_exact(4)
        .filter_map(|c| NonZeroU32::new(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect()
}

pub fn load(conn: &Connection, clock: Clock) -> Result<Loaded, String> {
    let mut bodies: HashMap<u64, blob::Decoded> = HashMap::new();
    {
        let mut st = conn
            .prepare("SELECT mid, body FROM messages")
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let mid: u64 = r.get(0).map_err(err)?;
            let body: Vec<u8> = r.get(1).map_err(err)?;
            let d = blob::decode(&body, clock).map_err(|e| format!("message {mid}: {e}"))?;
            bodies.insert(mid, d);
        }
    }
    let mut out = Loaded {
        image: Image::default(),
        next_sid: 1,
        next_mid: bodies.keys().max().map_or(1, |m| m + 1),
        refs: HashMap::new(),
        expired_entries: Vec::new(),
        expired_retained: Vec::new(),
    };
    let mut sessions: Vec<SessionImage> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    {
        let mut st = conn
            .prepare(
                "SELECT sid, client_id, expiry, disconnected_at, will, will_delay, will_due \
                 FROM sessions ORDER BY sid",
            )
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let sid: u64 = r.get(0).map_err(err)?;
            let client_id: String = r.get(1).map_err(err)?;
            let expiry: u32 = r.get(2).map_err(err)?;
            let gone: Option<u64> = r.get(3).map_err(err)?;
            let will: Option<Vec<u8>> = r.get(4).map_err(err)?;
            let delay: Option<u32> = r.get(5).map_err(err)?;
            let due: Option<u64> = r.get(6).map_err(err)?;
            out.next_sid = out.next_sid.max(sid + 1);
            let mut s = SessionImage {
                sid,
                client_id: client_id.into(),
                expiry,
                // Connected when the broker stopped: the load counts as the disconnect.
                disconnected_at: Some(clock.instant),
                subscriptions: Vec::new(),
                queue: Vec::new(),
                inflight: Vec::new(),
                incoming_qos2: Vec::new(),
                will: None,
                expired: false,
            };
            if let Some(bytes) = will {
                let w = blob::decode(&bytes, clock).map_err(|e| format!("will of {sid}: {e}"))?;
                let mut msg = Message::clone(&w.msg);
                let at = match (due, delay) {
                    (Some(ms), _) => clock.instant + clock.left(ms).unwrap_or_default(),
                    // Armed: the connection ended when the broker stopped; the delay starts now.
                    (None, d) => {
                        let delay = Duration::from_secs(u64::from(d.unwrap_or(0)));
                        msg.expires_at = w
                            .relative_expiry
                            .map(|e| clock.instant + delay + Duration::from_secs(u64::from(e)));
                        clock.instant + delay
                    }
                };
                s.will = Some((msg, at));
            }
            if let (Some(ms), true) = (gone, expiry != NEVER_EXPIRES) {
                let interval = Duration::from_secs(u64::from(expiry));
                let since = clock.since(ms);
                if since >= interval {
                    // Expired while the broker was down [MQTT-3.1.2-23].
                    s.expired = true;
                } else {
                    let left = interval - since;
                    s.expiry = u32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0))
                        .unwrap_or(u32::MAX)
                        .max(1);
                }
            }
            index.insert(sid, sessions.len());
            sessions.push(s);
        }
    }
    {
        let mut st = conn
            .prepare("SELECT sid, filter, options, sub_id FROM subscriptions")
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let sid: u64 = r.get(0).map_err(err)?;
            let filter: String = r.get(1).map_err(err)?;
            let opts = options(r.get(2).map_err(err)?)?;
            let id: Option<u32> = r.get(3).map_err(err)?;
            if let Some(&i) = index.get(&sid) {
                sessions[i]
                    .subscriptions
                    .push((filter.into(), opts, id.and_then(NonZeroU32::new)));
            }
        }
    }
    {
        let mut st = conn
            .prepare(
                "SELECT sid, seq, mid, qos, retain, sub_ids, pid, released FROM queue \
                 ORDER BY sid, seq",
            )
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let sid: u64 = r.get(0).map_err(err)?;
            let stored = Stored {
                seq: r.get(1).map_err(err)?,
                mid: r.get(2).map_err(err)?,
            };
            let qos = QoS::try_from(r.get::<_, u8>(3).map_err(err)?)
                .map_err(|_| format!("queue entry {sid}/{}: invalid QoS", stored.seq))?;
            let retain: bool = r.get(4).map_err(err)?;
            let ids: Option<Vec<u8>> = r.get(5).map_err(err)?;
            let pid: Option<u16> = r.get(6).map_err(err)?;
            let released: bool = r.get(7).map_err(err)?;
            let (Some(&i), Some(body)) = (index.get(&sid), bodies.get(&stored.mid)) else {
                return Err(format!(
                    "queue entry {sid}/{} refers to a missing session or message",
                    stored.seq
                ));
            };
            *out.refs.entry(stored.mid).or_default() += 1;
            let delivery = Delivery {
                msg: Arc::clone(&body.msg),
                qos,
                retain,
                sub_ids: ids.as_deref().map(ids_from_blob).unwrap_or_default(),
                stored: Some(stored),
            };
            match pid.and_then(Pid::new) {
                // Sent before the stop: resent with DUP and the same id [MQTT-4.4.0-1].
                Some(pid) => sessions[i].inflight.push(Inflight {
                    pid,
                    delivery,
                    released,
                }),
                // Expired while queued: never delivered [MQTT-3.3.2-5].
                None if body.expired => out.expired_entries.push((sid, stored)),
                None => sessions[i].queue.push(delivery),
            }
        }
    }
    {
        let mut st = conn
            .prepare("SELECT sid, pid FROM qos2_in ORDER BY sid, pid")
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let sid: u64 = r.get(0).map_err(err)?;
            let pid = Pid::new(r.get(1).map_err(err)?).ok_or("QoS 2 packet id 0")?;
            if let Some(&i) = index.get(&sid) {
                sessions[i].incoming_qos2.push(pid);
            }
        }
    }
    {
        let mut st = conn
            .prepare("SELECT topic, body FROM retained")
            .map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let topic: String = r.get(0).map_err(err)?;
            let body: Vec<u8> = r.get(1).map_err(err)?;
            let d = blob::decode(&body, clock).map_err(|e| format!("retained {topic}: {e}"))?;
            if d.expired {
                out.expired_retained.push(topic.into());
            } else {
                out.image.retained.push(d.msg);
            }
        }
    }
    out.image.sessions = sessions;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_byte_round_trip() {
        for b in [0u8, 1, 2, 4, 8, 0x10, 0x20, 0x2E] {
            assert_eq!(options(b).unwrap().to_byte(), b);
        }
        assert!(options(3).is_err());
        let ids = [
            NonZeroU32::new(1).unwrap(),
            NonZeroU32::new(268_435_455).unwrap(),
        ];
        assert_eq!(ids_from_blob(&ids_to_blob(&ids)), ids);
    }
}
