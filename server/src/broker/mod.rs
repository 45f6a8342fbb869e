//! Shared broker state behind a cheap-`Clone` handle.
//!
//! One `std::sync::Mutex` guards the routing state (sessions, subscriptions, retained
//! messages). It is only ever held for short synchronous sections — never across `.await` —
//! so a publish is: lock, match the trie, push a `Delivery` into each subscriber's bounded
//! queue, wake the subscriber, unlock. Session tasks pull from their queue when woken and do
//! all encoding and I/O outside the lock.
//!
//! With persistence on, every change to a persistent session or a retained message is also
//! appended to the durable [`Store`] as an [`Op`], under the same lock so the store sees the
//! changes in the order they were made; callers get the [`Commit`] to wait for before they
//! acknowledge (see `store::durable`).
//!
//! * `routing.rs`: publish, fan-out into queues, subscribe / unsubscribe
//! * `lifecycle.rs`: attach, detach, expiry, wills
//! * `flow.rs`: draining queues into sessions, pacing publishers for congested subscribers
//! * `recovery.rs`: putting a loaded [`Image`](crate::store::Image) back
//! * `cluster.rs`: with `[cluster]`, what other nodes send (messages, retained, sessions)
//! * `subscriptions/`: the topic-filter trie; `stats.rs`, `security.rs`

pub mod admin;
mod cluster;
mod flow;
mod lifecycle;
mod recovery;
mod routing;
mod security;
mod stats;
pub mod subscriptions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use bytestring::ByteString;
use tokio::sync::{Notify, Semaphore, watch};

pub use crate::store::{Commit, Delivery, Inflight, Message, SessionKey};
pub use cluster::Adoption;
pub use flow::{Congestion, Published};
pub use lifecycle::{Attached, ConnectRequest, Detach};
pub use recovery::{Expired, Restored};
pub use stats::{Counters, Gauges, OpenConnection, Snapshot, Stats};
use subscriptions::{Match, SubscriptionTree};

use crate::auth::Auth;
use crate::cluster::Link;
use crate::config::Config;
use crate::store::{
    MemoryStore, Op, RetainedStore, SessionRecord, SessionStore, Store, StoredSession,
};

/// Handle to the broker; clone it freely (one `Arc`).
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

/// A handle that does not keep the broker alive (held by the cluster side, which the broker
/// itself holds).
#[derive(Clone)]
pub struct WeakBroker(std::sync::Weak<Inner>);

impl WeakBroker {
    pub fn upgrade(&self) -> Option<Broker> {
        self.0.upgrade().map(|inner| Broker { inner })
    }
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
    /// Where changes that must survive a crash go (`MemoryStore` without persistence).
    store: Arc<dyn Store>,
    /// `store.durable()`, read on every routed message.
    durable: bool,
    /// The other nodes (`[cluster]`); `None`: a single broker, and nothing below looks at
    /// the cluster fields.
    cluster: Option<Arc<dyn Link>>,
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
    /// Ops of the current locked section, appended to the store before unlocking.
    ops: Vec<Op>,
    /// Cluster only: local non-shared subscriptions per filter (a NATS subscription each).
    interest: HashMap<ByteString, u32>,
    /// Cluster only: the last message of the message stream routed here.
    stream_pos: u64,
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

    /// A broker enforcing `auth` (see [`Auth::load`]), without persistence.
    pub fn with_auth(config: Config, auth: Auth) -> Broker {
        Broker::with_store(config, auth, Arc::new(MemoryStore::default()))
    }

    /// A broker keeping what must survive a crash in `store`.
    pub fn with_store(config: Config, auth: Auth, store: Arc<dyn Store>) -> Broker {
        Broker::build(config, auth, store, None)
    }

    /// A cluster node: `store` and `link` are the node's NATS side (see `cluster`).
    pub fn with_cluster(
        config: Config,
        auth: Auth,
        store: Arc<dyn Store>,
        link: Arc<dyn Link>,
    ) -> Broker {
        Broker::build(config, auth, store, Some(link))
    }

    fn build(
        config: Config,
        auth: Auth,
        store: Arc<dyn Store>,
        cluster: Option<Arc<dyn Link>>,
    ) -> Broker {
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
                    ops: Vec::new(),
                    interest: HashMap::new(),
                    stream_pos: 0,
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
                durable: store.durable(),
                store,
                cluster,
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn downgrade(&self) -> WeakBroker {
        WeakBroker(Arc::downgrade(&self.inner))
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

    /// Whether changes are kept in a durable store (`persistence = true`).
    pub fn durable(&self) -> bool {
        self.inner.durable
    }

    /// Appends ops made outside the broker lock (by a session: sent, acknowledged, QoS 2
    /// ids); returns the commit to wait for.
    pub fn append(&self, ops: &mut Vec<Op>) -> Commit {
        if ops.is_empty() {
            return 0;
        }
        self.inner.store.append(ops)
    }

    /// The last commit known to be stored, and a receiver following it (`None` without a
    /// durable store: everything counts as committed at once).
    pub fn commits(&self) -> Option<watch::Receiver<Commit>> {
        self.inner.durable.then(|| self.inner.store.commits())
    }

    /// Writes every appended change and stops the store (graceful shutdown; blocking).
    pub fn close_store(&self) {
        self.inner.store.close();
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

    /// Appends the ops of this locked section (still under the lock, so the store sees them
    /// in the order they were made); the commit that will hold them, or 0 for none.
    fn commit(&self, st: &mut State) -> Commit {
        if st.ops.is_empty() {
            return 0;
        }
        self.inner.store.append(&mut st.ops)
    }

    fn next_conn_id(&self) -> u64 {
        self.inner.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts for `$SYS` and `/metrics`, read without the lock (see [`Gauges`]).
    pub fn counts(&self) -> Counts {
        self.inner.gauges.counts()
    }
}

/// The durable record of a session as it is now, with `will` (armed while connected, due
/// while disconnected).
fn record(s: &StoredSession, will: Option<crate::store::StoredWill>) -> Op {
    Op::Session(Box::new(SessionRecord {
        sid: s.sid,
        client_id: s.client_id.clone(),
        expiry: s.expiry,
        disconnected_at: if s.live.is_some() {
            None
        } else {
            s.disconnected_at
        },
        will,
    }))
}

/// A `$SYS/...` statistics message: describes this run, never persisted.
fn is_sys(m: &Message) -> bool {
    m.topic.as_str().starts_with("$SYS/")
}

/// `$SYS/broker/...`: this node's own statistics, never sent to other nodes (they publish
/// theirs; `$SYS/brokers/<node_id>/...` is the cluster-wide copy).
fn node_local(m: &Message) -> bool {
    m.topic.as_str().starts_with("$SYS/broker/")
}
