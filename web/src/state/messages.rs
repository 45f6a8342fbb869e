//! The received-message list: newest N kept (memory is bounded), a count of what was dropped,
//! and Pause, which freezes the list while new arrivals are held and counted.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tern_codec::{Props, PublishProperties, QoS, TopicFilter};

use super::properties;

pub const DEFAULT_CAPACITY: usize = 1_000;
pub const MAX_CAPACITY: usize = 100_000;
/// Payload (and property) bytes kept at most (shown + held), whatever the message count.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Assigned by the log; unique and increasing, the key of the rendered row.
    pub id: u64,
    /// Arrival time, milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub topic: String,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub payload: Bytes,
    /// Colour of the first subscription whose filter matched on arrival.
    pub color: Option<String>,
    /// That subscription's filter, named in the row (colour alone does not tell everyone).
    pub filter: Option<String>,
    /// MQTT 5 properties as received (no allocation when there are none).
    pub properties: Props<PublishProperties>,
}

impl Message {
    /// Bytes counted against [`MAX_BYTES`]: the payload and what the properties hold.
    pub fn weight(&self) -> usize {
        self.payload.len() + properties::heap_bytes(&self.properties)
    }
}

/// One page of the list, newest first, with how many matching messages are newer and older.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagePage {
    pub rows: Vec<Arc<Message>>,
    pub newer: usize,
    pub older: usize,
}

#[derive(Debug, Clone)]
pub struct MessageLog {
    /// What the list shows, oldest first.
    shown: VecDeque<Arc<Message>>,
    /// Arrived while paused, oldest first.
    held: VecDeque<Arc<Message>>,
    capacity: usize,
    bytes: usize,
    dropped: u64,
    paused: bool,
    arrived_while_paused: u64,
    next_id: u64,
}

impl Default for MessageLog {
    fn default() -> Self {
        MessageLog::new(DEFAULT_CAPACITY)
    }
}

impl MessageLog {
    pub fn new(capacity: usize) -> MessageLog {
        MessageLog {
            shown: VecDeque::new(),
            held: VecDeque::new(),
            capacity: capacity.clamp(1, MAX_CAPACITY),
            bytes: 0,
            dropped: 0,
            paused: false,
            arrived_while_paused: 0,
            next_id: 1,
        }
    }

    pub fn push(&mut self, mut m: Message) {
        m.id = self.next_id;
        self.next_id += 1;
        self.bytes += m.weight();
        if self.paused {
            self.arrived_while_paused += 1;
            self.held.push_back(Arc::new(m));
        } else {
            self.shown.push_back(Arc::new(m));
        }
        self.trim();
    }

    /// Oldest first: shown messages go before held ones, which are newer. While paused the
    /// two queues are bounded separately so the frozen view does not change under the user.
    fn trim(&mut self) {
        loop {
            let over_bytes = self.bytes > MAX_BYTES && self.shown.len() + self.held.len() > 1;
            let queue = if self.held.len() > self.capacity {
                &mut self.held
            } else if self.shown.len() > self.capacity {
                &mut self.shown
            } else if over_bytes {
                // Oldest first, except that a paused view gives up held messages first.
                if self.shown.is_empty() || (self.paused && self.held.len() > 1) {
                    &mut self.held
                } else {
                    &mut self.shown
                }
            } else {
                return;
            };
            let Some(gone) = queue.pop_front() else {
                return;
            };
            self.bytes -= gone.weight();
            self.dropped += 1;
        }
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.clamp(1, MAX_CAPACITY);
        self.trim();
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn clear(&mut self) {
        self.shown.clear();
        self.held.clear();
        self.bytes = 0;
        self.dropped = 0;
        self.arrived_while_paused = 0;
    }

    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Shows what arrived while paused.
    pub fn resume(&mut self) {
        self.paused = false;
        self.arrived_while_paused = 0;
        self.shown.append(&mut self.held);
        self.trim();
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Messages that arrived since Pause (including any dropped while held).
    pub fn arrived_while_paused(&self) -> u64 {
        self.arrived_while_paused
    }

    /// Messages dropped to keep within the limits since the last Clear.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Messages in the list (not counting held ones).
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// The newest `limit` messages as shown, newest first, optionally only those matching a
    /// subscription's filter (real MQTT matching from the codec). The view renders a window
    /// of the list, so a flood never asks for more DOM than `limit` rows per frame.
    pub fn visible(&self, only: Option<&TopicFilter>, limit: usize) -> Vec<Arc<Message>> {
        self.shown
            .iter()
            .rev()
            .filter(|m| only.is_none_or(|f| f.matches(&m.topic)))
            .take(limit)
            .cloned()
            .collect()
    }

    /// A page of at most `limit` matching messages, newest first, starting at message id
    /// `from` (inclusive) and going back, or at the newest when `from` is `None`. The view
    /// shows one page at a time, so its DOM never holds more than `limit` rows however far
    /// back the user pages.
    pub fn page(&self, only: Option<&TopicFilter>, from: Option<u64>, limit: usize) -> MessagePage {
        let matching: Vec<&Arc<Message>> = self
            .shown
            .iter()
            .rev()
            .filter(|m| only.is_none_or(|f| f.matches(&m.topic)))
            .collect();
        let start = from.map_or(0, |id| matching.partition_point(|m| m.id > id));
        let end = (start + limit).min(matching.len());
        MessagePage {
            rows: matching[start..end].iter().map(|m| Arc::clone(m)).collect(),
            newer: start,
            older: matching.len() - end,
        }
    }

    /// How many shown messages match the filter (all of them without one).
    pub fn count_matching(&self, only: Option<&TopicFilter>) -> usize {
        match only {
            None => self.shown.len(),
            Some(f) => self.shown.iter().filter(|m| f.matches(&m.topic)).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(topic: &str, payload: &'static [u8]) -> Message {
        Message {
            id: 0,
            at_ms: 0,
            topic: topic.into(),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            payload: Bytes::from_static(payload),
            color: None,
            filter: None,
            properties: Props::none(),
        }
    }

    fn topics(log: &MessageLog) -> Vec<String> {
        log.visible(None, usize::MAX)
            .iter()
            .map(|m| m.topic.clone())
            .collect()
    }

    #[test]
    fn newest_first_with_unique_ids() {
        let mut log = MessageLog::new(10);
        log.push(msg("a", b""));
        log.push(msg("b", b""));
        let v = log.visible(None, 10);
        assert_eq!(topics(&log), ["b", "a"]);
        assert!(v[0].id > v[1].id);
    }

    #[test]
    fn keeps_the_newest_n_and_counts_the_dropped() {
        let mut log = MessageLog::new(3);
        for t in ["1", "2", "3", "4", "5"] {
            log.push(msg(t, b""));
        }
        assert_eq!(topics(&log), ["5", "4", "3"]);
        assert_eq!(log.dropped(), 2);
        log.set_capacity(1);
        assert_eq!(topics(&log), ["5"]);
        assert_eq!(log.dropped(), 4);
        log.set_capacity(0);
        assert_eq!(log.capacity(), 1, "at least one message is kept");
    }

    #[test]
    fn payload_bytes_are_bounded_too() {
        static BIG: [u8; MAX_BYTES / 2 + 1] = [0; MAX_BYTES / 2 + 1];
        let mut log = MessageLog::new(10);
        for t in ["a", "b", "c"] {
            log.push(msg(t, &BIG));
        }
        assert_eq!(topics(&log), ["c"]);
        assert_eq!(log.dropped(), 2);
    }

    #[test]
    fn property_bytes_count_against_the_bound() {
        let big = Bytes::from(vec![b'x'; MAX_BYTES / 2 + 1]);
        let mut log = MessageLog::new(10);
        for t in ["a", "b"] {
            let mut m = msg(t, b"");
            m.properties = PublishProperties {
                correlation_data: Some(big.clone()),
                ..Default::default()
            }
            .into();
            log.push(m);
        }
        assert_eq!(topics(&log), ["b"], "empty payloads, but big properties");
        assert_eq!(log.dropped(), 1);
    }

    #[test]
    fn pause_freezes_the_list_and_counts_arrivals() {
        let mut log = MessageLog::new(3);
        log.push(msg("old", b""));
        log.pause();
        for t in ["n1", "n2", "n3", "n4"] {
            log.push(msg(t, b""));
        }
        assert_eq!(topics(&log), ["old"], "frozen while paused");
        assert_eq!(log.arrived_while_paused(), 4);
        assert_eq!(log.dropped(), 1, "held messages are bounded as well");
        log.resume();
        assert_eq!(topics(&log), ["n4", "n3", "n2"]);
        assert_eq!(log.arrived_while_paused(), 0);
        assert_eq!(log.dropped(), 2);
    }

    #[test]
    fn clear_empties_everything() {
        let mut log = MessageLog::new(1);
        log.push(msg("a", b"x"));
        log.push(msg("b", b"x"));
        log.clear();
        assert!(log.is_empty());
        assert_eq!(log.dropped(), 0);
        log.push(msg("c", b""));
        assert_eq!(topics(&log), ["c"]);
    }

    #[test]
    fn filter_uses_mqtt_wildcard_matching_mqtt_4_7_1_2() {
        let mut log = MessageLog::new(10);
        for t in ["e2e/a", "e2e/b/c", "other", "$SYS/x"] {
            log.push(msg(t, b""));
        }
        let f = TopicFilter::new("e2e/#").unwrap();
        let only: Vec<String> = log
            .visible(Some(&f), 10)
            .iter()
            .map(|m| m.topic.clone())
            .collect();
        assert_eq!(only, ["e2e/b/c", "e2e/a"]);
        assert_eq!(log.count_matching(Some(&f)), 2);
        // [MQTT-4.7.2-1]: '#' alone does not match $-topics.
        let all = TopicFilter::new("#").unwrap();
        assert_eq!(log.visible(Some(&all), 10).len(), 3);
        assert_eq!(log.count_matching(None), 4);
    }

    #[test]
    fn pages_hold_a_bounded_window_anchored_at_a_message() {
        let mut log = MessageLog::new(100);
        for i in 0..10 {
            log.push(msg(if i % 2 == 0 { "a/x" } else { "b" }, b""));
        }
        let ids = |p: &MessagePage| p.rows.iter().map(|m| m.id).collect::<Vec<_>>();
        let newest = log.page(None, None, 3);
        assert_eq!(ids(&newest), [10, 9, 8]);
        assert_eq!((newest.newer, newest.older), (0, 7));
        let older = log.page(None, Some(7), 3);
        assert_eq!(ids(&older), [7, 6, 5]);
        assert_eq!((older.newer, older.older), (3, 4));
        // New arrivals do not move a page anchored at a message.
        log.push(msg("b", b""));
        assert_eq!(ids(&log.page(None, Some(7), 3)), [7, 6, 5]);
        let f = TopicFilter::new("a/#").unwrap();
        let only = log.page(Some(&f), Some(8), 2);
        assert_eq!(ids(&only), [7, 5]);
        assert_eq!((only.newer, only.older), (1, 2));
    }

    #[test]
    fn visible_is_a_window_of_the_newest() {
        let mut log = MessageLog::new(10);
        for t in ["1", "2", "3", "4"] {
            log.push(msg(t, b""));
        }
        let newest: Vec<String> = log
            .visible(None, 2)
            .iter()
            .map(|m| m.topic.clone())
            .collect();
        assert_eq!(newest, ["4", "3"]);
    }
}
