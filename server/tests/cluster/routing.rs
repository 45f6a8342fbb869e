//! Messages and retained messages across nodes.

use std::time::Duration;

use tern_codec::{Packet, QoS, ReasonCode};

use crate::harness::{Nats, V5, V311, await_route, node, publish, receive, receive_app, stop};
use crate::support::Client;

/// A PUBLISH on node A reaches subscribers on nodes B and C once per subscription, at
/// min(published, granted) QoS, in the publisher's order (per QoS); QoS 2 exactly once.
/// Topics with bytes that mean something to NATS (`.`, `*`, `>`, spaces, empty levels)
/// arrive unchanged and match only what MQTT says they match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_reaches_every_node_once_per_subscription_in_order() {
    let nats = Nats::start(3).await;
    let (a, b, c) = tokio::join!(
        node("a", &nats, 3),
        node("b", &nats, 3),
        node("c", &nats, 3)
    );
    let (mut pubr, _) = Client::connect(a.tcp, V5, "pub", true).await;
    let (mut s2, _) = Client::connect(b.tcp, V5, "sub-q2", true).await;
    let (mut s1, _) = Client::connect(c.tcp, V311, "sub-q1", true).await;
    let (mut sw, _) = Client::connect(c.tcp, V5, "sub-weird", true).await;
    s2.subscribe_pid(1, "t/#", QoS::ExactlyOnce).await;
    s1.subscribe_pid(1, "t/+", QoS::AtLeastOnce).await;
    sw.subscribe_pid(1, "w/+/x. y*>//#", QoS::AtLeastOnce).await;
    await_route(&mut pubr, &mut s2, "t/probe").await;
    await_route(&mut pubr, &mut s1, "t/probe").await;

    const N: usize = 50;
    for i in 0..N {
        let pid = u16::try_from(i + 1).unwrap();
        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][i % 3];
        let rc = publish(&mut pubr, "t/x", format!("{i}").as_bytes(), qos, pid, false).await;
        assert_eq!(rc, ReasonCode::Success, "cluster PUBACK never says 0x10");
    }
    for (sub, cap) in [(&mut s2, QoS::ExactlyOnce), (&mut s1, QoS::AtLeastOnce)] {
        let got = receive_app(sub, N, Duration::from_secs(10), Duration::from_secs(3)).await;
        assert_eq!(got.len(), N, "every message once: {got:?}");
        for q in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let seq: Vec<usize> = got
                .iter()
                .filter(|g| {
                    let i: usize = String::from_utf8_lossy(&g.payload).parse().unwrap();
                    [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][i % 3] == q
                })
                .map(|g| String::from_utf8_lossy(&g.payload).parse().unwrap())
                .collect();
            let mut sorted = seq.clone();
            sorted.sort_unstable();
            assert_eq!(seq, sorted, "per-publisher order for {q:?} [MQTT-4.6.0-6]");
        }
        for g in &got {
            let i: usize = String::from_utf8_lossy(&g.payload).parse().unwrap();
            let published = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][i % 3];
            assert_eq!(
                g.qos,
                published.min(cap),
                "min(published, granted) [MQTT-3.8.4-8]"
            );
            assert_eq!(g.topic, "t/x");
        }
    }

    // NATS-significant bytes travel escaped: only the matching topic arrives, unchanged.
    for topic in [
        "w/a/x. y*>//deep/er",
        "w/a/x. y*>/",
        "w/a/x.y*>//z",
        "w/a.b/x. y*>//q",
    ] {
        publish(&mut pubr, topic, b"e", QoS::AtLeastOnce, 100, false).await;
    }
    let got = receive(&mut sw, 4, Duration::from_secs(5), Duration::from_secs(2)).await;
    let topics: Vec<&str> = got.iter().map(|g| g.topic.as_str()).collect();
    // `#` also matches its parent level [MQTT-4.7.1-2]; "x.y*>" is not "x. y*>".
    assert_eq!(
        topics,
        vec!["w/a/x. y*>//deep/er", "w/a/x. y*>/", "w/a.b/x. y*>//q"]
    );
    stop(vec![a, b, c]).await;
}

/// Retained messages are cluster-wide: a SUBSCRIBE on node B right after the PUBACK of a
/// retained PUBLISH on node A sees it (read-your-writes); a clear on C removes it for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_messages_are_cluster_wide_and_read_your_writes() {
    let nats = Nats::start(3).await;
    let (a, b, c) = tokio::join!(
        node("a", &nats, 3),
        node("b", &nats, 3),
        node("c", &nats, 3)
    );
    let (mut pa, _) = Client::connect(a.tcp, V5, "pa", true).await;
    let (mut pc, _) = Client::connect(c.tcp, V5, "pc", true).await;
    for round in 0..20 {
        let topic = format!("r/{round}");
        let body = format!("v{round}");
        publish(&mut pa, &topic, body.as_bytes(), QoS::AtLeastOnce, 1, true).await;
        let (mut sb, _) = Client::connect(b.tcp, V5, &format!("sb{round}"), true).await;
        sb.subscribe_pid(1, &topic, QoS::AtLeastOnce).await;
        let got = receive(&mut sb, 1, Duration::from_secs(5), Duration::from_secs(5)).await;
        assert_eq!(
            got.len(),
            1,
            "round {round}: retained message seen on another node"
        );
        assert_eq!(
            (got[0].payload.as_slice(), got[0].retain),
            (body.as_bytes(), true)
        );
    }
    // A QoS 0 retained publish followed by a subscribe on the same node sees it too.
    publish(&mut pc, "r/q0", b"zero", QoS::AtMostOnce, 1, true).await;
    let (mut sc, _) = Client::connect(c.tcp, V5, "sc", true).await;
    sc.subscribe_pid(1, "r/q0", QoS::AtMostOnce).await;
    let got = receive(&mut sc, 1, Duration::from_secs(5), Duration::from_secs(5)).await;
    assert_eq!(
        got.first().map(|g| g.payload.clone()),
        Some(b"zero".to_vec())
    );

    // Cleared on C (QoS 1: acknowledged once stored): gone everywhere.
    publish(&mut pc, "r/3", b"", QoS::AtLeastOnce, 2, true).await;
    let (mut sa, _) = Client::connect(a.tcp, V5, "sa", true).await;
    sa.subscribe_pid(1, "r/#", QoS::AtLeastOnce).await;
    let got = receive(&mut sa, 30, Duration::from_secs(5), Duration::from_secs(2)).await;
    let mut topics: Vec<String> = got.iter().map(|g| g.topic.clone()).collect();
    topics.sort();
    assert_eq!(topics.len(), 20, "19 of r/0..19 plus r/q0: {topics:?}");
    assert!(!topics.contains(&"r/3".to_owned()));

    // `$SYS/broker/...` stays per node; `$SYS/brokers/<node_id>/...` is every node's, on every
    // node (retained).
    let (mut sys, _) = Client::connect(b.tcp, V5, "sys", true).await;
    sys.subscribe_pid(1, "$SYS/brokers/+/uptime", QoS::AtMostOnce)
        .await;
    let mut nodes = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while nodes.len() < 3 && tokio::time::Instant::now() < deadline {
        for g in receive(&mut sys, 1, Duration::from_secs(2), Duration::from_secs(2)).await {
            nodes.insert(g.topic.split('/').nth(2).unwrap_or_default().to_owned());
        }
    }
    assert_eq!(nodes.into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    sys.subscribe_pid(2, "$SYS/broker/uptime", QoS::AtMostOnce)
        .await;
    stop(vec![a, b, c]).await;
}

/// A topic too long to be a NATS subject is refused up front: v5 DISCONNECT 0x90 for a
/// PUBLISH, SUBACK 0x8F for a filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_too_long_for_a_subject_are_refused_with_a_reason_code() {
    let nats = Nats::start(1).await;
    let a = node("a", &nats, 1).await;
    let long = format!("x/{}", " ".repeat(2000));
    let (mut s, _) = Client::connect(a.tcp, V5, "s", true).await;
    match s.subscribe_pid(1, &long, QoS::AtMostOnce).await {
        Packet::SubAck(ack) => assert_eq!(ack.reasons, vec![ReasonCode::TopicFilterInvalid]),
        other => panic!("{other:?}"),
    }
    s.send_publish(&long, b"x", QoS::AtMostOnce, 1, false).await;
    let closed = s.expect_closed().await;
    match closed.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.reason, ReasonCode::TopicNameInvalid),
        other => panic!("expected DISCONNECT 0x90, got {other:?}"),
    }
    stop(vec![a]).await;
}
