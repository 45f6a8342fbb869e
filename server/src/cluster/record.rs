//! A session's record in the `tern_sessions` key-value bucket: which node serves it, and
//! everything another node needs to take it over — expiry, will, subscriptions, the QoS 2
//! packet ids in flight, and where its queue stands in the message stream.
//!
//! The queue itself is not copied: it is the messages of the message stream after `floor`
//! that match the subscriptions (each from its `since`), minus those already `done`. A node
//! taking the session over replays that range (see `sessions.rs`). QoS 2 messages sent to
//! the client are in `sent` with their packet id before the PUBLISH leaves, so the new node
//! resends them with the same id (or PUBREL once PUBREC came): exactly once [MQTT-4.3.3].
//!
//! [`Tracked`] is the writer's working copy, changed by the broker's ops in their order and
//! written back with compare-and-swap on the entry's revision: a node that lost the session
//! to another one finds out at its next write.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::store::blob;
use crate::store::{Clock, Op, StoredWill};

/// The record as stored (JSON: `nats kv get tern_sessions <key>` shows it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `<node_id>/<incarnation>` of the node serving the session; empty once handed over.
    pub owner: String,
    pub client_id: String,
    /// Session Expiry Interval in seconds.
    pub expiry: u32,
    /// A connection was attached (on the owner) when this was written.
    pub connected: bool,
    /// When the client went away (UNIX ms), while not connected.
    #[serde(default)]
    pub disconnected_at: u64,
    #[serde(default)]
    pub will: Option<WillRecord>,
    #[serde(default)]
    pub subs: Vec<SubRecord>,
    /// Every message-stream position up to here is done for this session.
    #[serde(default)]
    pub floor: u64,
    /// Positions after `floor` that are done too.
    #[serde(default)]
    pub done: Vec<u64>,
    #[serde(default)]
    pub sent: Vec<SentRecord>,
    /// Incoming QoS 2 packet ids awaiting PUBREL.
    #[serde(default)]
    pub qos2_in: Vec<u16>,
    /// Incoming QoS 2 messages being published: packet id, JetStream de-duplication id, and
    /// whether JetStream has stored it (then a resend only gets PUBREC again).
    #[serde(default)]
    pub qos2_ids: Vec<Qos2Record>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qos2Record {
    pub pid: u16,
    pub id: String,
    #[serde(default)]
    pub stored: bool,
}

/// A will: `due` set once its connection ended (UNIX ms), else armed with its delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WillRecord {
    /// The message blob (base64).
    pub msg: String,
    #[serde(default)]
    pub delay: u32,
    #[serde(default)]
    pub due: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubRecord {
    pub filter: String,
    /// The SUBSCRIBE options byte.
    pub options: u8,
    #[serde(default)]
    pub id: Option<u32>,
    /// The message-stream position when it was made: only later messages are for it.
    #[serde(default)]
    pub since: u64,
}

/// A QoS 1/2 message sent to the client and not completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentRecord {
    /// Its message-stream position.
    pub mid: u64,
    pub pid: u16,
    /// PUBREC came and PUBREL went out.
    pub released: bool,
    pub qos: u8,
    pub retain: bool,
    #[serde(default)]
    pub ids: Vec<u32>,
}

impl Record {
    pub fn parse(bytes: &[u8]) -> Option<Record> {
        serde_json::from_slice(bytes).ok()
    }

    pub fn to_bytes(&self) -> bytes::Bytes {
        serde_json::to_vec(self).unwrap_or_default().into()
    }

    /// The will as the broker keeps it.
    pub fn stored_will(&self, clock: Clock) -> Option<StoredWill> {
        let w = self.will.as_ref()?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&w.msg)
            .ok()?;
        let d = blob::decode(&raw, clock).ok()?;
        let msg = std::sync::Arc::unwrap_or_clone(d.msg);
        Some(match w.due {
            Some(due) => StoredWill::Due {
                msg,
                at: clock.instant + clock.left(due).unwrap_or_default(),
            },
            None => StoredWill::Armed {
                msg,
                delay: w.delay,
                expiry: d.relative_expiry,
            },
        })
    }
}

fn will_record(w: &StoredWill, clock: Clock) -> Option<WillRecord> {
    let (msg, relative, delay, due) = match w {
        StoredWill::Armed { msg, delay, expiry } => (msg, *expiry, *delay, None),
        StoredWill::Due { msg, at } => (msg, None, 0, Some(clock.to_unix(*at))),
    };
    let bytes = blob::encode(msg, clock, relative).ok()?;
    Some(WillRecord {
        msg: base64::engine::general_purpose::STANDARD.encode(bytes),
        delay,
        due,
    })
}

/// A queued delivery the writer knows of.
#[derive(Debug, Clone)]
struct Entry {
    mid: u64,
    qos: u8,
    retain: bool,
    ids: Vec<u32>,
}

/// What a change to a tracked record asks of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// Write before the commit (an answer waits for it).
    Now,
    /// Only the queue position moved: write soon, nobody waits.
    Lazy,
}

/// The writer's copy of one session's record.
#[derive(Debug)]
pub struct Tracked {
    pub key: String,
    /// Revision of the entry as last read or written (0: none yet, create it).
    pub rev: u64,
    pub rec: Record,
    subs: BTreeMap<String, SubRecord>,
    entries: BTreeMap<u64, Entry>,
    sent: BTreeMap<u64, (u16, bool)>,
    done: BTreeSet<u64>,
    floor: u64,
    pub lazy: bool,
    /// The session ended: delete the entry.
    pub gone: bool,
    /// Handed to another node: write with no owner, then forget.
    pub released: bool,
}

impl Tracked {
    /// A record to track from `rec` (as read at revision `rev`). Queue entries and packet ids
    /// come back as ops when the broker adopts the session.
    pub fn new(key: String, rev: u64, rec: Record) -> Tracked {
        let subs = rec
            .subs
            .iter()
            .map(|s| (s.filter.clone(), s.clone()))
            .collect();
        Tracked {
            key,
            rev,
            floor: rec.floor,
            done: rec.done.iter().copied().collect(),
            rec,
            subs,
            entries: BTreeMap::new(),
            sent: BTreeMap::new(),
            lazy: false,
            gone: false,
            released: false,
        }
    }

    /// Applies one op of this session.
    pub fn apply(&mut self, op: &Op, clock: Clock) -> Change {
        match op {
            Op::Session(r) => {
                self.rec.client_id = r.client_id.to_string();
                self.rec.expiry = r.expiry;
                self.rec.connected = r.disconnected_at.is_none();
                self.rec.disconnected_at = r.disconnected_at.map_or(0, |t| clock.to_unix(t));
                self.rec.will = r.will.as_ref().and_then(|w| will_record(w, clock));
                Change::Now
            }
            Op::SessionGone { .. } => {
                self.gone = true;
                Change::Now
            }
            Op::Subscribe {
                filter,
                options,
                id,
                ..
            } => {
                let since = self.subs.get(&**filter).map_or(0, |s| s.since);
                self.subs.insert(
                    filter.to_string(),
                    SubRecord {
                        filter: filter.to_string(),
                        options: options.to_byte(),
                        id: id.map(|i| i.get()),
                        since,
                    },
                );
                Change::Now
            }
            Op::Cluster(crate::store::ClusterOp::Since { filter, seq, .. }) => {
                if let Some(s) = self.subs.get_mut(&**filter) {
                    s.since = *seq;
                }
                Change::Now
            }
            Op::Cluster(crate::store::ClusterOp::Released { .. }) => {
                self.released = true;
                Change::Now
            }
            Op::Unsubscribe { filter, .. } => {
                self.subs.remove(&**filter);
                Change::Now
            }
            Op::Enqueue {
                seq,
                mid,
                qos,
                retain,
                sub_ids,
                ..
            } => {
                if *mid == 0 {
                    return Change::None;
                }
                self.entries.insert(
                    *seq,
                    Entry {
                        mid: *mid,
                        qos: *qos as u8,
                        retain: *retain,
                        ids: sub_ids.iter().map(|i| i.get()).collect(),
                    },
                );
                self.lazy = true;
                Change::Lazy
            }
            Op::Sent {
                seq, pid, released, ..
            } => {
                if !self.entries.contains_key(seq) {
                    return Change::None;
                }
                self.sent.insert(*seq, (pid.get(), *released));
                Change::Now
            }
            Op::Dequeue { seq, mid, .. } => {
                let Some(e) = self.entries.remove(seq) else {
                    return Change::None;
                };
                self.sent.remove(seq);
                if *mid > self.floor {
                    self.done.insert(e.mid);
                }
                self.lazy = true;
                Change::Lazy
            }
            Op::Qos2In { pid, .. } => {
                if !self.rec.qos2_in.contains(&pid.get()) {
                    self.rec.qos2_in.push(pid.get());
                }
                Change::Now
            }
            Op::Qos2Released { pid, .. } => {
                self.rec.qos2_in.retain(|p| *p != pid.get());
                self.rec.qos2_ids.retain(|q| q.pid != pid.get());
                Change::Now
            }
            Op::Message { .. } | Op::Retain { .. } | Op::Cluster(_) => Change::None,
        }
    }

    /// Notes the de-duplication id of the incoming QoS 2 message `pid` (written before it is
    /// published).
    pub fn qos2_publishing(&mut self, pid: u16, id: &str) {
        self.rec.qos2_ids.retain(|q| q.pid != pid);
        self.rec.qos2_ids.push(Qos2Record {
            pid,
            id: id.to_owned(),
            stored: false,
        });
    }

    /// JetStream stored the incoming QoS 2 message `pid` (written lazily).
    pub fn qos2_stored(&mut self, pid: u16) {
        for q in &mut self.rec.qos2_ids {
            if q.pid == pid && !q.stored {
                q.stored = true;
                self.lazy = true;
            }
        }
    }

    /// The recorded de-duplication id of `pid` if JetStream may not have it yet.
    pub fn qos2_unstored(&self, pid: u16) -> Option<&str> {
        self.rec
            .qos2_ids
            .iter()
            .find(|q| q.pid == pid && !q.stored)
            .map(|q| q.id.as_str())
    }

    /// The record to write now.
    pub fn snapshot(&mut self) -> Record {
        // Everything before the oldest queued delivery is done; with none queued, everything
        // up to the newest one seen.
        match self.entries.values().map(|e| e.mid).min() {
            Some(oldest) => self.floor = self.floor.max(oldest.saturating_sub(1)),
            None => {
                if let Some(&newest) = self.done.iter().next_back() {
                    self.floor = self.floor.max(newest);
                }
            }
        }
        let floor = self.floor;
        self.done.retain(|m| *m > floor);
        self.rec.floor = floor;
        self.rec.done = self.done.iter().copied().collect();
        self.rec.subs = self.subs.values().cloned().collect();
        self.rec.sent = self
            .sent
            .iter()
            .filter_map(|(seq, (pid, released))| {
                let e = self.entries.get(seq)?;
                Some(SentRecord {
                    mid: e.mid,
                    pid: *pid,
                    released: *released,
                    qos: e.qos,
                    retain: e.retain,
                    ids: e.ids.clone(),
                })
            })
            .collect();
        self.lazy = false;
        self.rec.clone()
    }
}

/// The bucket key of a client id: `A-Z a-z 0-9 - _` as they are, every other byte `=XX`
/// (keys allow only `[-/_=.A-Za-z0-9]`, and `.` `/` would make levels).
pub fn key_of(client_id: &str) -> String {
    let mut k = String::with_capacity(client_id.len());
    for b in client_id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            k.push(char::from(b));
        } else {
            k.push_str(&format!("={b:02X}"));
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use tern_codec::{Pid, QoS, TopicName};

    use super::*;
    use crate::store::Message;

    fn enqueue(seq: u64, mid: u64) -> Op {
        Op::Enqueue {
            sid: 1,
            seq,
            mid,
            qos: QoS::ExactlyOnce,
            retain: false,
            sub_ids: Vec::new(),
        }
    }

    #[test]
    fn keys_are_valid_and_distinct() {
        assert_eq!(key_of("dev-1_a"), "dev-1_a");
        assert_eq!(key_of("a.b/c d"), "a=2Eb=2Fc=20d");
        assert_ne!(key_of("a=2E"), key_of("a."));
    }

    #[test]
    fn floor_follows_the_oldest_queued_message() {
        let clock = Clock::now();
        let mut t = Tracked::new("k".into(), 0, Record::default());
        for (seq, mid) in [(1, 10), (2, 12), (3, 15)] {
            assert_eq!(t.apply(&enqueue(seq, mid), clock), Change::Lazy);
        }
        assert_eq!(t.snapshot().floor, 9);
        // 12 is acknowledged before 10: done above the floor.
        t.apply(
            &Op::Dequeue {
                sid: 1,
                seq: 2,
                mid: 12,
            },
            clock,
        );
        let r = t.snapshot();
        assert_eq!((r.floor, r.done.clone()), (9, vec![12]));
        // A QoS 2 message sent with packet id 7 is in the record until completed.
        let pid = Pid::new(7).unwrap();
        let sent = Op::Sent {
            sid: 1,
            seq: 1,
            pid,
            released: true,
        };
        assert_eq!(t.apply(&sent, clock), Change::Now);
        assert_eq!(t.snapshot().sent[0].mid, 10);
        t.apply(
            &Op::Dequeue {
                sid: 1,
                seq: 1,
                mid: 10,
            },
            clock,
        );
        let r = t.snapshot();
        assert_eq!((r.floor, r.done.clone(), r.sent.len()), (14, vec![], 0));
        t.apply(
            &Op::Dequeue {
                sid: 1,
                seq: 3,
                mid: 15,
            },
            clock,
        );
        assert_eq!(t.snapshot().floor, 15);
    }

    #[test]
    fn record_round_trip_with_will() {
        let clock = Clock::now();
        let msg = Message {
            topic: TopicName::new("w").unwrap(),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: None,
            origin: None,
            expires_at: None,
        };
        let mut t = Tracked::new("k".into(), 0, Record::default());
        let rec = crate::store::SessionRecord {
            sid: 1,
            client_id: "c".into(),
            expiry: 60,
            disconnected_at: None,
            will: Some(StoredWill::Armed {
                msg: msg.clone(),
                delay: 5,
                expiry: Some(30),
            }),
        };
        t.apply(&Op::Session(Box::new(rec)), clock);
        let r = Record::parse(&t.snapshot().to_bytes()).unwrap();
        assert!(r.connected);
        match r.stored_will(clock) {
            Some(StoredWill::Armed {
                msg: m,
                delay,
                expiry,
            }) => {
                assert_eq!((m.payload, delay, expiry), (msg.payload, 5, Some(30)));
            }
            other => panic!("{other:?}"),
        }
        let _ = Arc::new(0);
    }
}
