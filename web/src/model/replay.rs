//! Replay of a loaded file: when each message is due, with its original spacing or as fast
//! as the connection allows, and how far along it is.

use super::export::Replayed;

/// Messages published per step when going as fast as allowed (then the page yields).
pub const BURST: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// The gaps between the original timestamps (capped, see [`MAX_GAP_MS`]).
    Original,
    AsFastAsAllowed,
}

/// A gap longer than this in the file is shortened to it (a night between two lines
/// should not stall a lesson).
pub const MAX_GAP_MS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct Replay {
    pub items: Vec<Replayed>,
    pub pace: Pace,
    next: usize,
    /// Per message: its offset from the start, in ms.
    offsets: Vec<u64>,
}

impl Replay {
    pub fn new(items: Vec<Replayed>, pace: Pace) -> Replay {
        let mut offsets = Vec::with_capacity(items.len());
        let mut at = 0u64;
        for (i, m) in items.iter().enumerate() {
            if i > 0 {
                let gap = m.timestamp.saturating_sub(items[i - 1].timestamp);
                at += gap.min(MAX_GAP_MS);
            }
            offsets.push(at);
        }
        Replay {
            items,
            pace,
            next: 0,
            offsets,
        }
    }

    /// The indexes due `elapsed_ms` after the start, in order; each is handed out once.
    pub fn due(&mut self, elapsed_ms: u64) -> std::ops::Range<usize> {
        let start = self.next;
        let end = match self.pace {
            Pace::AsFastAsAllowed => (start + BURST).min(self.items.len()),
            Pace::Original => self.offsets.partition_point(|o| *o <= elapsed_ms),
        }
        .max(start);
        self.next = end;
        start..end
    }

    /// Takes back messages that could not be sent yet (the send queue was full).
    pub fn retry_from(&mut self, i: usize) {
        self.next = self.next.min(i);
    }

    pub fn sent(&self) -> usize {
        self.next
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.items.len()
    }

    /// Milliseconds until the next message is due (for the timer).
    pub fn wait_ms(&self, elapsed_ms: u64) -> u64 {
        match self.pace {
            Pace::AsFastAsAllowed => 0,
            Pace::Original => self
                .offsets
                .get(self.next)
                .map_or(0, |o| o.saturating_sub(elapsed_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tern_codec::{QoS, TopicName};

    fn item(ts: u64) -> Replayed {
        Replayed {
            timestamp: ts,
            topic: TopicName::new("t").unwrap(),
            payload: Bytes::new(),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: Default::default(),
        }
    }

    #[test]
    fn original_spacing_follows_the_timestamps_with_long_gaps_capped() {
        let mut r = Replay::new(
            vec![item(1_000), item(1_500), item(1_500), item(100_000)],
            Pace::Original,
        );
        assert_eq!(r.due(0), 0..1);
        assert_eq!(r.wait_ms(0), 500);
        assert_eq!(r.due(499), 1..1);
        assert_eq!(r.due(500), 1..3);
        assert_eq!(r.wait_ms(600), 500 + MAX_GAP_MS - 600);
        assert_eq!(r.due(500 + MAX_GAP_MS), 3..4);
        assert!(r.is_done());
        assert_eq!(r.sent(), 4);
    }

    #[test]
    fn as_fast_as_allowed_goes_in_bursts_and_can_take_some_back() {
        let mut r = Replay::new((0..450).map(item).collect(), Pace::AsFastAsAllowed);
        assert_eq!(r.due(0), 0..BURST);
        r.retry_from(150);
        assert_eq!(r.sent(), 150);
        assert_eq!(r.due(0), 150..350);
        assert_eq!(r.due(0), 350..450);
        assert_eq!(r.due(0), 450..450);
        assert!(r.is_done());
    }
}
