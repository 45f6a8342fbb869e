//! Clustering: Tern nodes that share a NATS cluster (only with `[cluster]` in the config;
//! without it nothing here runs and no NATS is needed).
//!
//! Tern does not speak a cluster protocol of its own: NATS routes, JetStream stores and
//! replicates, and each node stays the MQTT front end it is alone. The broker sees the
//! cluster through [`Link`] and through its [`Store`](crate::store::Store), both implemented
//! by [`Node`]; it never imports `async-nats`.
//!
//! | what | how | guarantee |
//! |---|---|---|
//! | QoS 0 messages | routed on the publishing node, and over core NATS to one NATS subscription per distinct filter of every other node | at most once |
//! | QoS 1/2 messages | the `TERN_MSG` stream (R = `replicas`); PUBACK / PUBREC only once stored; every node routes the stream in its order | durable, at least once; QoS 2 exactly once to the subscriber |
//! | retained messages | the `TERN_RETAINED` stream, one message per topic, mirrored into each node's retained store; a SUBSCRIBE first waits for the mirror | durable; read-your-writes after PUBACK |
//! | shared subscriptions | NATS queue groups (QoS 0) and a durable pull consumer per group (QoS 1/2) | one member cluster-wide per message |
//! | sessions | a record per client id in the `tern_sessions` bucket, owned by one node (compare-and-swap); its queue is a position in `TERN_MSG` | taken over on connect elsewhere, claimed by a survivor when a node dies |
//!
//! * `config.rs`: `[cluster]`; `subject.rs`: MQTT topics ↔ NATS subjects
//! * `link.rs`: the broker's view; `node.rs`: connecting, streams, the [`Node`]
//! * `writer.rs`: ops to NATS in order; `inbound.rs`: messages from NATS
//! * `record.rs`, `sessions.rs`: session records, ownership, takeover, node loss
//! * `wire.rs`: a message as a NATS payload

pub mod config;
mod inbound;
mod link;
mod node;
mod record;
mod sessions;
pub mod subject;
mod wire;
mod writer;

pub use config::ClusterConfig;
pub use link::{BoxFuture, Claim, Link};
pub use node::Node;
