//! [`Node`]: this Tern node's side of NATS. It is the broker's [`Store`] (ops appended under
//! the broker lock, committed in order by the writer task, see `writer.rs`) and its
//! [`Link`]; `start` connects, creates the streams and buckets, and `run` starts the tasks
//! that bring the other nodes' messages in (`inbound.rs`) and keep sessions owned
//! (`sessions.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use bytestring::ByteString;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::config::ClusterConfig;
use super::link::{BoxFuture, Claim, Link};
use super::record::Tracked;
use super::subject::{self, Kind};
use crate::broker::{Broker, WeakBroker};
use crate::store::{Commit, Message, Op, SessionKey, Store};

/// The message stream: every QoS 1/2 message, routed to every node in its order.
pub const MSG_STREAM: &str = "TERN_MSG";
/// The retained stream: one message per topic (an empty payload clears it).
pub const RETAINED_STREAM: &str = "TERN_RETAINED";
/// Session records (see `record.rs`).
pub const SESSIONS_BUCKET: &str = "tern_sessions";
/// Node heartbeats (see `sessions.rs`).
pub const NODES_BUCKET: &str = "tern_nodes";

/// How long start-up waits for NATS and JetStream (a cluster starting together needs a
/// moment to elect its JetStream leaders).
const STARTUP_WAIT: Duration = Duration::from_secs(30);
/// QoS 0 messages waiting to be sent to NATS; beyond it they are dropped (at most once).
const LIVE_QUEUE: usize = 65_536;
/// Bytes of a message's NATS payload beyond its PUBLISH packet (blob header, NATS headers).
pub const PAYLOAD_OVERHEAD: usize = 512;

/// A QoS 0 message for the other nodes, with its publishing session.
type LiveMsg = (Arc<Message>, Option<SessionKey>);

/// Ops waiting for the writer.
#[derive(Default)]
pub(super) struct Pending {
    pub ops: Vec<Op>,
    /// Commit number of the last append.
    pub last: Commit,
    pub closing: bool,
}

/// One node's NATS side.
pub struct Node {
    pub(super) me: Weak<Node>,
    pub(super) id: String,
    /// `<node_id>/<incarnation>`: this process, as owner of session records.
    pub(super) owner: String,
    pub(super) config: ClusterConfig,
    pub(super) client: async_nats::Client,
    pub(super) js: jetstream::Context,
    pub(super) msgs: stream::Stream,
    pub(super) sessions: kv::Store,
    pub(super) nodes: kv::Store,
    pending: Mutex<Pending>,
    pub(super) wake: Notify,
    pub(super) commits: watch::Sender<Commit>,
    next_sid: AtomicU64,
    live: mpsc::Sender<LiveMsg>,
    live_rx: Mutex<Option<mpsc::Receiver<LiveMsg>>>,
    pub(super) live_dropped: AtomicU64,
    /// The last retained-stream position applied to this node's retained store.
    pub(super) mirror_pos: watch::Sender<u64>,
    /// Records of this node's sessions, by store session id.
    pub(super) tracked: Mutex<HashMap<u64, Tracked>>,
    broker: OnceLock<WeakBroker>,
    /// Node liveness as last seen (see `sessions.rs`).
    pub(super) seen: Mutex<HashMap<String, super::sessions::Seen>>,
    /// Where the message stream was when this node started.
    pub(super) start_seq: u64,
    pub(super) started: std::time::Instant,
    pub(super) stop: CancellationToken,
    /// Cancelled when the writer has committed everything and stopped.
    pub(super) writer_done: CancellationToken,
    /// Messages a session may have queued (`max_queued_messages`), for takeover replays.
    pub(super) max_queued: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Retries `f` until it succeeds or [`STARTUP_WAIT`] has passed.
async fn patiently<T, E: std::fmt::Display, F, Fut>(what: &str, mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + STARTUP_WAIT;
    let mut delay = Duration::from_millis(100);
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if tokio::time::Instant::now() + delay < deadline => {
                tracing::info!("cluster: {what}: {e}; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
}

impl Node {
    /// Connects to NATS and makes sure the streams and buckets exist (waiting up to 30 s for
    /// NATS and its JetStream leaders). `max_queued` is `max_queued_messages`.
    pub async fn start(config: &ClusterConfig, max_queued: usize) -> Result<Arc<Node>, String> {
        let urls = config.nats.join(",");
        let client = patiently(&format!("connecting to NATS at {urls}"), || {
            async_nats::ConnectOptions::new()
                .name(format!("tern-{}", config.node_id))
                .connection_timeout(Duration::from_secs(2))
                .connect(config.nats.clone())
        })
        .await?;
        let js = jetstream::new(client.clone());
        let replicas = config.effective_replicas();
        let max_payload = i32::try_from(client.server_info().max_payload).unwrap_or(i32::MAX);
        let msgs = patiently("creating the message stream", || {
            js.get_or_create_stream(stream::Config {
                name: MSG_STREAM.into(),
                subjects: vec![Kind::Stored.all()],
                retention: stream::RetentionPolicy::Limits,
                max_age: config.message_retention,
                max_bytes: config.max_stream_bytes,
                discard: stream::DiscardPolicy::Old,
                storage: stream::StorageType::File,
                num_replicas: replicas,
                // Retried publishes (after a NATS server failed) are stored once.
                duplicate_window: Duration::from_secs(120),
                max_message_size: max_payload,
                allow_direct: true,
                ..Default::default()
            })
        })
        .await?;
        patiently("creating the retained stream", || {
            js.get_or_create_stream(stream::Config {
                name: RETAINED_STREAM.into(),
                subjects: vec![Kind::Retained.all()],
                retention: stream::RetentionPolicy::Limits,
                max_messages_per_subject: 1,
                storage: stream::StorageType::File,
                num_replicas: replicas,
                duplicate_window: Duration::from_secs(120),
                allow_direct: true,
                ..Default::default()
            })
        })
        .await?;
        let sessions = patiently("creating the session bucket", || {
            bucket(&js, SESSIONS_BUCKET, replicas, max_payload)
        })
        .await?;
        let nodes = patiently("creating the node bucket", || {
            bucket(&js, NODES_BUCKET, replicas, max_payload)
        })
        .await?;
        let start_seq = msgs.cached_info().state.last_sequence;
        let (live, live_rx) = mpsc::channel(LIVE_QUEUE);
        // Tells this process apart from an earlier one with the same node id (whose sessions
        // are then orphans to claim).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let incarnation = format!("{nanos:x}{:x}", std::process::id());
        Ok(Arc::new_cyclic(|me| Node {
            me: me.clone(),
            id: config.node_id.clone(),
            owner: format!("{}/{incarnation}", config.node_id),
            config: config.clone(),
            client,
            js,
            msgs,
            sessions,
            nodes,
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
            commits: watch::Sender::new(0),
            next_sid: AtomicU64::new(1),
            live,
            live_rx: Mutex::new(Some(live_rx)),
            live_dropped: AtomicU64::new(0),
            mirror_pos: watch::Sender::new(0),
            tracked: Mutex::new(HashMap::new()),
            broker: OnceLock::new(),
            seen: Mutex::new(HashMap::new()),
            start_seq,
            started: std::time::Instant::now(),
            stop: CancellationToken::new(),
            writer_done: CancellationToken::new(),
            max_queued,
        }))
    }

    /// Largest MQTT packet that fits NATS's `max_payload` once wrapped.
    pub fn max_packet_size(&self) -> u32 {
        let max = self.client.server_info().max_payload;
        u32::try_from(max.saturating_sub(PAYLOAD_OVERHEAD)).unwrap_or(u32::MAX)
    }

    /// Starts the node's tasks for `broker` and waits (bounded) until this node's retained
    /// store mirrors the cluster's.
    pub async fn run(self: &Arc<Node>, broker: &Broker) {
        let _ = self.broker.set(broker.downgrade());
        broker.start_stream_at(self.start_seq);
        tokio::spawn(super::writer::run(Arc::clone(self)));
        if let Some(rx) = lock(&self.live_rx).take() {
            tokio::spawn(super::inbound::send_live(Arc::clone(self), rx));
        }
        tokio::spawn(super::inbound::route_stored(Arc::clone(self)));
        tokio::spawn(super::inbound::mirror_retained(Arc::clone(self)));
        tokio::spawn(super::sessions::heartbeat(Arc::clone(self)));
        tokio::spawn(super::sessions::watch_nodes(Arc::clone(self)));
        tokio::spawn(super::sessions::serve_releases(Arc::clone(self)));
        if tokio::time::timeout(Duration::from_secs(10), self.retained_caught_up())
            .await
            .is_err()
        {
            tracing::warn!("cluster: retained messages not mirrored within 10 s; going on");
        }
        tracing::info!(node = %self.id, owner = %self.owner, nats = %self.config.nats.join(","), "cluster node started");
    }

    pub(super) fn broker(&self) -> Option<Broker> {
        self.broker.get().and_then(WeakBroker::upgrade)
    }

    pub(super) fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        lock(&self.pending)
    }

    pub(super) fn lock_tracked(&self) -> MutexGuard<'_, HashMap<u64, Tracked>> {
        lock(&self.tracked)
    }

    pub(super) fn lock_seen(&self) -> MutexGuard<'_, HashMap<String, super::sessions::Seen>> {
        lock(&self.seen)
    }

    pub(super) fn new_sid(&self) -> u64 {
        self.next_sid.fetch_add(1, Ordering::Relaxed)
    }

    /// Resolves once everything appended so far is committed.
    pub(super) async fn committed_now(&self) {
        let upto = self.lock_pending().last;
        self.wait_commit(upto).await;
    }

    pub(super) async fn wait_commit(&self, commit: Commit) {
        let mut rx = self.commits.subscribe();
        let _ = rx.wait_for(|c| *c >= commit).await;
    }

    /// Waits until the retained mirror holds the retained stream's last message.
    async fn retained_caught_up(&self) {
        let last = match self.js.get_stream(RETAINED_STREAM).await {
            Ok(s) => s.cached_info().state.last_sequence,
            Err(e) => {
                tracing::warn!("cluster: retained stream info: {e}");
                return;
            }
        };
        let mut rx = self.mirror_pos.subscribe();
        let _ = rx.wait_for(|p| *p >= last).await;
    }

    /// The read-your-writes barrier (see [`Link::retained_barrier`]): this node's own
    /// retained publishes are stored, then its mirror reaches the stream's last position.
    async fn barrier(self: Arc<Node>) {
        self.committed_now().await;
        if tokio::time::timeout(Duration::from_secs(5), self.retained_caught_up())
            .await
            .is_err()
        {
            tracing::warn!("cluster: retained mirror behind after 5 s; SUBSCRIBE goes on");
        }
    }

    /// Stops the tasks after the writer committed everything (graceful shutdown).
    async fn close_async(&self) {
        {
            let mut p = self.lock_pending();
            p.closing = true;
        }
        self.wake.notify_one();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.writer_done.cancelled()).await;
        // Other nodes claim what is left of this node's sessions at once.
        let _ = self.nodes.delete(&self.id).await;
        self.stop.cancel();
        let _ = self.client.flush().await;
    }
}

/// A key-value bucket with one value per key. Made as its stream directly: the client's
/// `create_key_value` first asks for the account's JetStream info, whose 2.9 form the client
/// no longer parses.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    replicas: usize,
    max_value: i32,
) -> Result<kv::Store, String> {
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_message_size: max_value,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    js.get_key_value(name).await.map_err(|e| e.to_string())
}

impl Store for Node {
    fn durable(&self) -> bool {
        true
    }

    fn append(&self, ops: &mut Vec<Op>) -> Commit {
        let last = {
            let mut p = self.lock_pending();
            p.ops.append(ops);
            p.last += 1;
            p.last
        };
        self.wake.notify_one();
        last
    }

    fn committed(&self) -> Commit {
        *self.commits.borrow()
    }

    fn commits(&self) -> watch::Receiver<Commit> {
        self.commits.subscribe()
    }

    fn next_sid(&self) -> u64 {
        self.new_sid()
    }

    fn next_mid(&self) -> u64 {
        // Message bodies live in the message stream; a delivery's `mid` is its position.
        0
    }

    fn close(&self) {
        match tokio::runtime::Handle::try_current() {
            Ok(h) => h.block_on(self.close_async()),
            Err(_) => tracing::warn!("cluster: closed outside the runtime"),
        }
    }
}

impl Link for Node {
    fn node_id(&self) -> &str {
        &self.id
    }

    fn send_live(&self, msg: Arc<Message>, origin: Option<SessionKey>) {
        if self.live.try_send((msg, origin)).is_err() {
            let n = self.live_dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n + 1,
                    "cluster: QoS 0 messages to other nodes dropped: NATS is not keeping up"
                );
            }
        }
    }

    fn retained_barrier(&self) -> BoxFuture<()> {
        match self.me.upgrade() {
            Some(me) => Box::pin(me.barrier()),
            None => Box::pin(async {}),
        }
    }

    fn qos2_unstored(&self, sid: u64, pid: u16) -> Option<ByteString> {
        self.lock_tracked()
            .get(&sid)
            .and_then(|t| t.qos2_unstored(pid))
            .map(ByteString::from)
    }

    fn claim(&self, client_id: ByteString) -> BoxFuture<Claim> {
        match self.me.upgrade() {
            Some(me) => Box::pin(async move { me.claim(&client_id).await }),
            None => Box::pin(async { Claim::Unavailable("cluster node stopped".into()) }),
        }
    }
}

/// The subject for a topic, which [`Broker::topic_fits`] checked before.
pub(super) fn subject_of(kind: Kind, topic: &str) -> Option<String> {
    let s = subject::topic_subject(kind, topic);
    if s.is_none() {
        tracing::warn!(
            topic,
            "cluster: topic too long for a NATS subject; not sent"
        );
    }
    s
}
