//! What the broker asks of the cluster, without knowing NATS: the broker calls these (and
//! appends [`ClusterOp`](crate::store::ClusterOp)s through its store), the NATS side
//! (`nats.rs`) implements them. Everything here is cheap to call under the broker's lock or
//! returns a future to await outside it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytestring::ByteString;

use crate::store::{Message, SessionKey};

/// A boxed `Send` future (the link is a trait object).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The outcome of [`Link::claim`].
#[derive(Debug)]
pub enum Claim {
    /// The session is this node's (now): go on with the local session, if any.
    Ready,
    /// The cluster cannot be asked (NATS unreachable): the connection is refused with
    /// 0x88 Server unavailable / 3.1.1 return code 3, so that two nodes never serve one
    /// client id at once.
    Unavailable(String),
}

/// This node's connection to the others.
pub trait Link: Send + Sync + 'static {
    /// This node's `node_id`.
    fn node_id(&self) -> &str;

    /// A QoS 0 message to the matching subscribers on the other nodes (core NATS: at most
    /// once). Never blocks: a full send queue drops the message (counted, logged).
    fn send_live(&self, msg: Arc<Message>, origin: Option<SessionKey>);

    /// Resolves once this node's retained store holds every retained message stored
    /// cluster-wide before the call: a SUBSCRIBE waits for it, so it sees a retained
    /// message acknowledged on another node just before (read-your-writes).
    fn retained_barrier(&self) -> BoxFuture<()>;

    /// Makes this node the owner of `client_id`'s session before a connection attaches to
    /// it: a session owned by another live node is taken over (that node closes its
    /// connection with 0x8E and hands the session's state over), one of a dead node is
    /// claimed. The session's state, if any, is put into the broker before this resolves.
    fn claim(&self, client_id: ByteString) -> BoxFuture<Claim>;

    /// The recorded JetStream de-duplication id of stored session `sid`'s incoming QoS 2
    /// message `pid`, if JetStream may not have stored it yet.
    fn qos2_unstored(&self, sid: u64, pid: u16) -> Option<ByteString>;
}
