//! Putting the state loaded from the durable store back into memory at start, before any
//! client connects, and removing what expired while the broker was down (through ops, so the
//! store agrees).

use bytestring::ByteString;

use super::subscriptions::Subscriber;
use super::{Broker, Message, State};
use crate::store::{Image, Op, PendingWill, Stored};

/// What [`Broker::restore`] put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Restored {
    pub retained: usize,
    pub sessions: usize,
    /// Sessions that expired while the broker was down.
    pub expired_sessions: usize,
}

/// What expired while the broker was down, found by the loader.
#[derive(Debug, Default)]
pub struct Expired {
    /// (session id, entry) of queued messages.
    pub entries: Vec<(u64, Stored)>,
    pub retained: Vec<ByteString>,
}

impl Broker {
    /// Puts a loaded image into an empty broker. Sessions come back offline with
    /// `disconnected_at` = now and what is left of their expiry, so a reconnecting client
    /// gets Session Present 1 [MQTT-3.2.2-2] and its in-flight messages are resent with DUP
    /// [MQTT-4.4.0-1]. Wills of sessions that expired while the broker was down are
    /// published, because their session ended [MQTT-3.1.3-9]; those of sessions that were
    /// connected when it stopped are due after their delay.
    pub fn restore(&self, image: Image, expired: Expired) -> Restored {
        let mut done = Restored::default();
        let mut st = self.lock();
        for m in &image.retained {
            st.retained.set(m);
            done.retained += 1;
        }
        let durable = self.inner.durable;
        if durable {
            for topic in expired.retained {
                st.ops.push(Op::Retain { topic, msg: None });
            }
            for (sid, e) in expired.entries {
                st.ops.push(Op::Dequeue {
                    sid,
                    seq: e.seq,
                    mid: e.mid,
                });
            }
        }
        let mut wills: Vec<Message> = Vec::new();
        for img in image.sessions {
            if img.expired {
                done.expired_sessions += 1;
                wills.extend(img.will.map(|(m, _)| m));
                if durable && img.sid != 0 {
                    st.ops.push(Op::SessionGone { sid: img.sid });
                }
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
            let State { sessions, .. } = &mut *st;
            let Some(s) = sessions.get_mut(key) else {
                continue;
            };
            s.sid = if durable { img.sid } else { 0 };
            s.disconnected_at = img.disconnected_at;
            s.subscriptions = img
                .subscriptions
                .into_iter()
                .map(|(f, o, id)| (f, (o, id)))
                .collect();
            let seqs = img
                .queue
                .iter()
                .chain(img.inflight.iter().map(|f| &f.delivery));
            s.next_seq = seqs
                .filter_map(|d| d.stored.map(|e| e.seq))
                .max()
                .unwrap_or(0);
            for d in img.queue {
                // No limit: the stored queue already respected the limits.
                s.queue.push(d, 0, 0, &mut Vec::new());
            }
            s.inflight = img.inflight;
            s.incoming_qos2 = img.incoming_qos2;
            s.will = img.will.map(|(msg, at)| Box::new(PendingWill { msg, at }));
            done.sessions += 1;
        }
        for w in wills {
            self.publish_locked(&mut st, w);
        }
        self.commit(&mut st);
        drop(st);
        // The expiry task computes its first deadline from the restored sessions.
        self.inner.timer.notify_one();
        done
    }
}
