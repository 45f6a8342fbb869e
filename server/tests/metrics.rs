//! `GET /metrics` (Prometheus text exposition format 0.0.4) against a real broker on port 0:
//! the response must parse under a strict line parser, and the counters and gauges must move
//! by exactly what the MQTT traffic in each test did.

mod exposition;
mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use exposition::{Scrape, parse};
use support::*;
use tern_codec::{Packet, QoS, Version};

/// Every family the endpoint must expose (at least what `$SYS` exposes).
const FAMILIES: [(&str, &str); 23] = [
    ("tern_build_info", "gauge"),
    ("tern_uptime_seconds", "gauge"),
    ("tern_clients_connected", "gauge"),
    ("tern_clients_disconnected", "gauge"),
    ("tern_sessions", "gauge"),
    ("tern_clients_connected_maximum", "gauge"),
    ("tern_clients_expired_total", "counter"),
    ("tern_connections_open", "gauge"),
    ("tern_connections_total", "counter"),
    ("tern_subscriptions", "gauge"),
    ("tern_retained_messages", "gauge"),
    ("tern_retained_payload_bytes", "gauge"),
    ("tern_queued_messages", "gauge"),
    ("tern_stored_messages", "gauge"),
    ("tern_messages_received_total", "counter"),
    ("tern_messages_sent_total", "counter"),
    ("tern_bytes_received_total", "counter"),
    ("tern_bytes_sent_total", "counter"),
    ("tern_publish_messages_received_total", "counter"),
    ("tern_publish_messages_sent_total", "counter"),
    ("tern_publish_messages_dropped_total", "counter"),
    ("tern_publish_received_payload_bytes_total", "counter"),
    ("tern_publish_sent_payload_bytes_total", "counter"),
];

/// Scrapes `/metrics`, checks status and content type, and parses the body strictly.
async fn scrape(addr: SocketAddr) -> Scrape {
    let r = http::get(addr, "/metrics").await;
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.head
            .lines()
            .any(|l| l == "content-type: text/plain; version=0.0.4; charset=utf-8"),
        "wrong content type: {}",
        r.head
    );
    parse(&r.body).unwrap_or_else(|e| panic!("invalid exposition: {e}\n{}", r.body))
}

fn encoded_len(p: &Packet, version: Version) -> f64 {
    bytes_of(p, version).len() as f64
}

/// Sends `p` and returns its encoded length (what the broker counts in bytes received).
async fn send(c: &mut Client, p: Packet, version: Version) -> f64 {
    let n = encoded_len(&p, version);
    c.send(p).await;
    n
}

/// Scrape, run MQTT traffic over both transports, scrape again: every relevant series
/// moves by exactly what the traffic did.
#[tokio::test]
async fn scrape_is_valid_and_counts_the_traffic_exactly() {
    const N: usize = 5;
    // No `$SYS`: its retained messages would change the counts between scrapes.
    let server = Broker::with(|c| c.sys_interval = Duration::ZERO).await;
    let v = Version::V3_1_1;

    let before = scrape(server.http).await;
    for (name, kind) in FAMILIES {
        assert_eq!(
            before.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
    }
    let version = format!("tern_build_info{{version={:?}}}", env!("CARGO_PKG_VERSION"));
    assert_eq!(before.get(&version), 1.0);
    assert_eq!(before.get("tern_clients_connected"), 0.0);
    assert_eq!(before.get("tern_connections_open{transport=\"tcp\"}"), 0.0);
    assert_eq!(
        before.get("tern_connections_open{transport=\"websocket\"}"),
        0.0
    );

    let mut rx_bytes = 0.0;
    let mut tx_bytes = 0.0;
    // Subscriber over WebSocket, publisher over TCP.
    let mut sub = Client::ws(&server.ws_url(), v, "m-sub").await;
    rx_bytes += send(
        &mut sub,
        Packet::Connect(Box::new(connect_packet(v, "m-sub", true))),
        v,
    )
    .await;
    let ack = sub.recv().await;
    tx_bytes += encoded_len(&ack, v);
    let suback = sub.subscribe_pid(1, "metrics/#", QoS::AtMostOnce).await;
    assert!(matches!(suback, Packet::SubAck(_)), "{suback:?}");
    rx_bytes += encoded_len(
        &Packet::Subscribe(tern_codec::Subscribe {
            pid: pid(1),
            filters: vec![(
                filter("metrics/#"),
                tern_codec::SubscriptionOptions::new(QoS::AtMostOnce),
            )],
            properties: Default::default(),
        }),
        v,
    );
    tx_bytes += encoded_len(&suback, v);

    let mut publisher = Client::tcp(server.tcp, v, "m-pub").await;
    let connect = Packet::Connect(Box::new(connect_packet(v, "m-pub", true)));
    rx_bytes += send(&mut publisher, connect, v).await;
    let ack = publisher.recv().await;
    tx_bytes += encoded_len(&ack, v);
    let mut payload_bytes = 0.0;
    for i in 0..N {
        let payload = format!("payload {i}");
        payload_bytes += payload.len() as f64;
        let p = Packet::Publish(tern_codec::Publish {
            dup: false,
            qos_pid: tern_codec::QosPid::AtMostOnce,
            retain: true,
            topic: topic(&format!("metrics/{i}")),
            payload: bytes::Bytes::from(payload.into_bytes()),
            properties: Default::default(),
        });
        rx_bytes += send(&mut publisher, p, v).await;
    }
    // Every PUBLISH reached the subscriber, so the broker has processed all of them.
    for _ in 0..N {
        let p = sub.recv().await;
        assert!(matches!(p, Packet::Publish(_)), "{p:?}");
        tx_bytes += encoded_len(&p, v);
    }

    let after = scrape(server.http).await;
    let delta = |series: &str| after.get(series) - before.get(series);
    let n = N as f64;
    assert_eq!(after.get("tern_clients_connected"), 2.0);
    assert_eq!(delta("tern_sessions"), 2.0);
    assert_eq!(delta("tern_clients_disconnected"), 0.0);
    assert_eq!(after.get("tern_clients_connected_maximum"), 2.0);
    assert_eq!(after.get("tern_connections_open{transport=\"tcp\"}"), 1.0);
    assert_eq!(
        after.get("tern_connections_open{transport=\"websocket\"}"),
        1.0
    );
    assert_eq!(delta("tern_connections_total"), 2.0);
    assert_eq!(delta("tern_subscriptions"), 1.0);
    assert_eq!(delta("tern_retained_messages"), n);
    assert_eq!(delta("tern_retained_payload_bytes"), payload_bytes);
    assert_eq!(delta("tern_stored_messages"), n);
    assert_eq!(after.get("tern_queued_messages"), 0.0);
    // 2 CONNECT + SUBSCRIBE + N PUBLISH in; 2 CONNACK + SUBACK + N PUBLISH out.
    assert_eq!(delta("tern_messages_received_total"), 3.0 + n);
    assert_eq!(delta("tern_messages_sent_total"), 3.0 + n);
    assert_eq!(delta("tern_publish_messages_received_total"), n);
    assert_eq!(delta("tern_publish_messages_sent_total"), n);
    assert_eq!(delta("tern_publish_messages_dropped_total"), 0.0);
    assert_eq!(delta("tern_bytes_received_total"), rx_bytes);
    assert_eq!(delta("tern_bytes_sent_total"), tx_bytes);
    assert_eq!(
        delta("tern_publish_received_payload_bytes_total"),
        payload_bytes
    );
    assert_eq!(
        delta("tern_publish_sent_payload_bytes_total"),
        payload_bytes
    );
    assert_eq!(delta("tern_clients_expired_total"), 0.0);
    assert!(delta("tern_uptime_seconds") >= 0.0);

    // Clean sessions end with their connections [MQTT-3.1.2-6].
    sub.send(Packet::Disconnect(Default::default())).await;
    publisher.send(Packet::Disconnect(Default::default())).await;
    assert!(sub.expect_closed().await.is_empty());
    assert!(publisher.expect_closed().await.is_empty());
    // The session tasks finish just after closing the sockets; nothing outside the broker
    // can await that, so poll the endpoint (bounded).
    let done = wait_for(server.http, |s| {
        s.get("tern_connections_open{transport=\"tcp\"}") == 0.0
            && s.get("tern_connections_open{transport=\"websocket\"}") == 0.0
    })
    .await;
    assert_eq!(done.get("tern_clients_connected"), 0.0);
    assert_eq!(done.get("tern_sessions"), before.get("tern_sessions"));
    assert_eq!(done.get("tern_clients_connected_maximum"), 2.0);
    assert_eq!(
        done.get("tern_subscriptions"),
        before.get("tern_subscriptions")
    );
    assert_eq!(
        done.get("tern_retained_messages"),
        before.get("tern_retained_messages") + n
    );
    assert_eq!(
        done.get("tern_messages_received_total") - after.get("tern_messages_received_total"),
        2.0
    );
    server.shutdown().await.expect("clean shutdown");
}

/// Scrapes until `ready` holds, for at most [`DEADLINE`].
async fn wait_for(addr: SocketAddr, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let until = Instant::now() + DEADLINE;
    loop {
        let s = scrape(addr).await;
        if ready(&s) {
            return s;
        }
        assert!(
            Instant::now() < until,
            "condition not reached: {:?}",
            s.series
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A session whose Session Expiry Interval passes while offline is ended and counted in
/// `tern_clients_expired_total` [MQTT-3.1.2-23]; until then it is a disconnected client.
#[tokio::test]
async fn expired_sessions_are_counted_mqtt_3_1_2_23() {
    let server = Broker::with(|c| c.sys_interval = Duration::ZERO).await;
    let v = Version::V5;
    let mut c = Client::tcp(server.tcp, v, "m-expiring").await;
    let mut connect = connect_packet(v, "m-expiring", true);
    connect.properties.session_expiry_interval = Some(1);
    c.handshake(connect).await;
    c.send(Packet::Disconnect(Default::default())).await;
    assert!(c.expect_closed().await.is_empty());

    let offline = wait_for(server.http, |s| s.get("tern_clients_connected") == 0.0).await;
    assert_eq!(offline.get("tern_clients_disconnected"), 1.0);
    assert_eq!(offline.get("tern_sessions"), 1.0);
    assert_eq!(offline.get("tern_clients_expired_total"), 0.0);

    let expired = wait_for(server.http, |s| s.get("tern_clients_expired_total") == 1.0).await;
    assert_eq!(expired.get("tern_sessions"), 0.0);
    assert_eq!(expired.get("tern_clients_disconnected"), 0.0);
    server.shutdown().await.expect("clean shutdown");
}
