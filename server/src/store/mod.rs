//! The store boundary: everything the broker keeps beyond one network connection —
//! sessions (subscriptions, queued and in-flight messages, QoS 2 state, expiry, delayed
//! wills) and retained messages.
//!
//! The protocol code (`session`, `broker`) only uses the methods of [`SessionStore`],
//! [`MessageQueue`] and [`RetainedStore`]; nothing else reaches into their maps. They are in
//! memory; [`persist`] saves them to a snapshot file and loads them at start (Mosquitto's
//! `persistence` model).

pub mod persist;
mod queue;
mod retained;
mod sessions;

pub use queue::{MessageQueue, Pushed};
pub use retained::RetainedStore;
pub use sessions::{
    KeyHasher, LiveConnection, NEVER_EXPIRES, PendingWill, SessionStore, StoredSession,
};
