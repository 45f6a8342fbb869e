//! Tern nodes sharing a real NATS cluster (three `nats-server` processes on loopback with
//! JetStream, R3): cross-node delivery, retained messages, session takeover, a NATS server
//! killed mid-publish, shared subscriptions, and a node killed with SIGKILL.
//!
//! Needs `nats-server` (Debian 2.9, installed by `cargo xtask setup`); without it every
//! test fails saying so.

mod failover;
mod harness;
mod routing;
mod sessions;
#[path = "../support/mod.rs"]
mod support;
