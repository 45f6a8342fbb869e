//! Broker statistics from `$SYS/broker/#` (Mosquitto's topic names, which Tern publishes
//! too): the latest value of each, rates worked out from the counters, short trends, and
//! whether the broker publishes `$SYS` at all.

use std::collections::VecDeque;
use std::fmt::Write;

use super::html::push_esc;
use super::num::{self, fixed};

/// The filter the Broker view subscribes to.
pub const FILTER: &str = "$SYS/broker/#";
/// Silence after subscribing that means "this broker publishes no `$SYS`". Brokers publish
/// `$SYS` retained (Mosquitto, Tern), so values arrive at once when there are any.
pub const SILENCE_MS: u64 = 12_000;
/// Points kept per trend.
pub const TREND: usize = 60;
/// `$SYS` topics kept at most (a broker could publish many).
pub const MAX_TOPICS: usize = 500;

/// The figures shown, in order: label, `$SYS/broker/` suffix, and how to read it.
const FIGURES: [(&str, &str, Kind); 10] = [
    ("Clients connected", "clients/connected", Kind::Plain),
    (
        "Messages received per second",
        "messages/received",
        Kind::Rate,
    ),
    ("Messages sent per second", "messages/sent", Kind::Rate),
    ("Bytes received per second", "bytes/received", Kind::Rate),
    ("Bytes sent per second", "bytes/sent", Kind::Rate),
    ("Subscriptions", "subscriptions/count", Kind::Plain),
    ("Retained messages", "retained messages/count", Kind::Plain),
    ("Clients total", "clients/total", Kind::Plain),
    ("Uptime", "uptime", Kind::Uptime),
    ("Version", "version", Kind::Text),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// A counter; shown as its change per second.
    Rate,
    Uptime,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    NotSubscribed,
    Waiting,
    Live,
    /// Nothing arrived within [`SILENCE_MS`].
    Missing,
    /// The broker refused the subscription (reason in words).
    Refused(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SysStats {
    /// `$SYS/broker/` suffix → latest value, in arrival order (a short list: plain vectors
    /// keep the bundle smaller than maps would).
    values: Vec<(String, String)>,
    /// Per figure (index into `FIGURES`): (time, value) points of the shown value.
    trends: [VecDeque<(u64, f64)>; FIGURES.len()],
    /// Per figure: the counter's last sample (time, count), for rates.
    last_count: [Option<(u64, f64)>; FIGURES.len()],
    subscribed_at: Option<u64>,
    refused: Option<String>,
}

impl SysStats {
    pub fn subscribed(&mut self, now_ms: u64) {
        self.subscribed_at = Some(now_ms);
        self.refused = None;
    }

    pub fn refused(&mut self, reason: String) {
        self.refused = Some(reason);
    }

    pub fn availability(&self, now_ms: u64) -> Availability {
        if let Some(r) = &self.refused {
            return Availability::Refused(r.clone());
        }
        match self.subscribed_at {
            None => Availability::NotSubscribed,
            Some(_) if !self.values.is_empty() => Availability::Live,
            Some(t) if now_ms.saturating_sub(t) < SILENCE_MS => Availability::Waiting,
            Some(_) => Availability::Missing,
        }
    }

    /// A `$SYS/broker/...` message arrived.
    pub fn offer(&mut self, topic: &str, payload: &[u8], now_ms: u64) {
        let Some(name) = topic.strip_prefix("$SYS/broker/") else {
            return;
        };
        let text = String::from_utf8_lossy(payload).trim().to_owned();
        for (i, (_, key, kind)) in FIGURES.iter().enumerate() {
            if *key != name {
                continue;
            }
            let first = text.split(' ').next().unwrap_or("");
            let Some(v) = num::parse(first) else { continue };
            let point = match kind {
                Kind::Rate => {
                    let prev = self.last_count[i].replace((now_ms, v));
                    match prev {
                        Some((t, c)) if now_ms > t && v >= c => {
                            #[allow(clippy::cast_precision_loss)]
                            let dt = (now_ms - t) as f64 / 1000.0;
                            Some((v - c) / dt)
                        }
                        _ => None,
                    }
                }
                Kind::Plain => Some(v),
                Kind::Uptime | Kind::Text => None,
            };
            if let Some(p) = point {
                let t = &mut self.trends[i];
                t.push_back((now_ms, p));
                if t.len() > TREND {
                    t.pop_front();
                }
            }
        }
        if let Some(i) = self.values.iter().position(|(k, _)| k == name) {
            self.values[i].1 = text;
        } else if self.values.len() < MAX_TOPICS {
            self.values.push((name.to_owned(), text));
        }
    }

    /// The latest raw value of `$SYS/broker/<name>`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The panel's body as HTML: a line saying where the figures come from (or why there
    /// are none), then each figure with its value and trend, then every other `$SYS` topic.
    pub fn html(&self, now_ms: u64) -> String {
        let mut h = String::with_capacity(4096);
        let note = match self.availability(now_ms) {
            Availability::NotSubscribed => "Connect to see the broker's statistics.".to_owned(),
            Availability::Waiting => {
                format!("Subscribed to {FILTER}; waiting for the broker's statistics…")
            }
            Availability::Live => format!("From {FILTER}, as the broker publishes them."),
            Availability::Missing => format!(
                "This broker publishes no $SYS statistics: nothing arrived on {FILTER} within {} s of subscribing. \
                 (Mosquitto publishes them unless sys_interval is 0; Tern too.)",
                SILENCE_MS / 1000
            ),
            Availability::Refused(r) => format!(
                "The broker refused the subscription to {FILTER} ({r}), so there are no statistics to show."
            ),
        };
        h.push_str(r#"<p class="sys-note">"#);
        push_esc(&mut h, &note);
        h.push_str(r#"</p><dl class="stats">"#);
        for (i, (label, key, kind)) in FIGURES.iter().enumerate() {
            let trend = Some(&self.trends[i]);
            let value = match kind {
                Kind::Rate => trend
                    .and_then(|t| t.back())
                    .map_or_else(|| "–".to_owned(), |p| fixed(p.1, 1)),
                Kind::Uptime => self.value(key).map_or_else(|| "–".to_owned(), uptime),
                _ => self.value(key).unwrap_or("–").to_owned(),
            };
            let _ = write!(
                h,
                r#"<div><dt id="sys-{i}">{label}</dt><dd aria-labelledby="sys-{i}">"#
            );
            push_esc(&mut h, &value);
            h.push_str("</dd>");
            if let Some(t) = trend.filter(|t| t.len() > 1) {
                sparkline(&mut h, label, t);
            }
            h.push_str("</div>");
        }
        h.push_str("</dl>");
        let mut others: Vec<_> = self
            .values
            .iter()
            .filter(|(k, _)| !FIGURES.iter().any(|f| f.1 == k.as_str()))
            .collect();
        others.sort();
        if !others.is_empty() {
            let _ = write!(
                h,
                r#"<details><summary>All $SYS topics ({})</summary><table class="sys-all"><tbody>"#,
                others.len()
            );
            for (k, v) in others {
                h.push_str("<tr><th>");
                push_esc(&mut h, k);
                h.push_str("</th><td>");
                push_esc(&mut h, v);
                h.push_str("</td></tr>");
            }
            h.push_str("</tbody></table></details>");
        }
        h
    }
}

/// "3 d 4 h", "5 h 2 min", "42 s" from Mosquitto's "N seconds".
fn uptime(v: &str) -> String {
    let Some(s) = v
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return v.to_owned();
    };
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn sparkline(h: &mut String, label: &str, t: &VecDeque<(u64, f64)>) {
    let (lo, hi) = t
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let span = (hi - lo).max(1e-9);
    let n = t.len().max(2) - 1;
    // Decorative: the value itself is in the list, and a second element named after the
    // figure would make "Clients connected" ambiguous to find.
    let _ = write!(
        h,
        r#"<svg class="spark" viewBox="0 0 120 24" aria-hidden="true" data-figure="{label}"><polyline fill="none" stroke="currentColor" stroke-width="1.5" points=""#
    );
    for (i, (_, v)) in t.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = i as f64 * 120.0 / n as f64;
        let y = 22.0 - (v - lo) / span * 20.0;
        let _ = write!(h, "{},{} ", fixed(x, 1), fixed(y, 1));
    }
    h.push_str(r#""/></svg>"#);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_rates_and_trends() {
        let mut s = SysStats::default();
        s.subscribed(0);
        assert_eq!(s.availability(1_000), Availability::Waiting);
        s.offer("$SYS/broker/clients/connected", b"3", 1_000);
        s.offer("$SYS/broker/messages/received", b"100", 1_000);
        s.offer("$SYS/broker/messages/received", b"150", 11_000);
        s.offer("$SYS/broker/uptime", b"3725 seconds", 11_000);
        s.offer("$SYS/broker/version", b"mosquitto version 2.0.11", 11_000);
        s.offer("$SYS/broker/load/bytes/sent/1min", b"12.5", 11_000);
        s.offer("other/topic", b"x", 11_000);
        assert_eq!(s.availability(11_000), Availability::Live);
        let h = s.html(11_000);
        assert!(
            h.contains(
                r#"<dt id="sys-0">Clients connected</dt><dd aria-labelledby="sys-0">3</dd>"#
            ),
            "{h}"
        );
        assert!(
            h.contains(r#"Messages received per second</dt><dd aria-labelledby="sys-1">5.0</dd>"#),
            "{h}"
        );
        assert!(h.contains(">1 h 2 min<") && h.contains("mosquitto version 2.0.11"));
        assert!(h.contains("All $SYS topics (1)") && h.contains("load/bytes/sent/1min"));
        s.offer("$SYS/broker/clients/connected", b"4", 12_000);
        assert!(
            s.html(12_000)
                .contains(r#"data-figure="Clients connected""#)
        );
    }

    #[test]
    fn silence_and_refusal_are_said_plainly() {
        let mut s = SysStats::default();
        assert_eq!(s.availability(0), Availability::NotSubscribed);
        s.subscribed(1_000);
        assert_eq!(s.availability(1_000 + SILENCE_MS), Availability::Missing);
        assert!(
            s.html(1_000 + SILENCE_MS)
                .contains("This broker publishes no $SYS statistics")
        );
        s.refused("0x87 not authorized".into());
        assert!(
            s.html(0)
                .contains("refused the subscription to $SYS/broker/# (0x87 not authorized)")
        );
        assert_eq!(uptime("59 seconds"), "59 s");
        assert_eq!(uptime("90061 seconds"), "1 d 1 h");
    }
}
