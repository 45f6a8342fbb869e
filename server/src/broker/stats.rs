//! Counters behind `$SYS/broker/...` and `/metrics`. Relaxed atomics: they are statistics,
//! not synchronisation, and incrementing one costs about as much as an add.
//!
//! [`Broker::snapshot`] reads every value once into a plain [`Snapshot`]; `sys.rs` and
//! `metrics.rs` both render from it, so the two views cannot drift apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Broker, Counts};

#[derive(Debug, Default)]
pub struct Stats {
    /// MQTT packets of any kind (Mosquitto `messages/received`, `messages/sent`).
    pub messages_received: AtomicU64,
    pub messages_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub bytes_sent: AtomicU64,
    /// PUBLISH packets (Mosquitto `publish/messages/...`).
    pub publish_received: AtomicU64,
    pub publish_sent: AtomicU64,
    /// Messages dropped because a session's queue was full or the client's maximum packet
    /// size was too small, or because they expired before delivery.
    pub publish_dropped: AtomicU64,
    pub publish_bytes_received: AtomicU64,
    pub publish_bytes_sent: AtomicU64,
    /// Network connections accepted (Mosquitto `load/connections`).
    pub connections: AtomicU64,
    /// Highest number of simultaneously connected clients (Mosquitto `clients/maximum`).
    pub clients_maximum: AtomicU64,
    /// Offline sessions ended because their expiry interval passed (Mosquitto
    /// `clients/expired`).
    pub clients_expired: AtomicU64,
    /// Network connections open right now, per listener (a gauge: see [`OpenConnection`]).
    /// Includes connections that have not completed CONNECT yet.
    pub connections_open_tcp: AtomicU64,
    pub connections_open_websocket: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn note_connected(&self, now_connected: u64) {
        self.clients_maximum
            .fetch_max(now_connected, Ordering::Relaxed);
    }

    /// Every counter, each read once. The reads are not one atomic snapshot (no counter is
    /// paused while another is read), which is fine for statistics and never blocks a
    /// session.
    pub fn load(&self) -> Counters {
        let get = Stats::get;
        Counters {
            messages_received: get(&self.messages_received),
            messages_sent: get(&self.messages_sent),
            bytes_received: get(&self.bytes_received),
            bytes_sent: get(&self.bytes_sent),
            publish_received: get(&self.publish_received),
            publish_sent: get(&self.publish_sent),
            publish_dropped: get(&self.publish_dropped),
            publish_bytes_received: get(&self.publish_bytes_received),
            publish_bytes_sent: get(&self.publish_bytes_sent),
            connections: get(&self.connections),
            clients_maximum: get(&self.clients_maximum),
            clients_expired: get(&self.clients_expired),
            connections_open_tcp: get(&self.connections_open_tcp),
            connections_open_websocket: get(&self.connections_open_websocket),
        }
    }
}

/// The counts `$SYS` and `/metrics` show that live in the locked state, mirrored into atomics
/// when the lock is released (only those that changed are written), so a scrape never takes
/// the broker lock. The queued total is kept by the queues themselves.
#[derive(Debug, Default)]
pub struct Gauges {
    pub sessions: AtomicU64,
    pub connected: AtomicU64,
    pub retained: AtomicU64,
    pub retained_bytes: AtomicU64,
    pub subscriptions: AtomicU64,
    pub queued: std::sync::Arc<AtomicU64>,
}

impl Gauges {
    pub(super) fn set(gauge: &AtomicU64, value: usize) {
        let value = value as u64;
        if gauge.load(Ordering::Relaxed) != value {
            gauge.store(value, Ordering::Relaxed);
        }
    }

    /// The mirrored counts.
    pub fn counts(&self) -> Counts {
        let get = Stats::get;
        let (total, connected) = (get(&self.sessions), get(&self.connected));
        let (retained, queued) = (get(&self.retained), get(&self.queued));
        Counts {
            clients_connected: connected,
            clients_disconnected: total.saturating_sub(connected),
            clients_total: total,
            retained,
            subscriptions: get(&self.subscriptions),
            stored_messages: retained + queued,
            stored_bytes: get(&self.retained_bytes),
            queued_messages: queued,
        }
    }
}

/// The values of [`Stats`] at one moment; field meanings as there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub messages_received: u64,
    pub messages_sent: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub publish_received: u64,
    pub publish_sent: u64,
    pub publish_dropped: u64,
    pub publish_bytes_received: u64,
    pub publish_bytes_sent: u64,
    pub connections: u64,
    pub clients_maximum: u64,
    pub clients_expired: u64,
    pub connections_open_tcp: u64,
    pub connections_open_websocket: u64,
}

/// Everything `$SYS` and `/metrics` show, gathered by [`Broker::snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub uptime: Duration,
    /// Values that need the broker lock.
    pub counts: Counts,
    /// Lock-free counters.
    pub counters: Counters,
}

impl Broker {
    /// Reads every statistic without taking the broker lock: counters and gauges are
    /// atomics (see [`Gauges`]).
    pub fn snapshot(&self) -> Snapshot {
        let counts = self.counts();
        Snapshot {
            uptime: self.started().elapsed(),
            counts,
            counters: self.stats().load(),
        }
    }
}

/// Counts one open network connection on a listener while it is alive: increments the
/// listener's gauge when created and decrements it when dropped, so every exit path of a
/// session task (including a panic unwinding it) gives the slot back.
pub struct OpenConnection {
    broker: Broker,
    websocket: bool,
}

impl OpenConnection {
    pub fn new(broker: Broker, websocket: bool) -> OpenConnection {
        Stats::add(Self::gauge(&broker, websocket), 1);
        OpenConnection { broker, websocket }
    }

    fn gauge(broker: &Broker, websocket: bool) -> &AtomicU64 {
        let stats = broker.stats();
        if websocket {
            &stats.connections_open_websocket
        } else {
            &stats.connections_open_tcp
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        Self::gauge(&self.broker, self.websocket).fetch_sub(1, Ordering::Relaxed);
    }
}
