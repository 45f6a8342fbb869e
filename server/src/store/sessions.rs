//! Session state that outlives a network connection (section 4.1): subscriptions, queued
//! and in-flight messages, QoS 2 packet ids awaiting PUBREL, expiry and a delayed will.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroU32;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::live::LiveConnection;
use super::queue::MessageQueue;
use crate::store::{Inflight, Message, SessionKey};
use bytestring::ByteString;
use tern_codec::{Pid, SubscriptionOptions};

/// Session Expiry Interval value meaning "never expires" (0xFFFFFFFF, section 3.1.2.11.2).
pub const NEVER_EXPIRES: u32 = u32::MAX;

/// A will waiting for its Will Delay Interval [MQTT-3.1.3-9].
#[derive(Debug, Clone)]
pub struct PendingWill {
    pub msg: Message,
    pub at: Instant,
}

/// One session.
#[derive(Debug)]
pub struct StoredSession {
    pub key: SessionKey,
    /// The durable store's id for this session; 0 when it is not stored (persistence off,
    /// or a session that ends with its connection).
    pub sid: u64,
    /// Queue position of the last stored delivery.
    pub next_seq: u64,
    pub client_id: ByteString,
    /// Full filter (including any `$share/group/` prefix) → options and identifier.
    pub subscriptions: HashMap<ByteString, (SubscriptionOptions, Option<NonZeroU32>)>,
    pub queue: MessageQueue,
    /// Outgoing unacknowledged messages, valid while offline.
    pub inflight: Vec<Inflight>,
    /// Incoming QoS 2 packet ids not yet released, valid while offline
    /// (part of the session state, section 4.1).
    pub incoming_qos2: Vec<Pid>,
    /// Session Expiry Interval in seconds ([`NEVER_EXPIRES`] = never).
    pub expiry: u32,
    /// Change only through [`SessionStore::set_live`].
    pub live: Option<LiveConnection>,
    pub disconnected_at: Option<Instant>,
    /// Boxed: rare, and large compared to the rest of an idle session.
    pub will: Option<Box<PendingWill>>,
    /// Queue above the congestion mark and a publisher was told to wait.
    pub congested: bool,
    /// Did not drain while publishers waited: treated as a slow consumer (its messages are
    /// dropped at the queue limit instead of slowing publishers) until it has emptied its
    /// queue and `slow_until` has passed.
    pub slow: bool,
    /// A slow consumer paces publishers again only after this: one that drains just enough
    /// to leave the congested state must not throttle every publisher over and over.
    pub slow_until: Option<std::time::Instant>,
    /// Cluster only: messages of the message stream up to here are already in this
    /// session's queue (put there when the session was taken over from another node), so
    /// routing them again would deliver them twice.
    pub hwm: u64,
}

impl StoredSession {
    /// When this offline session expires, if it does.
    pub fn expires_at(&self) -> Option<Instant> {
        if self.live.is_some() || self.expiry == NEVER_EXPIRES {
            return None;
        }
        self.disconnected_at
            .map(|t| t + Duration::from_secs(u64::from(self.expiry)))
    }
}

/// Hashes a [`SessionKey`] with one multiplication (Fibonacci hashing). The keys are
/// sequential `u64`s the server assigns, so no client can choose colliding ones and SipHash's
/// HashDoS protection buys nothing; routing looks a key up for every delivery. The multiply
/// spreads sequential keys over the high bits, which hashbrown uses for its control bytes
/// (a plain identity hash would leave them all zero).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if `SessionKey`'s `Hash` changes shape; stays correct, just slower.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Map keyed by [`SessionKey`] with the cheap [`KeyHasher`].
pub type KeyMap<V> = HashMap<SessionKey, V, BuildHasherDefault<KeyHasher>>;

/// All sessions, by key and by client id. Client ids are kept sorted, so the admin API pages
/// through sessions (and connected clients) with a cursor instead of scanning all of them.
#[derive(Debug, Default)]
pub struct SessionStore {
    by_key: KeyMap<StoredSession>,
    by_client: BTreeMap<ByteString, SessionKey>,
    /// Client ids with a live connection.
    live_ids: BTreeSet<ByteString>,
    next_key: u64,
    /// Sessions with a live connection (kept current by `set_live` / `remove`).
    connected: usize,
    /// Messages in all session queues (each queue keeps it current).
    queued: Arc<AtomicU64>,
}

impl SessionStore {
    pub fn key_of(&self, client_id: &str) -> Option<SessionKey> {
        self.by_client.get(client_id).copied()
    }

    pub fn get(&self, key: SessionKey) -> Option<&StoredSession> {
        self.by_key.get(&key)
    }

    pub fn get_mut(&mut self, key: SessionKey) -> Option<&mut StoredSession> {
        self.by_key.get_mut(&key)
    }

    /// Creates an empty session for `client_id` (which must not have one).
    pub fn create(&mut self, client_id: ByteString, expiry: u32) -> &mut StoredSession {
        self.next_key += 1;
        let key = SessionKey(self.next_key);
        self.by_client.insert(client_id.clone(), key);
        self.by_key.entry(key).or_insert(StoredSession {
            key,
            sid: 0,
            next_seq: 0,
            client_id,
            subscriptions: HashMap::new(),
            queue: MessageQueue::counted_in(Arc::clone(&self.queued)),
            inflight: Vec::new(),
            incoming_qos2: Vec::new(),
            expiry,
            live: None,
            disconnected_at: None,
            will: None,
            congested: false,
            slow: false,
            slow_until: None,
            hwm: 0,
        })
    }

    /// Attaches (`Some`) or detaches (`None`) the live connection of a session; returns the
    /// previous one. The only way to change `live`, so the connected count stays exact.
    pub fn set_live(
        &mut self,
        key: SessionKey,
        live: Option<LiveConnection>,
    ) -> Option<LiveConnection> {
        let s = self.by_key.get_mut(&key)?;
        let now_live = live.is_some();
        let old = std::mem::replace(&mut s.live, live);
        if let Some(o) = &old {
            // Publishers waiting for this connection to drain must not wait for a gone one.
            o.drained.notify_waiters();
        }
        match (old.is_some(), now_live) {
            (false, true) => {
                self.connected += 1;
                self.live_ids.insert(s.client_id.clone());
            }
            (true, false) => {
                self.connected -= 1;
                self.live_ids.remove(&s.client_id);
            }
            _ => {}
        }
        old
    }

    /// Sessions in client-id order whose id starts with `prefix`, after the id `after`
    /// (exclusive); only connected ones with `connected`. Costs what is taken from it.
    pub fn page<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<&'a str>,
        connected: bool,
    ) -> Box<dyn Iterator<Item = &'a StoredSession> + 'a> {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        let bounds = (start, Bound::Unbounded);
        if connected {
            Box::new(
                self.live_ids
                    .range::<str, _>(bounds)
                    .take_while(move |id| id.starts_with(prefix))
                    .filter_map(|id| self.by_client.get(id).and_then(|k| self.by_key.get(k))),
            )
        } else {
            Box::new(
                self.by_client
                    .range::<str, _>(bounds)
                    .take_while(move |(id, _)| id.starts_with(prefix))
                    .filter_map(|(_, k)| self.by_key.get(k)),
            )
        }
    }

    /// The live total of queued messages over all sessions.
    pub fn queued_total(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.queued)
    }

    /// Number of sessions with a live connection.
    pub fn connected(&self) -> usize {
        self.connected
    }

    pub fn remove(&mut self, key: SessionKey) -> Option<StoredSession> {
        let s = self.by_key.remove(&key)?;
        if let Some(live) = &s.live {
            self.connected -= 1;
            self.live_ids.remove(&s.client_id);
            live.drained.notify_waiters();
        }
        if self.by_client.get(&s.client_id) == Some(&key) {
            self.by_client.remove(&s.client_id);
        }
        Some(s)
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredSession> {
        self.by_key.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut StoredSession> {
        self.by_key.values_mut()
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn key_hash_spreads_sequential_keys_over_high_bits() {
        let b = BuildHasherDefault::<KeyHasher>::default();
        let tops: std::collections::HashSet<u64> = (1..=128u64)
            .map(|k| b.hash_one(SessionKey(k)) >> 57)
            .collect();
        // hashbrown's 7-bit control tags: sequential keys must not all share one.
        assert!(tops.len() > 64, "only {} distinct tags", tops.len());
    }

    #[test]
    fn sessions_found_by_key_and_client_id() {
        let mut st = SessionStore::default();
        let keys: Vec<SessionKey> = (0..1000)
            .map(|i| st.create(ByteString::from(format!("c{i}")), 0).key)
            .collect();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                st.get(*k).map(|s| s.client_id.to_string()),
                Some(format!("c{i}"))
            );
            assert_eq!(st.key_of(&format!("c{i}")), Some(*k));
        }
        assert!(st.remove(keys[7]).is_some());
        assert!(st.get(keys[7]).is_none());
        assert_eq!(st.len(), 999);
    }
}
