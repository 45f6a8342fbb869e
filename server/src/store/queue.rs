//! The bounded per-session queue of messages waiting for the in-flight window.

use std::collections::VecDeque;

use tern_codec::QoS;

use crate::broker::Delivery;

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

/// FIFO of deliveries with a length limit (`max_queued_messages`, 0 = no limit).
#[derive(Debug, Default)]
pub struct MessageQueue {
    items: VecDeque<Delivery>,
    qos0: usize,
}

impl MessageQueue {
    pub fn push(&mut self, d: Delivery, limit: usize) -> Pushed {
        if limit == 0 || self.items.len() < limit {
            self.push_back(d);
            return Pushed::Queued;
        }
        if d.qos == QoS::AtMostOnce || self.qos0 == 0 {
            return Pushed::DroppedNew;
        }
        if let Some(i) = self.items.iter().position(|x| x.qos == QoS::AtMostOnce) {
            self.items.remove(i);
            self.qos0 -= 1;
        }
        self.push_back(d);
        Pushed::DroppedOldQos0
    }

    fn push_back(&mut self, d: Delivery) {
        if d.qos == QoS::AtMostOnce {
            self.qos0 += 1;
        }
        self.items.push_back(d);
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
        Some(d)
    }

    /// Drops every queued QoS 0 message (a client going offline keeps only QoS 1/2).
    pub fn drop_qos0(&mut self) -> usize {
        let n = self.qos0;
        if n > 0 {
            self.items.retain(|d| d.qos != QoS::AtMostOnce);
            self.qos0 = 0;
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
    use crate::broker::Message;

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
        }
    }

    #[test]
    fn full_queue_drops_qos0_first() {
        let mut q = MessageQueue::default();
        assert_eq!(q.push(d(QoS::AtMostOnce, 1), 2), Pushed::Queued);
        assert_eq!(q.push(d(QoS::AtLeastOnce, 2), 2), Pushed::Queued);
        assert_eq!(q.push(d(QoS::AtMostOnce, 3), 2), Pushed::DroppedNew);
        assert_eq!(q.push(d(QoS::ExactlyOnce, 4), 2), Pushed::DroppedOldQos0);
        assert_eq!(q.push(d(QoS::ExactlyOnce, 5), 2), Pushed::DroppedNew);
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
            q.push(d(qos, i as u8), 0);
        }
        assert_eq!(q.drop_qos0(), 2);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|d| d.msg.payload[0]), Some(1));
    }
}
