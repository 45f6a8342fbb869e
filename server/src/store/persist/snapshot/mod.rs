//! The persisted state as plain data ([`Snapshot`]) and its encoding in the file body.
//!
//! Messages are written once in a table and referenced by index from the retained list,
//! session queues, in-flight windows and wills, so a message fanned out to many offline
//! sessions is stored once and shares one `Arc` again after loading. Each message is kept as
//! an MQTT 5 PUBLISH encoded by `tern-codec` (topic, payload, QoS, RETAIN, properties), so
//! every v5 property survives without a second encoding to maintain. Times are stored as
//! UNIX milliseconds: an `Instant` means nothing after a restart, and expiry must count the
//! time the broker was down ([MQTT-3.3.2-5], [MQTT-3.1.2-23]).
//!
//! `encode.rs` writes the body, `decode.rs` reads it back and applies the downtime.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytestring::ByteString;
use tern_codec::{Pid, SubscriptionOptions};

pub use decode::decode;
pub use encode::encode;

use crate::broker::{Delivery, Inflight, Message};

/// One persistent session as saved.
#[derive(Debug, Clone)]
pub struct SessionImage {
    pub client_id: ByteString,
    /// Session Expiry Interval in seconds (`NEVER_EXPIRES` = never).
    pub expiry: u32,
    /// When the client went away; `None` if it was connected when the snapshot was taken
    /// (then the snapshot's own time counts as the disconnect).
    pub disconnected_at: Option<Instant>,
    pub subscriptions: Vec<(ByteString, SubscriptionOptions, Option<NonZeroU32>)>,
    pub queue: Vec<Delivery>,
    pub inflight: Vec<Inflight>,
    pub incoming_qos2: Vec<Pid>,
    /// A delayed will and when it is due [MQTT-3.1.3-9].
    pub will: Option<(Message, Instant)>,
    /// Set on load: the session expired while the broker was down. Only its will (due now,
    /// the session ended [MQTT-3.1.3-9]) is still of use.
    pub expired: bool,
}

/// Everything the broker persists.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub retained: Vec<Arc<Message>>,
    pub sessions: Vec<SessionImage>,
}

/// An `Instant` and the wall-clock time it stands for, to convert between the two.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub instant: Instant,
    pub unix_ms: u64,
}

impl Clock {
    pub fn now() -> Clock {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Clock {
            instant: Instant::now(),
            unix_ms,
        }
    }

    pub fn to_unix(&self, at: Instant) -> u64 {
        if at >= self.instant {
            let ahead = u64::try_from((at - self.instant).as_millis()).unwrap_or(u64::MAX);
            self.unix_ms.saturating_add(ahead)
        } else {
            let behind = u64::try_from((self.instant - at).as_millis()).unwrap_or(u64::MAX);
            self.unix_ms.saturating_sub(behind)
        }
    }

    /// Time left until the wall-clock time `unix_ms`; `None` once it has passed.
    pub fn left(&self, unix_ms: u64) -> Option<Duration> {
        (unix_ms > self.unix_ms).then(|| Duration::from_millis(unix_ms - self.unix_ms))
    }

    /// Time elapsed since the wall-clock time `unix_ms` (zero if it lies in the future).
    pub fn since(&self, unix_ms: u64) -> Duration {
        Duration::from_millis(self.unix_ms.saturating_sub(unix_ms))
    }
}
