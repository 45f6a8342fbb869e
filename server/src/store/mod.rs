//! The store boundary: everything the broker keeps beyond one network connection —
//! sessions (subscriptions, queued and in-flight messages, QoS 2 state, expiry, delayed
//! wills) and retained messages.
//!
//! The protocol code (`session`, `broker`) only uses the methods of [`SessionStore`],
//! [`MessageQueue`] and [`RetainedStore`]; nothing else reaches into their maps. Today they
//! are in memory. Durable storage replaces their internals (write-through on `set`/`create`/
//! `remove`, load at start) without touching the protocol code.

mod queue;
mod retained;
mod sessions;

pub use queue::{MessageQueue, Pushed};
pub use retained::RetainedStore;
pub use sessions::{LiveConnection, NEVER_EXPIRES, PendingWill, SessionStore, StoredSession};
