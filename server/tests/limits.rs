//! Limits no client may exceed (issue "No client can stop or exhaust the broker"): topic
//! depth (`max_topic_levels`, and 60,000-level topics with the limit off), packet size read
//! from the fixed header (`max_packet_size`), subscriptions per client (`max_subscriptions`),
//! queued bytes (`max_queued_bytes`), abandoned sessions (`persistent_client_expiration`) and
//! 3.x QoS 2 ids awaiting PUBREL. Each test ends with a round trip through the same broker:
//! it is still alive and routing.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::*;
use tern_codec::{
    LastWill, Packet, PubResp, Publish, QoS, QosPid, ReasonCode, Subscribe, SubscriptionOptions,
    Unsubscribe, Version,
};

const V5: Version = Version::V5;
const V311: Version = Version::V3_1_1;

/// The broker still routes: a fresh subscriber gets a QoS 1 message from a fresh publisher.
async fn assert_alive(srv: &Broker) {
    let (mut s, _) = Client::connect(srv.tcp, V5, "alive-sub", true).await;
    s.subscribe_pid(1, "alive/check", QoS::AtLeastOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, V5, "alive-pub", true).await;
    p.send_publish("alive/check", b"yes", QoS::AtLeastOnce, 1, false)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    let m = s.recv_publish().await;
    assert_eq!(m.payload, Bytes::from_static(b"yes"));
}

fn subscribe_packet(id: u16, filters: &[(&str, QoS)]) -> Packet {
    Packet::Subscribe(Subscribe {
        pid: pid(id),
        filters: filters
            .iter()
            .map(|(f, q)| (filter(f), SubscriptionOptions::new(*q)))
            .collect(),
        properties: Default::default(),
    })
}

fn unsubscribe_packet(id: u16, filters: &[&str]) -> Unsubscribe {
    Unsubscribe {
        pid: pid(id),
        filters: filters.iter().map(|f| filter(f)).collect(),
        properties: Default::default(),
    }
}

fn will_on(on: &str) -> LastWill {
    LastWill {
        topic: topic(on),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    }
}

fn suback_reasons(p: Packet) -> Vec<ReasonCode> {
    match p {
        Packet::SubAck(a) => a.reasons,
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

/// The reported crash: an anonymous SUBSCRIBE with a 60,000-level filter, SUBACK, close.
/// With the default limit the filter is refused; the broker never walks it.
#[tokio::test]
async fn deep_filter_is_refused_per_filter_by_default() {
    let srv = Broker::start().await;
    let deep = format!("{}#", "/".repeat(60_000));
    for (version, refused) in [
        (V5, ReasonCode::TopicFilterInvalid),
        // 3.1.1 has one failure code [MQTT-3.9.3-2]; the codec reads 0x80 back as this.
        (V311, ReasonCode::UnspecifiedError),
    ] {
        let (mut c, _) = Client::connect(srv.tcp, version, "deep-sub", true).await;
        c.send(subscribe_packet(
            7,
            &[(&deep, QoS::AtMostOnce), ("ok/#", QoS::AtMostOnce)],
        ))
        .await;
        let reasons = suback_reasons(c.recv().await);
        assert_eq!(reasons, vec![refused, ReasonCode::Success]);
        // 200 levels are fine, 201 are not.
        let at_limit = "/".repeat(199);
        let over = "/".repeat(200);
        c.send(subscribe_packet(
            8,
            &[(&at_limit, QoS::AtMostOnce), (&over, QoS::AtMostOnce)],
        ))
        .await;
        assert_eq!(
            suback_reasons(c.recv().await),
            vec![ReasonCode::Success, refused]
        );
    }
    assert_alive(&srv).await;
}

#[tokio::test]
async fn deep_publish_topic_closes_the_connection() {
    let srv = Broker::start().await;
    let deep = "/".repeat(200) + "x";
    let (mut c, _) = Client::connect(srv.tcp, V5, "deep-pub", true).await;
    c.send_publish(&deep, b"x", QoS::AtLeastOnce, 1, true).await;
    let got = c.expect_closed().await;
    assert!(
        matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::TopicNameInvalid),
        "v5: DISCONNECT 0x90, got {got:?}"
    );
    let (mut c, _) = Client::connect(srv.tcp, V311, "deep-pub", true).await;
    c.send_publish(&deep, b"x", QoS::AtMostOnce, 0, true).await;
    assert!(c.expect_closed().await.is_empty(), "3.1.1: closed");
    // A will on a deep topic is refused at CONNECT: v5 CONNACK 0x90.
    let mut conn = connect_packet(V5, "deep-will", true);
    conn.will = Some(will_on(&deep));
    let mut c = Client::tcp(srv.tcp, V5, "deep-will").await;
    assert_eq!(c.handshake(conn).await.reason, ReasonCode::TopicNameInvalid);
    assert_alive(&srv).await;
}

/// With the limit switched off, 60,000-level filters and topics work and do not bring the
/// broker down: trie and retained store walk, prune and free them without recursion.
#[tokio::test]
async fn sixty_thousand_levels_with_the_limit_off() {
    let srv = Broker::with(|c| c.max_topic_levels = 0).await;
    let deep_filter = format!("{}#", "/".repeat(60_000));
    let deep_topic = "/".repeat(60_000) + "leaf";
    // The report's sequence: subscribe, SUBACK, close the socket (the session ends and its
    // subscription is removed from the trie).
    let (mut c, _) = Client::connect(srv.tcp, V311, "deep", true).await;
    assert_eq!(
        suback_reasons(c.subscribe_pid(1, &deep_filter, QoS::AtMostOnce).await),
        vec![ReasonCode::Success]
    );
    drop(c);
    // A retained message 60,000 levels deep, then `#` and the deep filter see it.
    let (mut p, _) = Client::connect(srv.tcp, V5, "deep-pub", true).await;
    p.send_publish(&deep_topic, b"bottom", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    for filter in ["#", deep_filter.as_str()] {
        let (mut s, _) = Client::connect(srv.tcp, V5, "deep-reader", true).await;
        s.subscribe_pid(1, filter, QoS::AtLeastOnce).await;
        let m = s.recv_publish().await;
        assert_eq!((m.topic.len(), m.retain), (deep_topic.len(), true));
        // Live too.
        p.send_publish(&deep_topic, b"live", QoS::AtMostOnce, 0, false)
            .await;
        assert_eq!(s.recv_publish().await.payload, Bytes::from_static(b"live"));
    }
    // Clearing the retained message prunes the 60,000-node branch.
    p.send_publish(&deep_topic, b"", QoS::AtLeastOnce, 2, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    assert_alive(&srv).await;
    srv.shutdown().await.unwrap();
}

/// Persistence round trip of a 60,000-level retained message and subscription.
#[tokio::test]
async fn sixty_thousand_levels_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let dir = dir.path().to_owned();
        Broker::with(move |c| {
            c.persistence = true;
            c.persistence_location = Some(dir);
            c.max_topic_levels = 0;
        })
    };
    let deep_topic = "/".repeat(60_000) + "kept";
    let deep_filter = "/".repeat(60_000) + "+";
    let srv = start().await;
    let (mut s, _) = Client::connect(srv.tcp, V311, "deep-durable", false).await;
    s.subscribe_pid(1, &deep_filter, QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(srv.tcp, V5, "deep-pub", true).await;
    p.send_publish(&deep_topic, b"r", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    srv.shutdown().await.unwrap();

    let srv = start().await;
    let (mut s, ack) = Client::connect(srv.tcp, V311, "deep-durable", false).await;
    assert!(ack.session_present);
    // Queued while offline (the subscription matched), then the subscription still routes.
    assert_eq!(s.recv_publish().await.topic.as_str(), deep_topic);
    let (mut p, _) = Client::connect(srv.tcp, V5, "deep-pub", true).await;
    p.send_publish(&deep_topic, b"after", QoS::AtMostOnce, 0, false)
        .await;
    assert_eq!(s.recv_publish().await.payload, Bytes::from_static(b"after"));
    let (mut r, _) = Client::connect(srv.tcp, V5, "deep-reader", true).await;
    r.subscribe_pid(1, "#", QoS::AtMostOnce).await;
    assert!(r.recv_publish().await.retain, "retained message restored");
    srv.shutdown().await.unwrap();
}

/// A PUBLISH declaring 200 MB is refused from its fixed header, not read for as long as
/// the client trickles it: v5 DISCONNECT 0x95 at once. CONNACK announces the limit.
#[tokio::test]
async fn oversized_packet_refused_from_the_fixed_header() {
    let srv = Broker::start().await;
    let (mut c, ack) = Client::connect(srv.tcp, V5, "big", true).await;
    assert_eq!(
        ack.properties.maximum_packet_size,
        Some(1024 * 1024),
        "default 1 MiB"
    );
    // PUBLISH QoS 0, remaining length 200,000,000, then a few bytes of the topic.
    let mut header = vec![0x30];
    let mut n: u32 = 200_000_000;
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        header.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            break;
        }
    }
    header.extend_from_slice(&[0x00, 0x03, b'a']);
    c.send_raw(&header).await;
    let got = c.expect_closed().await;
    assert!(
        matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::PacketTooLarge),
        "got {got:?}"
    );
    assert_alive(&srv).await;
}

/// Before a client is admitted, its CONNECT may not be larger than 128 KiB whatever
/// `max_packet_size` allows: a trickled giant CONNECT cannot make the broker buffer it.
#[tokio::test]
async fn oversized_connect_is_refused_from_its_fixed_header() {
    let srv = Broker::with(|c| c.max_packet_size = 0).await;
    let mut c = Client::tcp(srv.tcp, V5, "c").await;
    // CONNECT, remaining length 200,000, then the start of a v5 variable header.
    let mut bytes = vec![0x10, 0xC0, 0x9A, 0x0C];
    bytes.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 5]);
    c.send_raw(&bytes).await;
    let got = c.expect_closed().await;
    assert!(
        matches!(got.as_slice(), [Packet::ConnAck(a)] if a.reason == ReasonCode::PacketTooLarge),
        "v5 CONNACK 0x95, got {got:?}"
    );
    assert_alive(&srv).await;
}

#[tokio::test]
async fn subscriptions_per_client_are_capped_with_quota_exceeded() {
    let srv = Broker::with(|c| c.max_subscriptions = 2).await;
    let (mut c, _) = Client::connect(srv.tcp, V5, "many-subs", true).await;
    let q = QoS::AtMostOnce;
    c.send(subscribe_packet(1, &[("a", q), ("b", q), ("c", q)]))
        .await;
    assert_eq!(
        suback_reasons(c.recv().await),
        vec![
            ReasonCode::Success,
            ReasonCode::Success,
            ReasonCode::QuotaExceeded
        ]
    );
    // Replacing an existing subscription is not a new one [MQTT-3.8.4-3].
    assert_eq!(
        suback_reasons(c.subscribe_pid(2, "a", q).await),
        vec![ReasonCode::Success]
    );
    c.send(Packet::Unsubscribe(unsubscribe_packet(3, &["b"])))
        .await;
    assert!(matches!(c.recv().await, Packet::UnsubAck(_)));
    assert_eq!(
        suback_reasons(c.subscribe_pid(4, "c", q).await),
        vec![ReasonCode::Success]
    );
    let (mut c3, _) = Client::connect(srv.tcp, V311, "many-subs-3", true).await;
    c3.send(subscribe_packet(1, &[("a", q), ("b", q), ("c", q)]))
        .await;
    assert_eq!(
        suback_reasons(c3.recv().await)[2],
        ReasonCode::UnspecifiedError,
        "3.1.1: 0x80"
    );
    assert_alive(&srv).await;
}

/// `max_queued_bytes` (topic + payload) bounds an offline session's queue beside the count.
#[tokio::test]
async fn queued_bytes_are_capped_for_offline_sessions() {
    let srv = Broker::with(|c| c.max_queued_bytes = 1000).await;
    let (mut s, _) = Client::connect(srv.tcp, V311, "offline", false).await;
    s.subscribe_pid(1, "q", QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(srv.tcp, V5, "filler", true).await;
    let payload = [7u8; 300];
    for i in 1..=10 {
        p.send_publish("q", &payload, QoS::AtLeastOnce, i, false)
            .await;
        assert!(matches!(p.recv().await, Packet::PubAck(_)));
    }
    let (mut s, ack) = Client::connect(srv.tcp, V311, "offline", false).await;
    assert!(ack.session_present);
    // 3 × (1 + 300) bytes fit in 1000, a fourth does not.
    for _ in 0..3 {
        let m = s.recv_publish().await;
        s.ack(&m).await;
    }
    s.expect_quiet(Duration::from_millis(300)).await;
    assert_alive(&srv).await;
}

/// `persistent_client_expiration`: an abandoned 3.1.1 session is removed; a v5 client asking
/// for "never" is told the cap in CONNACK (section 3.2.2.3.2).
#[tokio::test]
async fn abandoned_sessions_expire_after_persistent_client_expiration() {
    let srv = Broker::with(|c| c.persistent_client_expiration = Some(Duration::from_secs(1))).await;
    let mut conn = connect_packet(V5, "forever", false);
    conn.properties.session_expiry_interval = Some(u32::MAX);
    let mut c = Client::tcp(srv.tcp, V5, "forever").await;
    assert_eq!(
        c.handshake(conn).await.properties.session_expiry_interval,
        Some(1)
    );
    let (mut c, _) = Client::connect(srv.tcp, V311, "abandoned", false).await;
    c.subscribe_pid(1, "x", QoS::AtLeastOnce).await;
    drop(c);
    // The expiry is a timer of the broker's; wait it out (plus margin), then come back.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_c, ack) = Client::connect(srv.tcp, V311, "abandoned", false).await;
    assert!(!ack.session_present, "the abandoned session was removed");
    assert_alive(&srv).await;
}

/// A 3.1.1 client may not leave more QoS 2 ids awaiting PUBREL than `max_queued_messages`.
#[tokio::test]
async fn incoming_qos2_ids_of_311_clients_are_capped() {
    let srv = Broker::with(|c| c.max_queued_messages = 3).await;
    let (mut c, _) = Client::connect(srv.tcp, V311, "qos2-hoarder", true).await;
    for pid in 1..=3 {
        c.send_publish("t", b"x", QoS::ExactlyOnce, pid, false)
            .await;
        assert!(matches!(c.recv().await, Packet::PubRec(_)));
    }
    // A resent id is not a new one [MQTT-4.3.3-9].
    c.send_publish("t", b"x", QoS::ExactlyOnce, 2, false).await;
    assert!(matches!(c.recv().await, Packet::PubRec(_)));
    // Releasing one makes room.
    c.send(Packet::PubRel(PubResp::new(pid(1)))).await;
    assert!(matches!(c.recv().await, Packet::PubComp(_)));
    c.send_publish("t", b"x", QoS::ExactlyOnce, 4, false).await;
    assert!(matches!(c.recv().await, Packet::PubRec(_)));
    c.send(Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::ExactlyOnce(pid(5)),
        retain: false,
        topic: topic("t"),
        payload: Bytes::from_static(b"x"),
        properties: Default::default(),
    }))
    .await;
    assert!(c.expect_closed().await.is_empty(), "closed without PUBREC");
    assert_alive(&srv).await;
}
