//! `GET /metrics`: the broker's statistics in the Prometheus text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>), written by hand: the
//! format is a few lines of text per metric and needs no client library.
//!
//! The values come from [`Broker::snapshot`], the same gathering path as `$SYS`
//! (`sys.rs`), so both always agree. Naming follows Prometheus' conventions: every name
//! starts with `tern_`, counters end in `_total`, units are spelled out (`_seconds`,
//! `_bytes`). Rates (Mosquitto's `$SYS/broker/load/...`) are left to PromQL's `rate()`.

use std::fmt::Write;

use crate::broker::{Broker, Snapshot};

/// The `Content-Type` of the 0.0.4 text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// Renders the broker's current statistics.
pub fn render(broker: &Broker) -> String {
    render_snapshot(&broker.snapshot(), env!("CARGO_PKG_VERSION"))
}

/// Renders `snap`; `version` goes into `tern_build_info`.
pub fn render_snapshot(snap: &Snapshot, version: &str) -> String {
    let (s, c) = (&snap.counters, &snap.counts);
    let mut out = Exposition::default();
    use Kind::{Counter, Gauge};

    out.family(
        "tern_build_info",
        Gauge,
        "Always 1; the labels describe the build ($SYS/broker/version).",
    );
    out.sample("tern_build_info", &[("version", version)], "1");
    out.one(
        "tern_uptime_seconds",
        Gauge,
        "Seconds since the broker started ($SYS/broker/uptime).",
        snap.uptime.as_secs_f64(),
    );

    out.one(
        "tern_clients_connected",
        Gauge,
        "Clients with a connected session ($SYS/broker/clients/connected).",
        c.clients_connected,
    );
    out.one(
        "tern_clients_disconnected",
        Gauge,
        "Persistent sessions whose client is not connected ($SYS/broker/clients/disconnected).",
        c.clients_disconnected,
    );
    out.one(
        "tern_sessions",
        Gauge,
        "Sessions held, connected or not ($SYS/broker/clients/total).",
        c.clients_total,
    );
    out.one(
        "tern_clients_connected_maximum",
        Gauge,
        "Most clients connected at the same time since start ($SYS/broker/clients/maximum).",
        s.clients_maximum,
    );
    out.one("tern_clients_expired_total", Counter, "Offline sessions ended because their expiry interval passed ($SYS/broker/clients/expired).", s.clients_expired);

    out.family(
        "tern_connections_open",
        Gauge,
        "Network connections open per listener, including ones that have not completed CONNECT.",
    );
    out.sample(
        "tern_connections_open",
        &[("transport", "tcp")],
        s.connections_open_tcp,
    );
    out.sample(
        "tern_connections_open",
        &[("transport", "websocket")],
        s.connections_open_websocket,
    );
    out.one("tern_connections_total", Counter, "Network connections accepted on either listener (the count behind $SYS/broker/load/connections/*).", s.connections);

    out.one(
        "tern_subscriptions",
        Gauge,
        "Subscriptions, shared ones included ($SYS/broker/subscriptions/count).",
        c.subscriptions,
    );
    out.one(
        "tern_retained_messages",
        Gauge,
        "Retained messages ($SYS/broker/retained messages/count).",
        c.retained,
    );
    out.one(
        "tern_retained_payload_bytes",
        Gauge,
        "Payload bytes of the retained messages ($SYS/broker/store/messages/bytes).",
        c.stored_bytes,
    );
    out.one(
        "tern_queued_messages",
        Gauge,
        "Messages waiting in session queues for delivery, connected and offline sessions.",
        c.queued_messages,
    );
    out.one("tern_stored_messages", Gauge, "Retained plus queued messages ($SYS/broker/messages/stored, $SYS/broker/store/messages/count).", c.stored_messages);

    out.one(
        "tern_messages_received_total",
        Counter,
        "MQTT control packets of any type received ($SYS/broker/messages/received).",
        s.messages_received,
    );
    out.one(
        "tern_messages_sent_total",
        Counter,
        "MQTT control packets of any type sent ($SYS/broker/messages/sent).",
        s.messages_sent,
    );
    out.one(
        "tern_bytes_received_total",
        Counter,
        "Bytes of MQTT packets received ($SYS/broker/bytes/received).",
        s.bytes_received,
    );
    out.one(
        "tern_bytes_sent_total",
        Counter,
        "Bytes of MQTT packets sent ($SYS/broker/bytes/sent).",
        s.bytes_sent,
    );
    out.one(
        "tern_publish_messages_received_total",
        Counter,
        "PUBLISH packets received ($SYS/broker/publish/messages/received).",
        s.publish_received,
    );
    out.one(
        "tern_publish_messages_sent_total",
        Counter,
        "PUBLISH packets sent ($SYS/broker/publish/messages/sent).",
        s.publish_sent,
    );
    out.one("tern_publish_messages_dropped_total", Counter, "Messages not delivered: queue full, larger than the client's maximum packet size, or expired ($SYS/broker/publish/messages/dropped).", s.publish_dropped);
    out.one(
        "tern_publish_received_payload_bytes_total",
        Counter,
        "Payload bytes of PUBLISH packets received ($SYS/broker/publish/bytes/received).",
        s.publish_bytes_received,
    );
    out.one(
        "tern_publish_sent_payload_bytes_total",
        Counter,
        "Payload bytes of PUBLISH packets sent ($SYS/broker/publish/bytes/sent).",
        s.publish_bytes_sent,
    );
    out.text
}

/// Builds the text; one `# HELP` and `# TYPE` per family, written before its samples.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        // HELP text escapes only `\` and newline.
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                // Label values escape `\`, `"` and newline.
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                let _ = write!(self.text, "{label}=\"{v}\"");
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A family with a single unlabelled sample.
    fn one(&mut self, name: &str, kind: Kind, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::broker::{Counters, Counts};

    fn snapshot() -> Snapshot {
        Snapshot {
            uptime: Duration::from_millis(1500),
            counts: Counts {
                clients_connected: 2,
                retained: 7,
                ..Counts::default()
            },
            counters: Counters {
                messages_received: 42,
                connections_open_websocket: 3,
                ..Counters::default()
            },
        }
    }

    #[test]
    fn values_land_on_their_lines() {
        let text = render_snapshot(&snapshot(), "1.2.3");
        for line in [
            "tern_build_info{version=\"1.2.3\"} 1",
            "tern_uptime_seconds 1.5",
            "tern_clients_connected 2",
            "tern_retained_messages 7",
            "tern_messages_received_total 42",
            "tern_connections_open{transport=\"tcp\"} 0",
            "tern_connections_open{transport=\"websocket\"} 3",
            "# TYPE tern_messages_received_total counter",
            "# TYPE tern_clients_connected gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let text = render_snapshot(&snapshot(), "a\"b\\c\nd");
        assert!(
            text.contains("tern_build_info{version=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn counters_end_in_total_and_gauges_do_not() {
        let text = render_snapshot(&snapshot(), "0");
        let mut types = 0;
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut parts = line.split(' ').skip(2);
            let (name, kind) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(name.starts_with("tern_"), "{line}");
            assert_eq!(name.ends_with("_total"), kind == "counter", "{line}");
            types += 1;
        }
        assert_eq!(types, 23);
    }
}
