//! The one test harness of the broker's integration tests. Every test crate includes it
//! (`mod support;`, or `#[path = "../support/mod.rs"] mod support;` from a directory crate)
//! and uses what it needs:
//!
//! * [`broker`] — [`Broker`]: the real `tern_server::Server` in-process on loopback port 0
//!   with a config adjusted per test, or — for the conformance cases, through
//!   [`Broker::target`] — Mosquitto instead when `TERN_CONFORMANCE_TARGET=mosquitto` is set
//!   (a check of the tests' expectations against a mature broker, not of tern).
//! * [`process`] — [`TernProcess`]: the real `tern` binary as a child process, for what only
//!   a process shows (start-up lines, signals, SIGKILL, a crash that must not take the test
//!   down with it).
//! * [`client`] / [`transport`] / [`flows`] — [`Client`]: one raw MQTT client over TCP,
//!   WebSocket, TLS and WebSocket over TLS. It does no protocol logic of its own unless asked
//!   ([`flows`]), so tests see exactly what the broker sends, and it checks what must hold for
//!   every packet from any broker (first packet CONNACK, Maximum Packet Size, Topic Aliases).
//! * [`packets`] — packet builders, and raw bytes for what the codec refuses to encode.
//! * [`certs`] — a throw-away PKI for the TLS tests; [`http`] — a minimal HTTP/1.1 client.
//!
//! Every wait is bounded (by [`DEADLINE`] unless a test says otherwise), so a broker that
//! hangs fails a test instead of stalling the suite.
#![allow(dead_code, unused_imports)]

pub mod broker;
pub mod certs;
pub mod client;
pub mod flows;
pub mod http;
mod invariants;
mod mosquitto;
pub mod packets;
pub mod process;
pub mod transport;

use std::path::PathBuf;
use std::time::Duration;

pub use broker::{Broker, against_mosquitto, tern_only, test_config};
pub use client::{Client, Event};
pub use flows::granted;
pub use packets::*;
pub use process::{TERN_BIN, TernProcess};
pub use transport::{read_until_closed, tls_stream};

/// Upper bound for anything the broker is expected to do "now" (answer, close, deliver).
pub const DEADLINE: Duration = Duration::from_secs(5);

/// The password file written by `mosquitto_passwd` (alice: `s3cret pass` as `$7$`, bob:
/// `hunter2` as `$6$`): the real format, not one the tests made up.
pub fn passwd_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/mosquitto_passwd.txt"
    ))
}

/// Runs an `async fn(Version)` test body once per protocol version, as separate `#[test]`s
/// named `<case>::v3_1_1` and `<case>::v5` (and `v3_1` when asked), so a failure names both
/// the normative statement and the version.
#[macro_export]
macro_rules! per_version {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn v3_1_1() {
                super::$body(tern_codec::Version::V3_1_1).await
            }
            #[tokio::test]
            async fn v5() {
                super::$body(tern_codec::Version::V5).await
            }
        }
    };
    ($name:ident, $body:ident, with_v3_1) => {
        mod $name {
            #[tokio::test]
            async fn v3_1() {
                super::$body(tern_codec::Version::V3_1).await
            }
            #[tokio::test]
            async fn v3_1_1() {
                super::$body(tern_codec::Version::V3_1_1).await
            }
            #[tokio::test]
            async fn v5() {
                super::$body(tern_codec::Version::V5).await
            }
        }
    };
}
