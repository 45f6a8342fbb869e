//! A level of the topic tree and what it remembers: counts, the message rate, and the last
//! values (bounded, see [`super`]).

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use tern_codec::QoS;

pub type NodeId = u32;

/// Seconds over which the message rate is averaged (an exponentially weighted rate: a
/// steady stream of f msg/s reads f; a topic gone quiet decays towards 0).
pub const RATE_WINDOW_S: f64 = 10.0;

/// One value a topic had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// Tree-wide arrival number (orders values across topics; never reused).
    pub seq: u64,
    pub at_ms: u64,
    /// The payload, cut to [`super::VALUE_BYTES`] (see `size` for the original length).
    pub payload: Bytes,
    pub size: usize,
    pub qos: QoS,
    pub retain: bool,
}

impl Value {
    pub fn is_cut(&self) -> bool {
        self.payload.len() < self.size
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    value: f64,
    at_ms: u64,
}

impl Rate {
    pub fn hit(&mut self, now_ms: u64) {
        self.value = self.at(now_ms) + 1.0 / RATE_WINDOW_S;
        self.at_ms = now_ms;
    }

    /// Messages per second at `now_ms`.
    pub fn at(&self, now_ms: u64) -> f64 {
        #[allow(clippy::cast_precision_loss)] // milliseconds, far below 2^52
        let dt = now_ms.saturating_sub(self.at_ms) as f64 / 1000.0;
        self.value * (-dt / RATE_WINDOW_S).exp()
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// This level's name (may be empty: `a//b`, `/a`).
    pub name: Box<str>,
    pub parent: Option<NodeId>,
    pub depth: u16,
    /// Ordered by name, so the tree reads alphabetically.
    pub children: BTreeMap<Box<str>, NodeId>,
    /// Messages to exactly this topic.
    pub messages: u64,
    /// Messages to this topic and every topic below it.
    pub subtree_messages: u64,
    /// Topics (levels that received a message) here and below.
    pub subtree_topics: u32,
    /// Newest last; at most [`super::HISTORY`].
    pub history: VecDeque<Value>,
    pub last_at: u64,
    pub rate: Rate,
    /// The last message came with RETAIN set (from the broker's retained store) and was not
    /// an empty "clear" message.
    pub retained: bool,
    pub expanded: bool,
}

impl Node {
    pub fn new(name: &str, parent: Option<NodeId>, depth: u16) -> Node {
        Node {
            name: name.into(),
            parent,
            depth,
            children: BTreeMap::new(),
            messages: 0,
            subtree_messages: 0,
            subtree_topics: 0,
            history: VecDeque::new(),
            last_at: 0,
            rate: Rate::default(),
            retained: false,
            // Top levels start open; deeper ones closed.
            expanded: depth <= 1,
        }
    }

    pub fn last(&self) -> Option<&Value> {
        self.history.back()
    }

    /// The value before the last one (for the JSON diff).
    pub fn previous(&self) -> Option<&Value> {
        self.history.iter().rev().nth(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_reads_its_rate_and_a_quiet_topic_decays() {
        let mut r = Rate::default();
        // 4 msg/s for a minute.
        for i in 0..240 {
            r.hit(i * 250);
        }
        let now = 240 * 250;
        assert!((r.at(now) - 4.0).abs() < 0.2, "{}", r.at(now));
        assert!(r.at(now + 60_000) < 0.02, "{}", r.at(now + 60_000));
        assert_eq!(Rate::default().at(5), 0.0);
    }
}
