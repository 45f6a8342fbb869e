//! Shared broker state behind a cheap-`Clone` handle.
//!
//! One `std::sync::Mutex` guards the routing state (sessions, subscriptions, retained
//! messages). It is only ever held for short synchronous sections — never across `.await` —
//! so a publish is: lock, match the trie, push a `Delivery` into each subscriber's bounded
//! queue, wake the subscriber, unlock. Session tasks pull from their queue when woken and do
//! all encoding and I/O outside the lock.

mod flow;
mod lifecycle;
mod message;
mod persist;
mod security;
mod stats;
pub mod subscriptions;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use tern_codec::{QoS, RetainHandling, SubscriptionOptions, TopicFilter};
use tokio::sync::{Notify, Semaphore};

pub use flow::{Congestion, Published};
pub use lifecycle::{Attached, ConnectRequest, Detach};
pub use message::{Delivery, Inflight, Message, SessionKey};
pub use persist::Restored;
pub use stats::{Counters, Gauges, OpenConnection, Snapshot, Stats};
use subscriptions::{Match, Subscriber, SubscriptionTree, split_shared};

use crate::auth::Auth;
use crate::config::Config;
use crate::store::{Pushed, RetainedStore, SessionStore};

/// Handle to the broker; clone it freely (one `Arc`).
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    config: Config,
    /// Loaded `password_file` / `acl_file`, replaced on reload (see `security.rs`); read by
    /// the session tasks, never under the state lock.
    auth: RwLock<Arc<Auth>>,
    auth_generation: AtomicU64,
    throttle: crate::auth::throttle::Throttle,
    stats: Stats,
    gauges: Gauges,
    /// Wakes the expiry task when an earlier deadline appears.
    timer: Notify,
    started: Instant,
    next_conn_id: AtomicU64,
    connections: Arc<Semaphore>,
    /// Changes since the last save, for `autosave_on_changes` (see `persist.rs`).
    changes: AtomicU64,
    /// Wakes the autosave task once `autosave_interval` changes accumulated.
    autosave: Notify,
}

struct State {
    sessions: SessionStore,
    retained: RetainedStore,
    subs: SubscriptionTree,
    /// Reused match buffer: routing allocates nothing per message once warmed up.
    scratch: Vec<Match>,
    scratch_retained: Vec<Arc<Message>>,
    /// Earliest deadline the expiry task is sleeping towards.
    next_deadline: Option<Instant>,
}

/// The locked state; releasing it mirrors the counts statistics read into [`Gauges`].
struct StateGuard<'a> {
    guard: MutexGuard<'a, State>,
    gauges: &'a Gauges,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let (st, g) = (&*self.guard, self.gauges);
        Gauges::set(&g.sessions, st.sessions.len());
        Gauges::set(&g.connected, st.sessions.connected());
        Gauges::set(&g.retained, st.retained.len());
        Gauges::set(&g.retained_bytes, st.retained.bytes());
        Gauges::set(&g.subscriptions, st.subs.len());
    }
}

/// Counts shown in `$SYS` and `/metrics` that describe the locked state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub clients_connected: u64,
    pub clients_disconnected: u64,
    pub clients_total: u64,
    pub retained: u64,
    pub subscriptions: u64,
    pub stored_messages: u64,
    pub stored_bytes: u64,
    /// Messages waiting in session queues (connected and offline sessions).
    pub queued_messages: u64,
}

impl Broker {
    pub fn new(config: Config) -> Broker {
        Broker::with_auth(config, Auth::default())
    }

    /// A broker enforcing `auth` (see [`Auth::load`]).
    pub fn with_auth(config: Config, auth: Auth) -> Broker {
        let permits = config.connection_permits();
        let sessions = SessionStore::default();
        let gauges = Gauges {
            queued: sessions.queued_total(),
            ..Gauges::default()
        };
        Broker {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    sessions,
                    retained: RetainedStore::default(),
                    subs: SubscriptionTree::default(),
                    scratch: Vec::new(),
                    scratch_retained: Vec::new(),
                    next_deadline: None,
                }),
                config,
                auth: RwLock::new(Arc::new(auth)),
                auth_generation: AtomicU64::new(0),
                throttle: Default::default(),
                stats: Stats::default(),
                gauges,
                timer: Notify::new(),
                started: Instant::now(),
                next_conn_id: AtomicU64::new(1),
                connections: Arc::new(Semaphore::new(permits)),
                changes: AtomicU64::new(0),
                autosave: Notify::new(),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub fn started(&self) -> Instant {
        self.inner.started
    }

    /// The `max_connections` semaphore shared by the TCP and WebSocket listeners.
    pub fn connection_limit(&self) -> &Arc<Semaphore> {
        &self.inner.connections
    }

    fn lock(&self) -> StateGuard<'_> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // breaks memory safety; keep serving the other clients.
        StateGuard {
            guard: self
                .inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            gauges: &self.inner.gauges,
        }
    }

    fn next_conn_id(&self) -> u64 {
        self.inner.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Routes `msg` to every matching subscription and updates the retained store when the
    /// RETAIN flag is set.
    pub fn publish(&self, msg: Message) -> Published {
        let msg = Arc::new(msg);
        let retain_available = self.inner.config.retain_available;
        let mut st = self.lock();
        if msg.retain && retain_available {
            st.retained.set(&msg);
            if !persist::is_sys(&msg) {
                self.note_change();
            }
        }
        let mut congestion = None;
        let matched = self.route(&mut st, &msg, &mut congestion);
        Published {
            matched,
            congestion,
        }
    }

    fn route(
        &self,
        st: &mut State,
        msg: &Arc<Message>,
        congestion: &mut Option<Congestion>,
    ) -> usize {
        let State {
            sessions,
            subs,
            scratch,
            ..
        } = st;
        scratch.clear();
        subs.matches(
            &msg.topic,
            &|k| sessions.get(k).is_some_and(|s| s.live.is_some()),
            scratch,
        );
        // No Local: never back to the publishing session [MQTT-3.8.3-3].
        scratch.retain(|m| !(m.no_local && Some(m.key) == msg.origin));
        if scratch.len() > 1 {
            scratch.sort_unstable_by_key(|m| (m.shared, m.key));
        }
        let mut delivered = 0;
        let mut i = 0;
        while i < scratch.len() {
            let first = scratch[i];
            let mut qos = first.qos;
            let mut rap = first.retain_as_published;
            let mut ids: Vec<NonZeroU32> = first.id.into_iter().collect();
            let mut j = i + 1;
            // Overlapping subscriptions of one session: one copy at the highest QoS with
            // every Subscription Identifier [MQTT-3.3.4-2, MQTT-3.3.4-3].
            while !first.shared && j < scratch.len() && !scratch[j].shared {
                let m = scratch[j];
                if m.key != first.key {
                    break;
                }
                qos = qos.max(m.qos);
                rap |= m.retain_as_published;
                ids.extend(m.id);
                j += 1;
            }
            i = j;
            let d = Delivery {
                msg: Arc::clone(msg),
                qos: msg.qos.min(qos),
                // Live messages go out with RETAIN 0 unless Retain As Published
                // [MQTT-3.3.1-12, MQTT-3.3.1-13].
                retain: rap && msg.retain,
                sub_ids: ids,
            };
            if self.enqueue(sessions, first.key, d, congestion) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Pushes into one session's bounded queue. Offline sessions keep only QoS 1/2. Reports
    /// the first live subscriber whose queue passed the congestion mark.
    fn enqueue(
        &self,
        sessions: &mut SessionStore,
        key: SessionKey,
        d: Delivery,
        congestion: &mut Option<Congestion>,
    ) -> bool {
        let Some(s) = sessions.get_mut(key) else {
            return false;
        };
        if s.live.is_none() {
            if d.qos == QoS::AtMostOnce {
                return true;
            }
            self.note_change();
        }
        let config = &self.inner.config;
        match s
            .queue
            .push(d, config.max_queued_messages, config.max_queued_bytes)
        {
            Pushed::Queued => {}
            Pushed::DroppedNew | Pushed::DroppedOldQos0 => {
                Stats::add(&self.inner.stats.publish_dropped, 1);
            }
        }
        if let Some(live) = &s.live {
            live.notify.notify_one();
            let limit = self.inner.config.max_queued_messages;
            if limit > 0 && !s.slow && s.queue.len() >= self.congestion_mark() {
                s.congested = true;
                if congestion.is_none() {
                    *congestion = Some(Congestion {
                        key,
                        drained: Arc::clone(&live.drained),
                    });
                }
            }
        }
        true
    }

    /// Adds subscriptions for `key` with the options already granted, then queues the
    /// matching retained messages as Retain Handling asks [MQTT-3.3.1-9, MQTT-3.8.4-4].
    /// Returns, per filter, whether it was accepted: a new filter beyond
    /// `max_subscriptions` is not (replacing an existing one always is).
    pub fn subscribe(
        &self,
        key: SessionKey,
        filters: &[(TopicFilter, SubscriptionOptions)],
        id: Option<NonZeroU32>,
    ) -> Vec<bool> {
        let now = Instant::now();
        let retain_available = self.inner.config.retain_available;
        let quota = match self.inner.config.max_subscriptions {
            0 => usize::MAX,
            n => n,
        };
        self.note_change();
        let mut st = self.lock();
        let mut accepted = Vec::with_capacity(filters.len());
        let mut retained = std::mem::take(&mut st.scratch_retained);
        for (filter, options) in filters {
            let Some(s) = st.sessions.get(key) else {
                accepted.push(false);
                continue;
            };
            let ok = s.subscriptions.len() < quota || s.subscriptions.contains_key(filter.as_str());
            accepted.push(ok);
            if !ok {
                continue;
            }
            let existed = st.subs.insert(
                filter.as_str(),
                Subscriber {
                    key,
                    options: *options,
                    id,
                },
            );
            let Some(s) = st.sessions.get_mut(key) else {
                continue;
            };
            s.subscriptions
                .insert(filter.as_str().into(), (*options, id));
            let (group, inner) = split_shared(filter.as_str());
            let send = match options.retain_handling {
                RetainHandling::SendAtSubscribe => true,
                RetainHandling::SendIfNewSubscription => !existed,
                RetainHandling::DoNotSend => false,
            };
            // Retained messages are not sent for shared subscriptions (section 4.8.2).
            if !send || group.is_some() || !retain_available {
                continue;
            }
            retained.clear();
            st.retained.matching(inner, now, &mut retained);
            for msg in retained.drain(..) {
                let d = Delivery {
                    qos: msg.qos.min(options.qos),
                    msg,
                    retain: true,
                    sub_ids: id.into_iter().collect(),
                };
                // Retained messages answer this subscriber's own SUBSCRIBE: no publisher to
                // slow down.
                self.enqueue(&mut st.sessions, key, d, &mut None);
            }
        }
        st.scratch_retained = retained;
        accepted
    }

    /// Removes subscriptions; for each filter, whether it existed [MQTT-3.10.4-5].
    pub fn unsubscribe(&self, key: SessionKey, filters: &[TopicFilter]) -> Vec<bool> {
        self.note_change();
        let mut st = self.lock();
        filters
            .iter()
            .map(|f| {
                let removed = st.subs.remove(f.as_str(), key);
                if let Some(s) = st.sessions.get_mut(key) {
                    s.subscriptions.remove(f.as_str());
                }
                removed
            })
            .collect()
    }

    /// Counts for `$SYS` and `/metrics`, read without the lock (see [`Gauges`]).
    pub fn counts(&self) -> Counts {
        self.inner.gauges.counts()
    }
}
