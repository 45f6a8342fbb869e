//! Test harness: the broker under test, a codec-level client, packet builders.

pub mod broker;
pub mod client;
pub mod flows;
pub mod packets;

pub use broker::{Broker, DEADLINE, against_mosquitto, tern_only};
pub use client::{Client, Event};
pub use flows::granted;
pub use packets::*;

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
