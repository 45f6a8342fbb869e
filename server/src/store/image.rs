//! The state that outlives the process, as plain data: what a durable store loads at start
//! ([`Image`]) and what the broker puts back into memory from it (`Broker::restore`).
//!
//! Times are UNIX milliseconds on disk ([`Clock`] converts): an `Instant` means nothing after
//! a restart, and expiry must count the time the broker was down ([MQTT-3.3.2-5],
//! [MQTT-3.1.2-23]). Loaders apply that downtime before handing an `Image` over.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytestring::ByteString;
use tern_codec::{Pid, SubscriptionOptions};

use crate::store::{Delivery, Inflight, Message};

/// One persistent session as loaded.
#[derive(Debug, Clone)]
pub struct SessionImage {
    /// The durable store's id of the session (0: not stored yet, e.g. from a legacy file).
    pub sid: u64,
    pub client_id: ByteString,
    /// Session Expiry Interval in seconds (`NEVER_EXPIRES` = never).
    pub expiry: u32,
    /// When the client went away; `None` if it was connected when the state was saved (then
    /// the load counts as the disconnect).
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

/// Everything a durable store holds.
#[derive(Debug, Clone, Default)]
pub struct Image {
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
