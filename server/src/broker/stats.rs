//! Counters behind `$SYS/broker/...`. Relaxed atomics: they are statistics, not
//! synchronisation, and incrementing one costs about as much as an add.

use std::sync::atomic::{AtomicU64, Ordering};

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
}
