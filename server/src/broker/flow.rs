//! Flow control between publishers and subscriber queues: draining a session's queue into
//! its in-flight window, and pacing publishers while a subscriber is congested.
//!
//! A live subscriber whose queue passes half of `max_queued_messages` is *congested*: the
//! publisher that pushed it there pauses reading (see `session`) until the queue drains, so
//! fast publishers run at the speed of their consumers, much as with a single-threaded
//! broker. A subscriber that does not drain within the wait is a *slow consumer*: publishers
//! stop waiting for it and its queue limit drops messages instead (QoS 0 first), so one stuck
//! client can neither grow memory nor stall everyone else. It paces publishers again only
//! after it emptied its queue and at least `SLOW_COOLDOWN` passed, so a subscriber that
//! reads just enough to leave the congested state cannot throttle publishers indefinitely.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_codec::QoS;
use tokio::sync::Notify;

use super::{Broker, Delivery, SessionKey};

/// How long a subscriber marked slow stops pacing publishers, at least.
const SLOW_COOLDOWN: Duration = Duration::from_secs(10);

/// A live subscriber whose queue passed the congestion mark.
#[derive(Debug, Clone)]
pub struct Congestion {
    pub key: SessionKey,
    /// Woken when the subscriber's queue drains (or it disconnects).
    pub drained: Arc<Notify>,
}

/// The outcome of [`Broker::publish`].
#[derive(Debug)]
pub struct Published {
    /// Subscriptions the message was delivered to (v5 PUBACK 0x10 when zero).
    pub matched: usize,
    /// Set when the publisher should pause reading until this subscriber drains.
    pub congestion: Option<Congestion>,
    /// The commit holding what must be stored before PUBACK / PUBREC (0: nothing).
    pub commit: super::Commit,
}

impl Broker {
    /// Queue length at which a live subscriber counts as congested: half the limit, so
    /// publishers slow down well before messages are dropped.
    pub(super) fn congestion_mark(&self) -> usize {
        (self.inner.config.max_queued_messages / 2).max(1)
    }

    /// Moves queued deliveries of `key` into `out`: all QoS 0 at the head, and QoS 1/2 while
    /// `window` (free in-flight slots) lasts, at most `max` in total. Returns whether messages
    /// remain queued.
    pub fn drain(
        &self,
        key: SessionKey,
        mut window: usize,
        max: usize,
        out: &mut Vec<Delivery>,
    ) -> bool {
        let mut st = self.lock();
        let Some(s) = st.sessions.get_mut(key) else {
            return false;
        };
        while out.len() < max {
            match s.queue.front_qos() {
                None => break,
                Some(QoS::AtMostOnce) => {}
                Some(_) if window > 0 => window -= 1,
                Some(_) => break,
            }
            out.extend(s.queue.pop());
        }
        if s.congested && s.queue.len() < self.congestion_mark() {
            // Caught up: release waiting publishers.
            s.congested = false;
            if let Some(live) = &s.live {
                live.drained.notify_waiters();
            }
        }
        // Forgive an earlier slowness only once the queue is empty and the cool-down is over.
        if s.slow && s.queue.is_empty() && s.slow_until.is_none_or(|t| t <= Instant::now()) {
            s.slow = false;
            s.slow_until = None;
        }
        s.queue.shrink_if_empty();
        !s.queue.is_empty()
    }

    /// Whether a publisher should keep waiting for `key` to drain.
    pub fn still_congested(&self, key: SessionKey) -> bool {
        let st = self.lock();
        st.sessions
            .get(key)
            .is_some_and(|s| s.live.is_some() && s.congested && !s.slow)
    }

    /// A congested subscriber did not drain in time: stop slowing publishers for it; its
    /// queue limit and drop policy protect memory instead.
    pub fn mark_slow(&self, key: SessionKey) {
        let mut st = self.lock();
        if let Some(s) = st.sessions.get_mut(key)
            && s.congested
            && !s.slow
        {
            s.slow = true;
            s.slow_until = Some(Instant::now() + SLOW_COOLDOWN);
            tracing::warn!(client_id = %s.client_id, queued = s.queue.len(), "slow consumer: messages beyond max_queued_messages will be dropped");
            if let Some(live) = &s.live {
                live.drained.notify_waiters();
            }
        }
    }
    /// Resolves when the congested subscriber drained (or left); marks it slow when
    /// `deadline` passes first. A publisher's session waits on this instead of reading.
    pub async fn wait_drained(&self, c: Congestion, deadline: tokio::time::Instant) {
        let notified = c.drained.notified();
        tokio::pin!(notified);
        // Registered before the check, so a drain right after it is not missed.
        notified.as_mut().enable();
        if !self.still_congested(c.key) {
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            self.mark_slow(c.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tern_codec::{SubscriptionOptions, TopicFilter, TopicName};

    use super::*;
    use crate::broker::{ConnectRequest, Message};
    use crate::store::ConnectionInfo;

    fn msg() -> Message {
        Message {
            topic: TopicName::new("t").unwrap(),
            payload: Bytes::from_static(b"x"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: None,
            origin: None,
            expires_at: None,
        }
    }

    /// A subscriber marked slow stops pacing publishers until its queue is empty and the
    /// cool-down has passed: draining just below the congestion mark is not enough.
    #[tokio::test]
    async fn a_slow_consumer_cannot_throttle_publishers_again_by_draining_a_little() {
        let broker = Broker::new(crate::Config {
            max_queued_messages: 10,
            ..crate::Config::default()
        });
        let info = Arc::new(ConnectionInfo::new(
            None,
            ([127, 0, 0, 1], 1).into(),
            "tcp",
            "5.0",
            0,
        ));
        let sub = broker
            .connect(&ConnectRequest {
                client_id: "slow".into(),
                clean_start: true,
                expiry: 0,
                will: None,
                info,
            })
            .await
            .unwrap();
        let filter = TopicFilter::new("t").unwrap();
        broker.subscribe(
            sub.key,
            &[(filter, SubscriptionOptions::new(QoS::AtLeastOnce))],
            None,
        );
        let congested = |b: &Broker| b.publish(msg(), None).congestion.is_some();
        let first = (0..6).map(|_| congested(&broker)).collect::<Vec<_>>();
        assert_eq!(
            first.iter().filter(|c| **c).count(),
            2,
            "mark at 5: {first:?}"
        );
        broker.mark_slow(sub.key);
        // Drain below the mark but not empty: still slow, publishers are not paced.
        let mut out = Vec::new();
        broker.drain(sub.key, 3, 3, &mut out);
        assert!((0..4).all(|_| !congested(&broker)), "still slow");
        // Empty, but within the cool-down: still slow.
        broker.drain(sub.key, 100, 100, &mut out);
        assert!((0..6).all(|_| !congested(&broker)), "cool-down");
    }
}
