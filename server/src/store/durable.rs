//! The durable side of the store boundary: every change to what outlives a connection,
//! as an [`Op`], in the order the broker made it, and the [`Store`] that keeps them.
//!
//! The broker's working state stays in memory (`SessionStore`, `MessageQueue`,
//! `RetainedStore`: routing never waits for a disk). What must survive a crash is also
//! appended to a [`Store`], which commits in batches and reports the last committed
//! [`Commit`] number. Whoever must not acknowledge before the data is stored (PUBACK,
//! PUBREC, PUBCOMP, SUBACK, an outgoing QoS 2 PUBLISH or PUBREL) waits for the commit number
//! its change got: "acknowledged" then means "stored".
//!
//! Two implementations: [`MemoryStore`] (persistence off: nothing is kept, every commit is
//! immediate, and the broker builds no ops at all) and `sqlite::SqliteStore`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use bytestring::ByteString;
use tern_codec::{Pid, QoS, SubscriptionOptions};
use tokio::sync::watch;

use super::model::{Message, SessionKey};

/// A position in the store's commit order: changes appended in one call share one number,
/// and numbers grow with every call. Everything up to [`Store::committed`] is stored.
pub type Commit = u64;

/// A will as stored with its session.
#[derive(Debug, Clone)]
pub enum StoredWill {
    /// The client is connected: published `delay` seconds after its connection ends (also
    /// when the broker stops without a clean shutdown), with its Message Expiry Interval.
    Armed {
        msg: Message,
        delay: u32,
        expiry: Option<u32>,
    },
    /// The connection ended: due at `at` [MQTT-3.1.3-9].
    Due { msg: Message, at: Instant },
}

/// A persistent session's own record (not its subscriptions, queue or QoS 2 ids).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub sid: u64,
    pub client_id: ByteString,
    /// Session Expiry Interval in seconds.
    pub expiry: u32,
    /// `None` while a connection is attached.
    pub disconnected_at: Option<Instant>,
    pub will: Option<StoredWill>,
}

/// One change to the durable state. `sid` is the store's session id, `seq` a position in
/// that session's queue, `mid` a stored message body.
#[derive(Debug, Clone)]
pub enum Op {
    /// A persistent session created, resumed, disconnected, or its will changed.
    Session(Box<SessionRecord>),
    /// The session ended: its subscriptions, queue and QoS 2 ids go with it.
    SessionGone {
        sid: u64,
    },
    Subscribe {
        sid: u64,
        filter: ByteString,
        options: SubscriptionOptions,
        id: Option<NonZeroU32>,
    },
    Unsubscribe {
        sid: u64,
        filter: ByteString,
    },
    /// A message body, stored once for the queue entries that follow and refer to it.
    Message {
        mid: u64,
        msg: Arc<Message>,
    },
    Enqueue {
        sid: u64,
        seq: u64,
        mid: u64,
        qos: QoS,
        retain: bool,
        sub_ids: Vec<NonZeroU32>,
    },
    /// A queued message went out with packet id `pid` (kept for the resend with DUP after a
    /// restart [MQTT-4.4.0-1]); `released`: PUBREC came, PUBREL went out.
    Sent {
        sid: u64,
        seq: u64,
        pid: Pid,
        released: bool,
    },
    /// Acknowledged (PUBACK / PUBCOMP), delivered at QoS 0, or discarded (expired, too large).
    Dequeue {
        sid: u64,
        seq: u64,
        mid: u64,
    },
    /// An incoming QoS 2 PUBLISH was taken over, PUBREC is due [MQTT-4.3.3-9].
    Qos2In {
        sid: u64,
        pid: Pid,
    },
    /// Its PUBREL came; PUBCOMP is due.
    Qos2Released {
        sid: u64,
        pid: Pid,
    },
    /// The retained message of a topic set, or cleared (`None`).
    Retain {
        topic: ByteString,
        msg: Option<Arc<Message>>,
    },
    /// What only a cluster store does (never appended without `[cluster]`).
    Cluster(ClusterOp),
}

/// Changes a cluster node hands to NATS in order with its other ops, so that an answer
/// held for their commit (PUBACK, SUBACK) goes out only once NATS has them (see `cluster`).
#[derive(Debug, Clone)]
pub enum ClusterOp {
    /// A QoS 1/2 message into the message stream, from where every node routes it.
    Publish {
        msg: Arc<Message>,
        origin: Option<SessionKey>,
        /// An incoming QoS 2 PUBLISH of the stored session `sid` with packet id `pid`: its
        /// JetStream de-duplication id goes into the session's record before it is sent, so
        /// a resend on another node after this one died is stored once.
        qos2: Option<(u64, Pid)>,
        /// The de-duplication id, when the resend of such a PUBLISH reuses the recorded one.
        id: Option<ByteString>,
    },
    /// This node's first subscription to a (non-shared) filter, or its last one gone: the
    /// NATS subscription for QoS 0 messages of other nodes.
    Interest { filter: ByteString, add: bool },
    /// A member of the shared subscription `$share/{group}/{filter}` on this node joined or
    /// left.
    Member {
        group: ByteString,
        filter: ByteString,
        key: SessionKey,
        add: bool,
    },
    /// A stored session subscribed to `filter` when the message stream was at `seq`: a node
    /// taking the session over replays only later messages for it.
    Since {
        sid: u64,
        filter: ByteString,
        seq: u64,
    },
    /// The session was handed to another node: its record is final and no longer ours.
    Released { sid: u64 },
}

/// Where ops are kept.
pub trait Store: Send + Sync + 'static {
    /// Whether anything is kept at all. When not, the broker builds no ops.
    fn durable(&self) -> bool;

    /// Appends `ops` (drained) as one atomic unit; returns the commit that will hold them.
    /// Never blocks on I/O.
    fn append(&self, ops: &mut Vec<Op>) -> Commit;

    /// The last commit known to be stored.
    fn committed(&self) -> Commit;

    /// Follows [`Store::committed`] (for sessions waiting to acknowledge).
    fn commits(&self) -> watch::Receiver<Commit>;

    /// A new session id / message id, never handed out before (also across restarts).
    fn next_sid(&self) -> u64;
    fn next_mid(&self) -> u64;

    /// Writes everything appended so far and stops (graceful shutdown; blocking).
    fn close(&self);
}

/// Persistence off: nothing outlives the process, so every change counts as committed.
#[derive(Debug)]
pub struct MemoryStore {
    commits: watch::Sender<Commit>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            commits: watch::Sender::new(Commit::MAX),
        }
    }
}

impl Store for MemoryStore {
    fn durable(&self) -> bool {
        false
    }

    fn append(&self, ops: &mut Vec<Op>) -> Commit {
        ops.clear();
        0
    }

    fn committed(&self) -> Commit {
        Commit::MAX
    }

    fn commits(&self) -> watch::Receiver<Commit> {
        self.commits.subscribe()
    }

    fn next_sid(&self) -> u64 {
        0
    }

    fn next_mid(&self) -> u64 {
        0
    }

    fn close(&self) {}
}
