//! `$SYS/broker/...` statistics with Mosquitto's topic names (issue #3), retained, published
//! every `sys_interval` (1 s in tests) only when changed, invisible to `#` ([MQTT-4.7.2-1]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use tern_codec::{Packet, QoS, Version};
use tokio::time::Instant;

use crate::support::*;

const V: Version = Version::V3_1_1;

/// Mosquitto's names for what issue #3 lists.
const TOPICS: &[&str] = &[
    "$SYS/broker/version",
    "$SYS/broker/uptime",
    "$SYS/broker/clients/connected",
    "$SYS/broker/clients/disconnected",
    "$SYS/broker/clients/total",
    "$SYS/broker/clients/maximum",
    "$SYS/broker/messages/received",
    "$SYS/broker/messages/sent",
    "$SYS/broker/bytes/received",
    "$SYS/broker/bytes/sent",
    "$SYS/broker/publish/messages/received",
    "$SYS/broker/publish/messages/sent",
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/retained messages/count",
    "$SYS/broker/subscriptions/count",
    "$SYS/broker/load/messages/received/1min",
    "$SYS/broker/load/messages/received/5min",
    "$SYS/broker/load/messages/received/15min",
];

/// Collects `$SYS` publications until `done` says so or the deadline passes.
async fn collect(
    c: &mut Client,
    wait: Duration,
    mut done: impl FnMut(&BTreeMap<String, (Bytes, bool)>) -> bool,
) -> BTreeMap<String, (Bytes, bool)> {
    let mut seen = BTreeMap::new();
    let deadline = Instant::now() + wait;
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match c.next_event(left).await {
            Event::Packet(Packet::Publish(m)) => {
                seen.insert(m.topic.to_string(), (m.payload, m.retain));
            }
            Event::Packet(_) => {}
            Event::Closed => panic!("closed while reading $SYS"),
            Event::Timeout => break,
        }
    }
    seen
}

/// Every listed topic exists, is retained (delivered on subscribe with RETAIN 1) and numeric
/// where Mosquitto's is.
#[tokio::test]
async fn tern_sys_topics_use_mosquitto_names() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V, "sys-all").await;
    let mut other = Client::connected(broker.tcp, V, "sys-traffic").await;
    other
        .publish_simple("sys/t", QoS::AtLeastOnce, "x", true)
        .await;
    c.subscribe("$SYS/#", QoS::AtMostOnce).await;
    let seen = collect(&mut c, DEADLINE, |s| {
        TOPICS.iter().all(|t| s.contains_key(*t))
    })
    .await;
    let missing: Vec<&&str> = TOPICS.iter().filter(|t| !seen.contains_key(**t)).collect();
    assert!(
        missing.is_empty(),
        "missing $SYS topics {missing:?}; got {:?}",
        seen.keys()
    );
    for t in TOPICS {
        let (payload, _) = &seen[*t];
        let text = std::str::from_utf8(payload).expect("utf-8 payload");
        assert!(!text.is_empty(), "{t} empty");
        if t.contains("/clients/")
            || t.contains("/count")
            || t.ends_with("/received")
            || t.ends_with("/sent")
            || t.ends_with("/dropped")
        {
            assert!(
                text.parse::<u64>().is_ok(),
                "{t} = {text:?} is not a counter"
            );
        }
    }
    let uptime = std::str::from_utf8(&seen["$SYS/broker/uptime"].0)
        .expect("utf-8")
        .to_string();
    assert!(
        uptime.ends_with(" seconds"),
        "Mosquitto's uptime format: {uptime:?}"
    );

    let mut late = Client::connected(broker.tcp, V, "sys-late").await;
    late.subscribe("$SYS/broker/version", QoS::AtMostOnce).await;
    let m = late.recv_publish().await;
    assert!(m.retain, "$SYS topics are retained");
}

/// `clients/connected` follows connections (updated within a few intervals).
#[tokio::test]
async fn tern_sys_clients_connected_tracks_connections() {
    let broker = Broker::target().await;
    let mut watch = Client::connected(broker.tcp, V, "sys-watch").await;
    watch
        .subscribe("$SYS/broker/clients/connected", QoS::AtMostOnce)
        .await;
    let count = |s: &BTreeMap<String, (Bytes, bool)>| -> u64 {
        s.get("$SYS/broker/clients/connected")
            .and_then(|(p, _)| std::str::from_utf8(p).ok()?.parse().ok())
            .unwrap_or(0)
    };
    let mut extra = Vec::new();
    for i in 0..3 {
        extra.push(Client::connected(broker.tcp, V, &format!("sys-extra{i}")).await);
    }
    let seen = collect(&mut watch, DEADLINE, |s| count(s) == 4).await;
    assert_eq!(count(&seen), 4, "4 clients connected: {seen:?}");
    for c in extra {
        c.disconnect().await;
    }
    let seen = collect(&mut watch, DEADLINE, |s| count(s) == 1).await;
    assert_eq!(count(&seen), 1, "back to 1 client: {seen:?}");
}

/// [MQTT-4.7.2-1] `#` does not see `$SYS`: while a `$SYS` subscriber gets live updates, a `#`
/// subscriber gets none of them. Also "only when changed": `version` is not re-published
/// every interval.
#[tokio::test]
async fn mqtt_4_7_2_1_hash_does_not_see_sys_topics() {
    let broker = Broker::target().await;
    let mut hash = Client::connected(broker.tcp, V, "sys-hash").await;
    hash.subscribe("#", QoS::AtMostOnce).await;
    let mut version = Client::connected(broker.tcp, V, "sys-version").await;
    version
        .subscribe("$SYS/broker/version", QoS::AtMostOnce)
        .await;
    let _retained = version.recv_publish().await;
    let mut uptime = Client::connected(broker.tcp, V, "sys-uptime").await;
    uptime
        .subscribe("$SYS/broker/uptime", QoS::AtMostOnce)
        .await;
    let mut live = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    while live.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match uptime.next_event(left).await {
            Event::Packet(Packet::Publish(m)) if !m.retain => {
                live.insert(m.payload);
            }
            Event::Packet(_) => {}
            other => panic!("no live uptime updates every sys_interval: {other:?} after {live:?}"),
        }
    }
    let got = hash.ping().await;
    assert!(
        got.iter()
            .all(|p| !matches!(p, Packet::Publish(m) if m.topic.starts_with('$'))),
        "[MQTT-4.7.2-1] '#' received $SYS: {got:?}"
    );
    version
        .expect_nothing("version unchanged: not re-published")
        .await;
}
