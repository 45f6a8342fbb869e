//! `[cluster]` in the TOML file: which NATS servers to use and how this node is named.
//!
//! ```toml
//! [cluster]
//! node_id = "a"                       # unique per node
//! nats = ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"]
//! replicas = 3                        # JetStream replicas for streams and KV
//! ```

use std::time::Duration;

use serde::Deserialize;

/// How this node joins the cluster. Without a `[cluster]` table Tern is a single broker and
/// never talks to NATS.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// This node's name, unique in the cluster: 1 to 32 of `A-Z a-z 0-9 - _` (it is part of
    /// NATS subjects, consumer names and `$SYS/brokers/<node_id>/...`).
    pub node_id: String,
    /// NATS server URLs; the client also learns the rest of the NATS cluster from them.
    #[serde(default = "default_nats")]
    pub nats: Vec<String>,
    /// JetStream replicas of the streams and key-value buckets (1 to 5). Default: 3 when three
    /// or more NATS URLs are listed, else 1. A stream with 3 replicas survives the loss of
    /// one NATS server.
    pub replicas: Option<usize>,
    /// Seconds without a heartbeat after which a node counts as dead and a survivor claims
    /// its sessions (publishing their wills). Default 3.
    #[serde(default = "default_node_timeout", with = "crate::config::secs")]
    pub node_timeout: Duration,
    /// How long QoS 1/2 messages stay in the message stream for sessions that are offline
    /// or move between nodes (seconds, or `"7d"` like `persistent_client_expiration`).
    /// Default 7 days.
    #[serde(default = "default_retention", with = "crate::config::expiration_secs")]
    pub message_retention: Duration,
    /// Bytes the message stream may hold; the oldest messages go first beyond it. Default
    /// 1 GiB.
    #[serde(default = "default_stream_bytes")]
    pub max_stream_bytes: i64,
}

fn default_nats() -> Vec<String> {
    vec!["nats://127.0.0.1:4222".to_owned()]
}

fn default_node_timeout() -> Duration {
    Duration::from_secs(3)
}

fn default_retention() -> Duration {
    Duration::from_secs(7 * 86_400)
}

fn default_stream_bytes() -> i64 {
    1 << 30
}

impl ClusterConfig {
    /// A node of a cluster on `nats` with every default.
    pub fn new(node_id: impl Into<String>, nats: Vec<String>) -> ClusterConfig {
        ClusterConfig {
            node_id: node_id.into(),
            nats,
            replicas: None,
            node_timeout: default_node_timeout(),
            message_retention: default_retention(),
            max_stream_bytes: default_stream_bytes(),
        }
    }

    /// Replicas in force (see the field).
    pub fn effective_replicas(&self) -> usize {
        self.replicas
            .unwrap_or(if self.nats.len() >= 3 { 3 } else { 1 })
    }

    /// Rejects values a node cannot run with.
    pub fn validate(&self) -> Result<(), String> {
        let id = &self.node_id;
        if id.is_empty()
            || id.len() > 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "cluster.node_id {id:?} must be 1 to 32 characters of A-Z a-z 0-9 - _"
            ));
        }
        if self.nats.is_empty() {
            return Err("cluster.nats must list at least one NATS server URL".into());
        }
        if !(1..=5).contains(&self.effective_replicas()) {
            return Err("cluster.replicas must be 1 to 5".into());
        }
        if self.node_timeout < Duration::from_secs(1) {
            return Err("cluster.node_timeout must be at least 1 second".into());
        }
        if self.message_retention.is_zero() {
            return Err("cluster.message_retention must be more than 0".into());
        }
        Ok(())
    }
}
