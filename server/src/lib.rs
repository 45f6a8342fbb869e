//! Tern: an MQTT 3.1 / 3.1.1 / 5.0 broker over TCP and WebSocket that also serves the web UI.
//!
//! # Layout
//!
//! ```text
//! config.rs      Config: defaults, TOML file with Mosquitto option names, limits
//! limits.rs      bounds beyond one config value: topic depth, fd budget, TCP keepalive
//! server.rs      Server::bind / run: listeners, background tasks, graceful shutdown
//! tcp.rs         TCP accept loop (max_connections semaphore, accept back-off)
//! http/          axum Router: /mqtt WebSocket upgrade, /healthz, /metrics, web UI files;
//!                Origin allow-list, per-connection limits and timeouts, Basic auth
//! web_ui.rs      the web UI: built into the binary (build.rs embeds dist/) or --web-root DIR
//! admin/         /api/v1: clients, sessions, subscriptions, retained; disconnect, discard
//! metrics.rs     /metrics: Prometheus text exposition of the $SYS statistics
//! tls/           certfile/keyfile/cafile (rustls, ring); mqtts and https accept loops
//! ws.rs          WebSocket <-> AsyncRead/AsyncWrite adapter (binary frames only)
//! connection.rs  PacketReader / PacketWriter: buffered, cancel-safe framing via tern-codec
//! session/       one task per client, shared by both transports:
//!                connect (CONNECT/CONNACK), inbound, outbound, close
//! broker/        shared state behind a cheap-Clone handle (std Mutex, never across .await):
//!                routing, subscription trie, session lifecycle, flow control
//!                (queue draining, publisher pacing, slow consumers), statistics
//! cluster/       [cluster]: nodes sharing a NATS cluster (routing, retained, sessions)
//! store/         the store boundary: sessions, per-session queues, retained messages
//!                persist/: snapshot file (persistence, autosave, load at start)
//! auth/          allow_anonymous, password_file (mosquitto_passwd hashes), acl_file
//! sys.rs         $SYS/broker/... topics (both it and metrics.rs read Broker::snapshot)
//! shutdown.rs    CancellationToken + TaskTracker (covers WebSocket sessions too)
//! ```
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), tern_server::Error> {
//! let mut config = tern_server::Config::default();
//! config.tcp = "127.0.0.1:0".parse().unwrap();
//! config.http = "127.0.0.1:0".parse().unwrap();
//! let server = tern_server::Server::bind(config).await?;
//! println!("mqtt on {}", server.tcp_addr());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod auth;
pub mod broker;
pub mod cluster;
pub mod config;
pub mod connection;
mod error;
pub mod http;
pub mod limits;
pub mod metrics;
mod server;
mod session;
pub mod shutdown;
pub mod store;
pub mod sys;
mod tcp;
pub mod tls;
pub mod web_ui;
pub mod ws;

pub use config::Config;
pub use error::Error;
pub use server::Server;
pub use session::{SessionContext, Transport};
