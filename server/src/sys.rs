//! `$SYS/broker/...` statistics with Mosquitto's topic names, published retained every
//! `sys_interval` seconds and only when a value changed. A cluster node also publishes them
//! cluster-wide as `$SYS/brokers/<node_id>/...`. Filters starting with a wildcard do
//! not see them [MQTT-4.7.2-1]; subscribe to `$SYS/#`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_codec::{QoS, TopicName};
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Message};

/// Exponentially damped per-minute rates over 1, 5 and 15 minutes, as Mosquitto computes
/// its `load/...` topics.
#[derive(Debug, Default, Clone, Copy)]
struct Load {
    prev: u64,
    avg: [f64; 3],
}

const LOAD_WINDOWS: [(f64, &str); 3] = [(60.0, "1min"), (300.0, "5min"), (900.0, "15min")];

impl Load {
    fn update(&mut self, total: u64, elapsed: f64) {
        let per_minute = (total.saturating_sub(self.prev)) as f64 * 60.0 / elapsed.max(0.001);
        self.prev = total;
        for (avg, (window, _)) in self.avg.iter_mut().zip(LOAD_WINDOWS) {
            let exponent = (-elapsed / window).exp();
            *avg = per_minute + exponent * (*avg - per_minute);
        }
    }
}

/// Publishes `$SYS` until `shutdown`. Does nothing when `interval` is zero.
pub async fn run(broker: Broker, interval: Duration, shutdown: CancellationToken) {
    if interval.is_zero() {
        return;
    }
    let mut publisher = SysPublisher::new(broker);
    let mut ticker = tokio::time::interval(interval);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => publisher.tick(),
        }
    }
}

/// The state between ticks: last published values and load averages.
pub struct SysPublisher {
    broker: Broker,
    last: HashMap<String, String>,
    loads: HashMap<&'static str, Load>,
    last_tick: Instant,
}

impl SysPublisher {
    pub fn new(broker: Broker) -> Self {
        SysPublisher {
            broker,
            last: HashMap::new(),
            loads: HashMap::new(),
            last_tick: Instant::now(),
        }
    }

    /// Computes every value and publishes those that changed.
    pub fn tick(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_tick).as_secs_f64();
        self.last_tick = now;
        // One gathering path for `$SYS` and `/metrics` (`Broker::snapshot`).
        let snap = self.broker.snapshot();
        let (s, c) = (snap.counters, snap.counts);
        let uptime = snap.uptime.as_secs();

        let mut values: Vec<(String, String)> = vec![
            (
                "version".into(),
                format!("tern version {}", env!("CARGO_PKG_VERSION")),
            ),
            ("uptime".into(), format!("{uptime} seconds")),
            ("clients/connected".into(), c.clients_connected.to_string()),
            ("clients/active".into(), c.clients_connected.to_string()),
            (
                "clients/disconnected".into(),
                c.clients_disconnected.to_string(),
            ),
            (
                "clients/inactive".into(),
                c.clients_disconnected.to_string(),
            ),
            ("clients/total".into(), c.clients_total.to_string()),
            ("clients/maximum".into(), s.clients_maximum.to_string()),
            ("clients/expired".into(), s.clients_expired.to_string()),
            ("messages/received".into(), s.messages_received.to_string()),
            ("messages/sent".into(), s.messages_sent.to_string()),
            ("messages/stored".into(), c.stored_messages.to_string()),
            ("bytes/received".into(), s.bytes_received.to_string()),
            ("bytes/sent".into(), s.bytes_sent.to_string()),
            (
                "publish/messages/received".into(),
                s.publish_received.to_string(),
            ),
            ("publish/messages/sent".into(), s.publish_sent.to_string()),
            (
                "publish/messages/dropped".into(),
                s.publish_dropped.to_string(),
            ),
            (
                "publish/bytes/received".into(),
                s.publish_bytes_received.to_string(),
            ),
            (
                "publish/bytes/sent".into(),
                s.publish_bytes_sent.to_string(),
            ),
            ("retained messages/count".into(), c.retained.to_string()),
            ("subscriptions/count".into(), c.subscriptions.to_string()),
            ("store/messages/count".into(), c.stored_messages.to_string()),
            ("store/messages/bytes".into(), c.stored_bytes.to_string()),
        ];
        let loads: [(&'static str, u64); 8] = [
            ("messages/received", s.messages_received),
            ("messages/sent", s.messages_sent),
            ("publish/received", s.publish_received),
            ("publish/sent", s.publish_sent),
            ("publish/dropped", s.publish_dropped),
            ("bytes/received", s.bytes_received),
            ("bytes/sent", s.bytes_sent),
            ("connections", s.connections),
        ];
        for (name, total) in loads {
            let load = self.loads.entry(name).or_default();
            load.update(total, elapsed);
            for (avg, (_, suffix)) in load.avg.iter().zip(LOAD_WINDOWS) {
                values.push((format!("load/{name}/{suffix}"), format!("{avg:.2}")));
            }
        }

        for (name, value) in values {
            if self.last.get(&name) == Some(&value) {
                continue;
            }
            let payload = Bytes::from(value.clone().into_bytes());
            // `$SYS/broker/...` is this node's own; in a cluster the same values go to every
            // node as `$SYS/brokers/<node_id>/...` (retained, so a new subscriber sees every
            // node's latest).
            let node = self.broker.config().cluster.as_ref().map(|c| &c.node_id);
            let topics = std::iter::once(format!("$SYS/broker/{name}"))
                .chain(node.map(|id| format!("$SYS/brokers/{id}/{name}")));
            for topic in topics {
                let Ok(topic) = TopicName::new(topic) else {
                    continue;
                };
                self.broker.publish(
                    Message {
                        topic,
                        payload: payload.clone(),
                        qos: QoS::AtMostOnce,
                        retain: true,
                        properties: None,
                        origin: None,
                        expires_at: None,
                    },
                    None,
                );
            }
            self.last.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_converges_to_the_rate() {
        let mut l = Load::default();
        let mut total = 0;
        for _ in 0..2000 {
            total += 10; // 10 per 10 s = 60 per minute
            l.update(total, 10.0);
        }
        for avg in l.avg {
            assert!((avg - 60.0).abs() < 0.5, "{avg}");
        }
    }
}
