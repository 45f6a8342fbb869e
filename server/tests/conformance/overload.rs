//! Load-shaped cases (issue #3 "Limits"): a slow consumer never grows the broker's memory
//! without bound — QoS 0 is dropped first and counted in `$SYS` — and never slows other
//! clients down; large payloads cross both transports intact.

use std::time::Duration;

use bytes::Bytes;
use tern_codec::{Connect, Packet, QoS, Version};
use tokio::time::Instant;

use crate::support::*;

const V: Version = Version::V3_1_1;

/// A subscriber that stops reading while 20 MB of QoS 0 messages (more than loopback socket
/// buffers hold) are published to it: the publisher stays responsive, the broker drops what
/// does not fit `max_queued_messages` (counted in `$SYS/broker/publish/messages/dropped`),
/// and the slow subscriber later receives a bounded number of messages, in order.
#[tokio::test]
async fn tern_slow_consumer_drops_qos0_and_counts_in_sys() {
    let broker = Broker::target_with(|c| c.max_queued_messages = 100).await;
    let mut slow = Client::connected(broker.tcp, V, "slow").await;
    slow.subscribe("flood/t", QoS::AtMostOnce).await;
    let mut fast = Client::connected(broker.tcp, V, "fast").await;
    fast.subscribe("flood/t", QoS::AtMostOnce).await;

    let mut publisher = Client::connected(broker.tcp, V, "flooder").await;
    let payload = vec![b'x'; 1024];
    const N: usize = 20_000;
    let started = Instant::now();
    // Interleave reading for `fast` so only `slow` lags behind.
    let mut fast_got = 0usize;
    for i in 0..N {
        let mut p = publish("flood/t", QoS::AtMostOnce, &payload);
        p.payload = Bytes::from([&(i as u32).to_be_bytes()[..], &payload].concat());
        publisher.send(Packet::Publish(p)).await;
        if i % 500 == 499 {
            publisher
                .expect_nothing("publisher responsive during the flood")
                .await;
            while let Event::Packet(Packet::Publish(_)) = fast.next_event(Duration::ZERO).await {
                fast_got += 1;
            }
        }
    }
    publisher
        .expect_nothing("publisher responsive after the flood")
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "flood took {:?}",
        started.elapsed()
    );

    let mut sys = Client::connected(broker.tcp, V, "sys-dropped").await;
    sys.subscribe("$SYS/broker/publish/messages/dropped", QoS::AtMostOnce)
        .await;
    let deadline = Instant::now() + DEADLINE;
    let dropped = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match sys.next_event(left).await {
            Event::Packet(Packet::Publish(m)) => {
                let n: u64 = std::str::from_utf8(&m.payload)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if n > 0 {
                    break n;
                }
            }
            Event::Packet(_) => {}
            other => panic!("$SYS/broker/publish/messages/dropped never > 0: {other:?}"),
        }
    };
    assert!(dropped > 0);

    // Now drain the slow subscriber: fewer than N arrive (the rest were dropped), in order.
    let mut got = 0usize;
    let mut last: Option<u32> = None;
    loop {
        let batch = slow.ping().await;
        if batch.is_empty() {
            break;
        }
        for p in batch {
            let Packet::Publish(m) = p else { continue };
            let seq = u32::from_be_bytes(m.payload[..4].try_into().expect("seq"));
            assert!(
                last.is_none_or(|l| seq > l),
                "[MQTT-4.6.0-6] order kept while dropping"
            );
            last = Some(seq);
            got += 1;
        }
    }
    assert!(
        got < N,
        "nothing was dropped for the slow consumer ({got} of {N})"
    );
    while let Event::Packet(Packet::Publish(_)) = fast.next_event(Duration::from_millis(0)).await {
        fast_got += 1;
    }
    let _ = fast_got; // `fast` may lose QoS 0 too; it only had to keep its connection.
    fast.expect_nothing("fast subscriber still connected").await;
}

/// A payload just under the default `max_packet_size` (1 MiB for the whole packet) crosses
/// TCP → WebSocket → TCP unchanged (WebSocket frames larger than any socket buffer;
/// remaining length of three bytes).
#[tokio::test]
async fn tern_large_payload_round_trip_tcp_and_websocket() {
    let broker = Broker::target().await;
    let big: Vec<u8> = (0..1_048_576u32 - 64).map(|i| (i % 251) as u8).collect();
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), Version::V5, "big-ws", "mqtt").await;
    ws.handshake(Connect::new(Version::V5, "big-ws")).await;
    ws.subscribe("big/tcp", QoS::AtLeastOnce).await;
    let mut tcp = Client::connected(broker.tcp, Version::V5, "big-tcp").await;
    tcp.subscribe("big/ws", QoS::AtLeastOnce).await;
    tcp.publish(publish("big/tcp", QoS::AtLeastOnce, &big))
        .await;
    let m = ws.recv_publish_acked().await;
    assert!(m.payload == big, "payload changed over WebSocket");
    ws.publish(publish("big/ws", QoS::AtLeastOnce, &m.payload))
        .await;
    let m = tcp.recv_publish_acked().await;
    assert!(m.payload == big, "payload changed over TCP");
}
