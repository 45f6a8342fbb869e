//! The routed message, the per-subscriber delivery that points at it, and the session key:
//! the data every layer above the store shares.
//!
//! A PUBLISH is decoded once and wrapped in one `Arc<Message>`; every subscriber's queue
//! holds a [`Delivery`] sharing that `Arc` (and through it the payload `Bytes`), so fan-out
//! never copies a payload.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tern_codec::{PropertyBlock, PublishProperties, QoS, TopicName};

/// Identifies one stored session for the lifetime of that session (a client id can be reused
/// by a later, different session). Cheap to copy and compare, unlike the client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(pub(crate) u64);

/// An application message as received from a publisher (or a will / `$SYS` update).
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: TopicName,
    pub payload: Bytes,
    /// QoS the message was published with.
    pub qos: QoS,
    /// RETAIN flag as published.
    pub retain: bool,
    /// v5 properties passed through to subscribers, without Topic Alias and Subscription
    /// Identifiers (those are per connection / per subscriber). The Message Expiry Interval
    /// is recomputed from `expires_at` on delivery. Boxed and `None` when empty (all 3.x
    /// and most v5 messages): queued messages stay small.
    pub properties: Option<Box<PublishProperties>>,
    /// The publishing session, for the No Local option [MQTT-3.8.3-3].
    pub origin: Option<SessionKey>,
    /// When the Message Expiry Interval runs out [MQTT-3.3.2-5].
    pub expires_at: Option<Instant>,
}

impl Message {
    /// Wraps properties built field by field (a will's), storing nothing when they are all
    /// absent. A decoded PUBLISH reuses its own box instead (`Props::into_box`).
    pub fn boxed_properties(p: PublishProperties) -> Option<Box<PublishProperties>> {
        (!p.is_empty()).then(|| Box::new(p))
    }

    /// `true` once the message may no longer be delivered [MQTT-3.3.2-5].
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whole seconds left of the Message Expiry Interval, for the forwarded PUBLISH
    /// [MQTT-3.3.2-6]; `None` when the message does not expire.
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        self.expires_at.map(|at| {
            let left = at.saturating_duration_since(now);
            // Round up so a message with time left is never sent with interval 0.
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            u32::try_from(secs).unwrap_or(u32::MAX).max(1)
        })
    }

    /// Size used for `$SYS` byte counters.
    pub fn payload_len(&self) -> usize {
        self.payload.len()
    }
}

/// Where a queued delivery lives in the durable store: the session's queue position and the
/// stored message body. Deliveries to sessions that end with their connection, and QoS 0
/// deliveries, have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub seq: u64,
    pub mid: u64,
}

/// One message on its way to one subscriber.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub msg: Arc<Message>,
    /// min(published QoS, granted QoS) [MQTT-3.8.4-8 / 3.8.4-6].
    pub qos: QoS,
    /// RETAIN flag to send: 1 for retained messages sent on subscribe [MQTT-3.3.1-8],
    /// otherwise 0 unless Retain As Published [MQTT-3.3.1-12, MQTT-3.3.1-13].
    pub retain: bool,
    /// Identifiers of all matching subscriptions of this subscriber [MQTT-3.3.4-3].
    pub sub_ids: Vec<NonZeroU32>,
    /// Set when the delivery is in the durable store (to remove it once acknowledged).
    pub stored: Option<Stored>,
}

/// An outgoing QoS 1/2 PUBLISH sent and not yet completed [MQTT-4.4.0-1]. Owned by the
/// session task while connected and kept in the session store while offline, so it can be
/// resent with DUP on reconnect.
#[derive(Debug, Clone)]
pub struct Inflight {
    pub pid: tern_codec::Pid,
    pub delivery: Delivery,
    /// QoS 2 only: PUBREC received and PUBREL sent, waiting for PUBCOMP.
    pub released: bool,
}
