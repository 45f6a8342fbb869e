//! The bounded per-session queue of messages waiting for the in-flight window.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tern_codec::QoS;

use crate::store::{Delivery, Stored};

/// What happened to a pushed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The queue was full: the new message was dropped.
    DroppedNew,
    /// The queue was full of something: the oldest QoS 0 message made room (QoS 0 is
    /// dropped first, it carries no delivery guarantee [section 4.3.1]).
    DroppedOldQos0,
}

/// FIFO of deliveries bounded by count (`max_queued_messages`) and by bytes
/// (`max_queued_bytes`: topic + payload); 0 = no limit for either.
///
/// Every queue of a broker adds its length to one shared total (`$SYS` `messages/stored`,
/// `tern_queued_messages`), so statistics never sum over all sessions under the lock.
#[derive(Debug, Default)]
pub struct MessageQueue {
    items: VecDeque<Delivery>,
    qos0: usize,
    bytes: usize,
    total: Arc<AtomicU64>,
}

impl Drop for MessageQueue {
    fn drop(&mut self) {
        self.total
            .fetch_sub(self.items.len() as u64, Ordering::Relaxed);
    }
}

/// Bytes a delivery counts against `max_queued_bytes`.
fn cost(d: &Delivery) -> usize {
    d.msg.topic.len() + d.msg.payload.len()
}

impl MessageQueue {
    /// An empty queue counted in `total`.
    pub fn counted_in(total: Arc<AtomicU64>) -> MessageQueue {
        MessageQueue {
            items: VecDeque::new(),
            qos0: 0,
            bytes: 0,
            total,
        }
    }

    /// Queues `d` within the limits; stored QoS 0 entries pushed out to make room are
    /// reported in `evicted` (for removal from the durable store).
    pub fn push(
        &mut self,
        d: Delivery,
        max_messages: usize,
        max_bytes: usize,
        evicted: &mut Vec<Stored>,
    ) -> Pushed {
        let fits = |q: &MessageQueue, extra: usize| {
            (max_messages == 0 || q.items.len() < max_messages)
                // An empty queue takes any one message, so a message larger than the byte
                // bound still reaches an idle subscriber.
                && (max_bytes == 0 || q.items.is_empty() || q.bytes + extra <= max_bytes)
        };
        let need = cost(&d);
        if fits(self, need) {
            self.push_back(d);
            return Pushed::Queued;
        }
        if d.qos == QoS::AtMostOnce || self.qos0 == 0 {
            return Pushed::DroppedNew;
        }
        // QoS 0 makes room for QoS 1/2, oldest first, as long as that is enough.
        while self.qos0 > 0 && !fits(self, need) {
            let Some(i) = self.items.iter().position(|x| x.qos == QoS::AtMostOnce) else {
                break;
            };
            if let Some(old) = self.items.remove(i) {
                self.bytes -= cost(&old);
                self.total.fetch_sub(1, Ordering::Relaxed);
                evicted.extend(old.stored);
            }
            self.qos0 -= 1;
        }
        if !fits(self, need) {
            return Pushed::DroppedNew;
        }
        self.push_back(d);
        Pushed::DroppedOldQos0
    }

    fn push_back(&mut self, d: Delivery) {
        if d.qos == QoS::AtMostOnce {
            self.qos0 += 1;
        }
        self.bytes += cost(&d);
        self.items.push_back(d);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes queued (topic + payload), as counted against `max_queued_bytes`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// QoS of the next message, if any.
    pub fn front_qos(&self) -> Option<QoS> {
        self.items.front().map(|d| d.qos)
    }

    pub fn pop(&mut self) -> Option<Delivery> {
        let d = self.items.pop_front()?;
        if d.qos == QoS::AtMostOnce {
            self.qos0 -= 1;
        }
        self.bytes -= cost(&d);
        self.total.fetch_sub(1, Ordering::Relaxed);
        Some(d)
    }

    /// Drops every queued QoS 0 message (a client going offline keeps only QoS 1/2).
    pub fn drop_qos0(&mut self) -> usize {
        let n = self.qos0;
        if n > 0 {
            self.items.retain(|d| d.qos != QoS::AtMostOnce);
            self.qos0 = 0;
            self.total.fetch_sub(n as u64, Ordering::Relaxed);
            self.bytes = self.items.iter().map(cost).sum();
        }
        n
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The queued deliveries, oldest first (for snapshots).
    pub fn iter(&self) -> impl Iterator<Item = &Delivery> {
        self.items.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Releases the buffer of an idle queue (keeps idle connections small).
    pub fn shrink_if_empty(&mut self) {
        if self.items.is_empty() && self.items.capacity() > 16 {
            self.items = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use tern_codec::TopicName;

    use super::*;
    use crate::store::Message;

    fn d(qos: QoS, tag: u8) -> Delivery {
        Delivery {
            msg: Arc::new(Message {
                topic: TopicName::new("t").unwrap(),
                payload: Bytes::from(vec![tag]),
                qos,
                retain: false,
                properties: None,
                origin: None,
                expires_at: None,
            }),
            qos,
            retain: false,
            sub_ids: Vec::new(),
            stored: None,
        }
    }

    #[test]
    fn full_queue_drops_qos0_first() {
        let mut q = MessageQueue::default();
        assert_eq!(
            q.push(d(QoS::AtMostOnce, 1), 2, 0, &mut Vec::new()),
            Pushed::Queued
        );
        assert_eq!(
            q.push(d(QoS::AtLeastOnce, 2), 2, 0, &mut Vec::new()),
            Pushed::Queued
        );
        assert_eq!(
            q.push(d(QoS::AtMostOnce, 3), 2, 0, &mut Vec::new()),
            Pushed::DroppedNew
        );
        assert_eq!(
            q.push(d(QoS::ExactlyOnce, 4), 2, 0, &mut Vec::new()),
            Pushed::DroppedOldQos0
        );
        assert_eq!(
            q.push(d(QoS::ExactlyOnce, 5), 2, 0, &mut Vec::new()),
            Pushed::DroppedNew
        );
        let tags: Vec<u8> = std::iter::from_fn(|| q.pop())
            .map(|d| d.msg.payload[0])
            .collect();
        assert_eq!(tags, vec![2, 4]);
    }

    #[test]
    fn drop_qos0_keeps_order_of_the_rest() {
        let mut q = MessageQueue::default();
        for (i, qos) in [
            QoS::AtMostOnce,
            QoS::AtLeastOnce,
            QoS::AtMostOnce,
            QoS::ExactlyOnce,
        ]
        .into_iter()
        .enumerate()
        {
            q.push(d(qos, i as u8), 0, 0, &mut Vec::new());
        }
        assert_eq!(q.drop_qos0(), 2);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|d| d.msg.payload[0]), Some(1));
    }

    /// `max_queued_bytes` (topic + payload: 2 bytes per test message) beside the count.
    #[test]
    fn byte_limit_applies_beside_the_count_limit() {
        let mut q = MessageQueue::default();
        assert_eq!(
            q.push(d(QoS::AtMostOnce, 1), 0, 5, &mut Vec::new()),
            Pushed::Queued
        );
        assert_eq!(
            q.push(d(QoS::AtLeastOnce, 2), 0, 5, &mut Vec::new()),
            Pushed::Queued
        );
        assert_eq!(q.bytes(), 4);
        assert_eq!(
            q.push(d(QoS::AtMostOnce, 3), 0, 5, &mut Vec::new()),
            Pushed::DroppedNew
        );
        // QoS 1 pushes the QoS 0 message out to fit.
        assert_eq!(
            q.push(d(QoS::AtLeastOnce, 4), 0, 5, &mut Vec::new()),
            Pushed::DroppedOldQos0
        );
        assert_eq!(
            q.push(d(QoS::AtLeastOnce, 5), 0, 5, &mut Vec::new()),
            Pushed::DroppedNew
        );
        assert_eq!((q.len(), q.bytes()), (2, 4));
        q.pop();
        q.pop();
        assert_eq!(q.bytes(), 0);
        // An empty queue takes a message larger than the bound.
        assert_eq!(
            q.push(d(QoS::AtLeastOnce, 6), 0, 1, &mut Vec::new()),
            Pushed::Queued
        );
    }

    #[test]
    fn queues_keep_a_shared_total() {
        let total = Arc::new(AtomicU64::new(0));
        let mut a = MessageQueue::counted_in(Arc::clone(&total));
        let mut b = MessageQueue::counted_in(Arc::clone(&total));
        a.push(d(QoS::AtMostOnce, 1), 0, 0, &mut Vec::new());
        a.push(d(QoS::AtLeastOnce, 2), 0, 0, &mut Vec::new());
        b.push(d(QoS::AtLeastOnce, 3), 1, 0, &mut Vec::new());
        b.push(d(QoS::AtLeastOnce, 4), 1, 0, &mut Vec::new());
        assert_eq!(total.load(Ordering::Relaxed), 3);
        a.drop_qos0();
        b.pop();
        assert_eq!(total.load(Ordering::Relaxed), 1);
        drop(a);
        assert_eq!(total.load(Ordering::Relaxed), 0);
    }
}
