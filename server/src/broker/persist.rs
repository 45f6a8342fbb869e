//! The broker's side of persistence (`store::persist`): a consistent copy of the state
//! taken under the lock, restoring a loaded snapshot, and the change count behind
//! `autosave_on_changes`.

use std::sync::atomic::Ordering;

use super::subscriptions::Subscriber;
use super::{Broker, Message};
use crate::store::PendingWill;
use crate::store::persist::{Clock, SessionImage, Snapshot};

/// A `$SYS/...` statistics message (not persisted, not counted as a change).
pub(super) fn is_sys(m: &Message) -> bool {
    m.topic.as_str().starts_with("$SYS/")
}

/// What [`Broker::restore`] put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Restored {
    pub retained: usize,
    pub sessions: usize,
    /// Sessions that expired while the broker was down.
    pub expired_sessions: usize,
}

impl Broker {
    /// Copies what is persisted: retained messages and sessions with an expiry interval
    /// (v3.1.1 clean session 0, v5 Session Expiry Interval > 0; the others end with their
    /// connection [MQTT-3.1.2-23]). Messages are shared `Arc`s and nothing is encoded here,
    /// so the lock is held only for the walk; encoding and I/O happen after it is released.
    ///
    /// A connected session's in-flight window lives in its connection task, not in the
    /// store, so only snapshots taken after the connection closed (the shutdown one) hold
    /// it; autosaves of connected sessions hold subscriptions and queue.
    pub fn persist_snapshot(&self) -> (Snapshot, Clock) {
        let clock = Clock::now();
        let st = self.lock();
        let mut retained = Vec::with_capacity(st.retained.len());
        st.retained.all(clock.instant, &mut retained);
        // `$SYS` values describe this run; the new run publishes its own.
        retained.retain(|m| !is_sys(m));
        let sessions = st
            .sessions
            .iter()
            .filter(|s| s.expiry > 0)
            .map(|s| SessionImage {
                client_id: s.client_id.clone(),
                expiry: s.expiry,
                disconnected_at: if s.live.is_some() {
                    None
                } else {
                    s.disconnected_at
                },
                subscriptions: s
                    .subscriptions
                    .iter()
                    .map(|(f, (o, id))| (f.clone(), *o, *id))
                    .collect(),
                queue: s.queue.iter().cloned().collect(),
                inflight: s.inflight.clone(),
                incoming_qos2: s.incoming_qos2.clone(),
                will: s.will.as_ref().map(|w| (w.msg.clone(), w.at)),
                expired: false,
            })
            .collect();
        drop(st);
        (Snapshot { retained, sessions }, clock)
    }

    /// Puts a loaded snapshot into an empty broker (before any client connects). Sessions
    /// come back offline with `disconnected_at` = now and what is left of their expiry, so a
    /// reconnecting client gets Session Present 1 [MQTT-3.2.2-2] and its in-flight messages
    /// are resent with DUP [MQTT-4.4.0-1]. Wills of sessions that expired while the broker
    /// was down are published, because their session ended [MQTT-3.1.3-9].
    pub fn restore(&self, snap: Snapshot) -> Restored {
        let mut done = Restored::default();
        let mut st = self.lock();
        for m in &snap.retained {
            st.retained.set(m);
            done.retained += 1;
        }
        let mut wills: Vec<Message> = Vec::new();
        for img in snap.sessions {
            if img.expired {
                done.expired_sessions += 1;
                wills.extend(img.will.map(|(m, _)| m));
                continue;
            }
            if st.sessions.key_of(&img.client_id).is_some() {
                continue;
            }
            let key = st.sessions.create(img.client_id, img.expiry).key;
            for (filter, options, id) in &img.subscriptions {
                st.subs.insert(
                    filter,
                    Subscriber {
                        key,
                        options: *options,
                        id: *id,
                    },
                );
            }
            let Some(s) = st.sessions.get_mut(key) else {
                continue;
            };
            s.disconnected_at = img.disconnected_at;
            s.subscriptions = img
                .subscriptions
                .into_iter()
                .map(|(f, o, id)| (f, (o, id)))
                .collect();
            for d in img.queue {
                // No limit: the saved queue already respected `max_queued_messages`.
                s.queue.push(d, 0, 0);
            }
            s.inflight = img.inflight;
            s.incoming_qos2 = img.incoming_qos2;
            s.will = img.will.map(|(msg, at)| Box::new(PendingWill { msg, at }));
            done.sessions += 1;
        }
        for w in wills {
            self.publish_locked(&mut st, w);
        }
        drop(st);
        // The expiry task computes its first deadline from the restored sessions.
        self.inner.timer.notify_one();
        done
    }

    /// Counts one change for `autosave_on_changes` and wakes the autosave task when
    /// `autosave_interval` changes have accumulated.
    pub(super) fn note_change(&self) {
        let c = &self.inner.config;
        if !(c.persistence && c.autosave_on_changes && c.autosave_interval > 0) {
            return;
        }
        let n = self.inner.changes.fetch_add(1, Ordering::Relaxed) + 1;
        if n == c.autosave_interval {
            self.inner.autosave.notify_one();
        }
    }

    /// Waits until enough changes accumulated (`autosave_on_changes`) and resets the count.
    pub async fn changes_reached(&self) {
        self.inner.autosave.notified().await;
        self.inner.changes.store(0, Ordering::Relaxed);
    }
}
