//! The store boundary: everything the broker keeps beyond one network connection —
//! sessions (subscriptions, queued and in-flight messages, QoS 2 state, expiry, delayed
//! wills) and retained messages. It sits below the broker: nothing here knows about
//! routing, connections or the broker's lock.
//!
//! * `model.rs`: [`Message`], [`Delivery`], [`Inflight`], [`SessionKey`]: the shared data
//! * `sessions.rs`, `queue.rs`, `retained.rs`, `live.rs`: the working state, in memory. The broker uses
//!   only their methods; nothing else reaches into their maps.
//! * `durable.rs`: the [`Store`] trait and its [`Op`]s: what must survive a crash, appended
//!   in order and committed in batches ([`MemoryStore`]: persistence off)
//! * `sqlite/`: [`SqliteStore`], the durable implementation
//! * `image.rs`: the state loaded at start ([`Image`]); `blob.rs`: a message as bytes
//! * `legacy/`: the earlier snapshot file format, imported once

pub(crate) mod blob;
pub mod durable;
pub mod image;
pub mod legacy;
mod live;
mod model;
mod queue;
mod retained;
mod sessions;
pub mod sqlite;

pub use durable::{ClusterOp, Commit, MemoryStore, Op, SessionRecord, Store, StoredWill};
pub use image::{Clock, Image, SessionImage};
pub use sqlite::{Durability, Opened, SqliteStore};

pub use live::{AdminAction, ConnectionInfo, LiveConnection};
pub use model::{Delivery, Inflight, Message, SessionKey, Stored};
pub use queue::{MessageQueue, Pushed};
pub use retained::RetainedStore;
pub use sessions::{KeyHasher, NEVER_EXPIRES, PendingWill, SessionStore, StoredSession};
