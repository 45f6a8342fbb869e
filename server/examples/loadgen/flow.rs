//! Flow control between the publishers and subscribers of one run (`--ahead`).
//!
//! Publishers pause while more than `ahead` messages are on their way to the slowest
//! subscriber. With `ahead` below the brokers' per-client queue limit
//! (`max_queued_messages`, 1000 in both) no broker ever has to drop a message, so the
//! figures are the sustainable delivery rate rather than how fast either broker discards
//! QoS 0. `ahead = 0` is open loop (drops then show as delivered < expected).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

/// A pause this long without any delivery counts the missing messages as lost so that
/// publishers go on (reported as `stalls`).
const STALL: Duration = Duration::from_millis(250);

/// Progress shared by the publishers and subscribers of one run.
pub struct Flow {
    sent: AtomicU64,
    received: Vec<AtomicU64>,
    /// Messages written off as lost after a stall.
    forgiven: AtomicU64,
    ahead: u64,
    progress: Notify,
    pub publishers_done: AtomicBool,
    pub stalls: AtomicU64,
}

impl Flow {
    pub fn new(subscribers: usize, ahead: u64) -> Flow {
        Flow {
            sent: AtomicU64::new(0),
            received: (0..subscribers).map(|_| AtomicU64::new(0)).collect(),
            forgiven: AtomicU64::new(0),
            ahead,
            progress: Notify::new(),
            publishers_done: AtomicBool::new(false),
            stalls: AtomicU64::new(0),
        }
    }

    /// Messages sent and not yet received by the slowest subscriber, minus written-off ones.
    fn outstanding(&self) -> u64 {
        let slowest = self.received.iter().map(|r| r.load(Relaxed)).min();
        let done = slowest.unwrap_or(u64::MAX) + self.forgiven.load(Relaxed);
        self.sent.load(Relaxed).saturating_sub(done)
    }

    /// Waits until `n` more messages may be sent, and counts them as sent. `false` when the
    /// deadline passed first. Check and count happen without an `.await` in between, so on
    /// the single-threaded runtime publishers cannot overshoot `ahead` together.
    pub async fn admit(&self, n: u64, deadline: Instant) -> bool {
        if self.ahead == 0 {
            self.sent.fetch_add(n, Relaxed);
            return true;
        }
        loop {
            let notified = self.progress.notified();
            tokio::pin!(notified);
            // Registered before the check, so progress right after it is not missed.
            notified.as_mut().enable();
            if self.outstanding() + n <= self.ahead.max(n) {
                self.sent.fetch_add(n, Relaxed);
                return true;
            }
            let until = (Instant::now() + STALL).min(deadline);
            if timeout_at(until, notified).await.is_err() {
                if Instant::now() >= deadline {
                    return false;
                }
                self.stalls.fetch_add(1, Relaxed);
                self.forgiven.fetch_add(self.outstanding(), Relaxed);
            }
        }
    }

    pub fn on_received(&self, subscriber: usize, n: u64) {
        if let Some(r) = self.received.get(subscriber) {
            r.fetch_add(n, Relaxed);
        }
        self.progress.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn admit_waits_for_the_slowest_subscriber() {
        rt().block_on(async {
            let flow = std::sync::Arc::new(Flow::new(2, 10));
            let deadline = Instant::now() + Duration::from_secs(5);
            assert!(flow.admit(10, deadline).await);
            let f = std::sync::Arc::clone(&flow);
            let waiting = tokio::spawn(async move { f.admit(4, deadline).await });
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished(), "10 outstanding: no room for 4");
            flow.on_received(0, 10);
            tokio::task::yield_now().await;
            assert!(
                !waiting.is_finished(),
                "subscriber 1 still has all 10 to get"
            );
            flow.on_received(1, 4);
            assert!(waiting.await.unwrap());
            assert_eq!(flow.outstanding(), 10);
            assert_eq!(flow.stalls.load(Relaxed), 0);
        });
    }

    #[test]
    fn a_stall_writes_the_missing_messages_off() {
        rt().block_on(async {
            let flow = Flow::new(1, 5);
            let deadline = Instant::now() + Duration::from_secs(10);
            assert!(flow.admit(5, deadline).await);
            // Nothing is ever received: after STALL the 5 count as lost.
            let t = Instant::now();
            assert!(flow.admit(5, deadline).await);
            assert!(t.elapsed() >= STALL);
            assert_eq!(flow.stalls.load(Relaxed), 1);
            assert_eq!(flow.outstanding(), 5);
        });
    }

    #[test]
    fn admit_gives_up_at_the_deadline_and_open_loop_never_waits() {
        rt().block_on(async {
            let flow = Flow::new(1, 5);
            let soon = Instant::now() + Duration::from_millis(50);
            assert!(flow.admit(5, soon).await);
            assert!(!flow.admit(1, soon).await);
            let open = Flow::new(1, 0);
            assert!(open.admit(1_000_000, soon).await);
        });
    }
}
