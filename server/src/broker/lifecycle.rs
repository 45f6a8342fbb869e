//! Session lifecycle: attach a connection (new, resumed or taken over), detach it (will,
//! expiry, offline queueing), expire offline sessions and fire delayed wills. For persistent
//! sessions with a durable store, each step also appends the session's record (or its
//! removal) so that a restart finds it as it was.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use tern_codec::Pid;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Broker, Commit, Inflight, Message, SessionKey, State, Stats, record};
use crate::store::{ConnectionInfo, LiveConnection, Op, PendingWill, StoredWill};

/// How long a new connection waits for the connection it takes over to hand back its state.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// What a session asks for when its CONNECT is accepted.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub client_id: ByteString,
    /// Clean Start / Clean Session [MQTT-3.1.2-4, MQTT-3.1.2-6].
    pub clean_start: bool,
    /// Session Expiry Interval in seconds (`NEVER_EXPIRES` for a 3.1.1 persistent session).
    pub expiry: u32,
    /// The will, stored with a persistent session so that it is published after a crash
    /// too (only read with a durable store).
    pub will: Option<StoredWill>,
    /// What the admin API shows of the connection.
    pub info: Arc<ConnectionInfo>,
}

/// A connection attached to its session.
#[derive(Debug)]
pub struct Attached {
    pub key: SessionKey,
    /// The durable store's session id (0: not stored).
    pub sid: u64,
    pub conn_id: u64,
    /// CONNACK Session Present [MQTT-3.2.2-1..3].
    pub session_present: bool,
    pub notify: Arc<Notify>,
    pub kick: CancellationToken,
    /// Cancel when the state has been handed back with [`Broker::detach`].
    pub done: CancellationToken,
    /// Unacknowledged outgoing messages to resend with DUP [MQTT-4.4.0-1].
    pub inflight: Vec<Inflight>,
    /// Incoming QoS 2 packet ids still awaiting PUBREL.
    pub incoming_qos2: Vec<Pid>,
    /// The commit holding the session's record (CONNACK waits for it).
    pub commit: Commit,
}

/// What a connection hands back when it ends.
#[derive(Debug)]
pub struct Detach {
    pub key: SessionKey,
    pub conn_id: u64,
    /// The will to publish, with its Will Delay Interval in seconds; `None` after a normal
    /// DISCONNECT [MQTT-3.1.2-10, MQTT-3.14.4-3].
    pub will: Option<(Message, u32)>,
    /// Session Expiry Interval in force at disconnect (may have been changed by DISCONNECT).
    pub expiry: u32,
    pub inflight: Vec<Inflight>,
    pub incoming_qos2: Vec<Pid>,
}

impl Broker {
    /// Attaches a new connection to the session of `req.client_id`, taking over a connected
    /// one first [MQTT-3.1.4-3]: the old connection is kicked and we wait until it has handed
    /// its state back (bounded), so a resumed session keeps its in-flight messages.
    pub async fn connect(&self, req: &ConnectRequest) -> Result<Attached, String> {
        if let Some(link) = &self.inner.cluster {
            // Cluster-wide, one node at a time serves a client id [MQTT-3.1.4-3]: take the
            // session over from another node first (its state comes with it).
            if let crate::cluster::Claim::Unavailable(why) = link.claim(req.client_id.clone()).await
            {
                return Err(why);
            }
        }
        let mut attempts = 0;
        loop {
            let done = match self.try_attach(req) {
                Ok(a) => return Ok(a),
                Err(done) => done,
            };
            attempts += 1;
            let finished = tokio::time::timeout(TAKEOVER_WAIT, done.cancelled())
                .await
                .is_ok();
            if !finished || attempts >= 3 {
                // The old connection is stuck or keeps being replaced: detach it by force;
                // its later `detach` is then treated as stale.
                let mut st = self.lock();
                if let Some(k) = st.sessions.key_of(&req.client_id) {
                    st.sessions.set_live(k, None);
                }
            }
        }
    }

    fn try_attach(&self, req: &ConnectRequest) -> Result<Attached, CancellationToken> {
        let now = Instant::now();
        let mut st = self.lock();
        let mut session_present = false;
        let mut inflight = Vec::new();
        let mut incoming_qos2 = Vec::new();
        if let Some(key) = st.sessions.key_of(&req.client_id) {
            let (live, expired) = match st.sessions.get(key) {
                Some(s) => (s.live.clone(), s.expires_at().is_some_and(|t| t <= now)),
                None => (None, true),
            };
            if let Some(live) = live {
                live.kick.cancel();
                return Err(live.done);
            }
            if expired {
                // Expired before the expiry task got to it: counted like one it ended.
                Stats::add(&self.inner.stats.clients_expired, 1);
            }
            if req.clean_start || expired {
                // Clean Start discards the old session [MQTT-3.1.2-4]; a delayed will is
                // sent because its session ends [MQTT-3.1.3-9].
                self.end_session(&mut st, key);
            } else if let Some(s) = st.sessions.get_mut(key) {
                // Resumed: a new connection before the will delay ran out cancels the will
                // [MQTT-3.1.3-9].
                s.will = None;
                session_present = true;
                inflight = std::mem::take(&mut s.inflight);
                incoming_qos2 = std::mem::take(&mut s.incoming_qos2);
            }
        }
        let key = match st.sessions.key_of(&req.client_id) {
            Some(k) => k,
            None => st.sessions.create(req.client_id.clone(), req.expiry).key,
        };
        let live = LiveConnection {
            id: self.next_conn_id(),
            notify: Arc::new(Notify::new()),
            kick: CancellationToken::new(),
            done: CancellationToken::new(),
            drained: Arc::new(Notify::new()),
            info: Arc::clone(&req.info),
        };
        let conn_id = live.id;
        let (notify, kick, done) = (
            Arc::clone(&live.notify),
            live.kick.clone(),
            live.done.clone(),
        );
        st.sessions.set_live(key, Some(live));
        let mut sid = 0;
        let State { sessions, ops, .. } = &mut *st;
        if let Some(s) = sessions.get_mut(key) {
            s.expiry = req.expiry;
            s.disconnected_at = None;
            if self.inner.durable {
                // Newly persistent (or resumed from a session that was not stored): its
                // subscriptions go into the store with it. Now ending with its connection:
                // nothing of it stays stored. In a cluster every session has a record (which
                // node owns it, its will for when that node dies).
                let keep = req.expiry > 0 || self.inner.cluster.is_some();
                let promoted = keep && s.sid == 0;
                if promoted {
                    s.sid = self.inner.store.next_sid();
                } else if !keep && s.sid != 0 {
                    ops.push(Op::SessionGone { sid: s.sid });
                    s.sid = 0;
                }
                if s.sid != 0 {
                    ops.push(record(s, req.will.clone()));
                }
                if promoted {
                    for (filter, (options, id)) in &s.subscriptions {
                        ops.push(Op::Subscribe {
                            sid: s.sid,
                            filter: filter.clone(),
                            options: *options,
                            id: *id,
                        });
                    }
                }
            }
            sid = s.sid;
        }
        let connected = st.sessions.connected();
        let commit = self.commit(&mut st);
        drop(st);
        self.inner.stats.note_connected(connected as u64);
        Ok(Attached {
            key,
            sid,
            conn_id,
            session_present,
            notify,
            kick,
            done,
            inflight,
            incoming_qos2,
            commit,
        })
    }

    /// Hands a finished connection's state back: publishes the will now or schedules it
    /// (Will Delay Interval), keeps or ends the session by its expiry [MQTT-3.1.2-23].
    pub fn detach(&self, d: Detach) {
        let now = Instant::now();
        let mut st = self.lock();
        let current = st
            .sessions
            .get(d.key)
            .is_some_and(|s| s.live.as_ref().map(|l| l.id) == Some(d.conn_id));
        let will_now = if !current {
            // Forced off by a takeover that timed out: only the will is left to send.
            d.will.map(|(w, _)| w)
        } else if d.expiry == 0 {
            self.end_session(&mut st, d.key);
            d.will.map(|(w, _)| w)
        } else {
            self.park(&mut st, d, now)
        };
        if let Some(w) = will_now {
            self.publish_locked(&mut st, w);
        }
        self.commit(&mut st);
    }

    /// Keeps a disconnected session (expiry > 0): in-flight state for the resend, the will
    /// scheduled when delayed; returns a will to publish now.
    fn park(&self, st: &mut State, d: Detach, now: Instant) -> Option<Message> {
        st.sessions.set_live(d.key, None);
        let keep_qos0 = self.inner.config.queue_qos0_messages;
        let State { sessions, ops, .. } = st;
        let s = sessions.get_mut(d.key)?;
        s.expiry = d.expiry;
        s.disconnected_at = Some(now);
        s.inflight = d.inflight;
        s.incoming_qos2 = d.incoming_qos2;
        // QoS 0 is not kept for offline clients (section 4.1 "MAY") unless
        // `queue_qos0_messages`, as in Mosquitto.
        if !keep_qos0 {
            s.queue.drop_qos0();
        }
        let mut will_now = None;
        if let Some((w, delay)) = d.will {
            if delay == 0 {
                will_now = Some(w);
            } else {
                // Sent when the delay or the session ends, whichever is first [MQTT-3.1.3-9].
                let wait = Duration::from_secs(u64::from(delay.min(d.expiry)));
                s.will = Some(Box::new(PendingWill {
                    msg: w,
                    at: now + wait,
                }));
            }
        }
        if self.inner.durable && s.sid != 0 {
            // The packet ids of everything in flight, for the resend after a restart
            // [MQTT-4.4.0-1] (QoS 2 ones were stored when sent).
            for f in &s.inflight {
                if let Some(e) = f.delivery.stored {
                    ops.push(Op::Sent {
                        sid: s.sid,
                        seq: e.seq,
                        pid: f.pid,
                        released: f.released,
                    });
                }
            }
            let will = s.will.as_ref().map(|w| StoredWill::Due {
                msg: w.msg.clone(),
                at: w.at,
            });
            ops.push(record(s, will));
        }
        let deadline = match (s.will.as_ref().map(|w| w.at), s.expires_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(at) = deadline
            && st.next_deadline.is_none_or(|n| at < n)
        {
            st.next_deadline = Some(at);
            self.inner.timer.notify_one();
        }
        will_now
    }

    /// Removes a session: its subscriptions, queue and in-flight state. A pending delayed
    /// will is published because the session ended [MQTT-3.1.3-9].
    pub(super) fn end_session(&self, st: &mut State, key: SessionKey) {
        let Some(s) = st.sessions.remove(key) else {
            return;
        };
        for filter in s.subscriptions.keys() {
            st.subs.remove(filter, key);
            if self.inner.cluster.is_some() {
                self.cluster_unsubscribed(st, key, filter);
            }
        }
        if self.inner.durable && s.sid != 0 {
            st.ops.push(Op::SessionGone { sid: s.sid });
        }
        if let Some(w) = s.will {
            self.publish_locked(st, w.msg);
        }
    }

    pub(super) fn publish_locked(&self, st: &mut State, msg: Message) {
        let msg = Arc::new(msg);
        // Wills and expiry run outside any publisher's session: nobody to slow down.
        self.dispatch(st, &msg, &mut None);
    }

    /// Fires delayed wills and ends expired offline sessions; returns the next deadline.
    pub fn expire(&self, now: Instant) -> Option<Instant> {
        let mut st = self.lock();
        let mut wills = Vec::new();
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        let durable = self.inner.durable;
        let State { sessions, ops, .. } = &mut *st;
        for s in sessions.iter_mut() {
            if s.will.as_ref().is_some_and(|w| w.at <= now) {
                wills.extend(s.will.take().map(|w| w.msg));
                if durable && s.sid != 0 {
                    // Published now: not again after a restart.
                    ops.push(record(s, None));
                }
            }
            match s.expires_at() {
                Some(at) if at <= now => expired.push(s.key),
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
            if let Some(w) = &s.will {
                next = Some(next.map_or(w.at, |n| n.min(w.at)));
            }
        }
        Stats::add(&self.inner.stats.clients_expired, expired.len() as u64);
        for key in expired {
            self.end_session(&mut st, key);
        }
        for w in wills {
            self.publish_locked(&mut st, w);
        }
        st.next_deadline = next;
        self.commit(&mut st);
        next
    }

    /// Waits until the expiry task should run again.
    pub async fn wait_for_deadline(&self, next: Option<Instant>) {
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = self.inner.timer.notified() => {}
                }
            }
            None => self.inner.timer.notified().await,
        }
    }

    /// Without persistence the sessions end with the server, so delayed wills are sent at
    /// shutdown [MQTT-3.1.3-9]. (With persistence they are stored and kept.)
    pub fn flush_pending_wills(&self) {
        let mut st = self.lock();
        let wills: Vec<Message> = st
            .sessions
            .iter_mut()
            .filter_map(|s| s.will.take().map(|w| w.msg))
            .collect();
        for w in wills {
            self.publish_locked(&mut st, w);
        }
        self.commit(&mut st);
    }
}
