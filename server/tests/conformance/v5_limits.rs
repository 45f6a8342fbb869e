//! Limits and flow control: Maximum Packet Size both ways, Receive Maximum both ways (5.0
//! §3.1.2.11.3–4, §3.2.2.3.3, §3.2.2.3.6, §4.9), problem/response information requests,
//! reason codes on acknowledgements, AUTH.

use tern_codec::{Connect, Packet, PubResp, QoS, QosPid, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

const V5: Version = Version::V5;

/// [MQTT-3.1.2-24] "The Server MUST NOT send packets exceeding Maximum Packet Size to the
/// Client"; [MQTT-3.1.2-25] "Where a Packet is too large to send, the Server MUST discard it
/// without sending it and then behave as if it had completed sending that Application
/// Message." The next message flows normally (and the harness checks every packet's size).
#[tokio::test]
async fn mqtt5_3_1_2_24_never_send_more_than_client_maximum_packet_size() {
    let broker = Broker::target().await;
    let mut conn = Connect::new(V5, "small");
    conn.properties.maximum_packet_size = Some(64);
    let mut s = Client::connect_with(broker.tcp, conn, "small").await;
    s.subscribe("mps/#", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "mps-pub").await;
    c.publish_simple("mps/big", QoS::AtLeastOnce, &"x".repeat(200), false)
        .await;
    c.publish_simple("mps/small", QoS::AtLeastOnce, "ok", false)
        .await;
    let m = s.recv_publish_acked().await;
    assert_eq!(
        m.topic.as_str(),
        "mps/small",
        "[MQTT-3.1.2-25] oversized message discarded"
    );
    s.expect_nothing("nothing else").await;
}

/// [MQTT-3.1.2-25] "behave as if it had completed sending that Application Message": a
/// discarded oversized message must not keep occupying the Receive Maximum window — with a
/// window of 1 the message behind it is still delivered.
#[tokio::test]
async fn mqtt5_3_1_2_25_discarded_oversized_message_frees_the_window() {
    let broker = Broker::target().await;
    let mut conn = Connect::new(V5, "small-win");
    conn.properties.maximum_packet_size = Some(64);
    conn.properties.receive_maximum = Some(1);
    let mut s = Client::connect_with(broker.tcp, conn, "small-win").await;
    s.subscribe("msw/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "msw-pub").await;
    c.publish_simple("msw/t", QoS::AtLeastOnce, "first", false)
        .await;
    c.publish_simple("msw/t", QoS::AtLeastOnce, &"x".repeat(200), false)
        .await;
    c.publish_simple("msw/t", QoS::AtLeastOnce, "third", false)
        .await;
    let first = s.recv_publish().await;
    assert_eq!(first.payload.as_ref(), b"first");
    s.expect_nothing("window of 1 is full").await;
    s.ack(&first).await;
    let third = s.recv_publish_acked().await;
    assert_eq!(third.payload.as_ref(), b"third", "[MQTT-3.1.2-25]");
}

/// Inbound limit (5.0 §3.2.2.3.6): a server with a packet size limit announces it in CONNACK
/// (Maximum Packet Size); "If a Server receives a packet whose size exceeds this limit, this
/// is a Protocol Error, the Server uses DISCONNECT with Reason Code 0x95 (Packet too large)".
/// 3.1.1 has no code: the connection is closed. Tern's knob is Mosquitto's `max_packet_size`.
async fn inbound_too_large(v: Version) {
    let broker = Broker::target_with(|c| c.max_packet_size = 256).await;
    let mut c = Client::connected(broker.tcp, v, "big-pub").await;
    if v == V5 {
        let announced = c
            .connack
            .as_ref()
            .and_then(|a| a.properties.maximum_packet_size);
        assert_eq!(announced, Some(256), "CONNACK Maximum Packet Size");
    }
    c.publish_simple("fits", QoS::AtLeastOnce, &"x".repeat(100), false)
        .await;
    let p = publish("too/big", QoS::AtMostOnce, &[b'x'; 400]);
    c.send(Packet::Publish(p)).await;
    c.expect_disconnect(ReasonCode::PacketTooLarge, "§3.2.2.3.6 packet too large")
        .await;
}
per_version!(
    mqtt5_3_2_2_3_6_packet_too_large_disconnect_0x95,
    inbound_too_large
);

/// Bounded memory (issue #3, codec contract): an oversized packet is refused from its fixed
/// header alone — the server must not wait for (or buffer) a 100 MB body.
#[tokio::test]
async fn tern_oversized_packet_refused_from_fixed_header() {
    let broker = Broker::target_with(|c| c.max_packet_size = 1024).await;
    let mut c = Client::connected(broker.tcp, Version::V3_1_1, "header-only").await;
    let mut head = vec![0x30];
    head.extend(varint(100_000_000));
    c.send_raw(&head).await;
    let got = c.expect_closed().await;
    assert!(got.is_empty(), "{got:?}");
}

/// [MQTT-3.3.4-9] "The Server MUST NOT send more than Receive Maximum QoS 1 and QoS 2
/// PUBLISH packets for which it has not received PUBACK, PUBCOMP, or PUBREC with a Reason
/// Code of 128 or greater from the Client"; [MQTT-4.9.0-3] other packets still flow.
#[tokio::test]
async fn mqtt5_3_3_4_9_server_respects_client_receive_maximum() {
    let broker = Broker::target().await;
    let mut conn = Connect::new(V5, "rm");
    conn.properties.receive_maximum = Some(2);
    let mut s = Client::connect_with(broker.tcp, conn, "rm").await;
    s.subscribe("rm/t", QoS::ExactlyOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "rm-pub").await;
    for i in 0..5 {
        let q = if i % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        c.publish_simple("rm/t", q, &i.to_string(), false).await;
    }
    let first = s.ping().await; // [MQTT-4.9.0-3] PINGRESP even with the quota at zero
    assert_eq!(first.len(), 2, "[MQTT-3.3.4-9] window of 2: {first:?}");
    let mut seen = 0;
    let mut batch = first;
    while seen < 5 {
        assert!(!batch.is_empty(), "delivery stalled after {seen}");
        for p in std::mem::take(&mut batch) {
            let Packet::Publish(m) = p else {
                panic!("{p:?}")
            };
            assert_eq!(m.payload, bytes::Bytes::from(seen.to_string()), "in order");
            seen += 1;
            s.ack(&m).await;
        }
        batch = s.ping().await;
        assert!(batch.len() <= 2, "[MQTT-3.3.4-9] {batch:?}");
    }
}

/// 5.0 §3.3.4: "If it receives more than Receive Maximum QoS 1 and QoS 2 PUBLISH packets where
/// it has not sent a PUBACK or PUBCOMP in response, the Server uses a DISCONNECT packet with
/// Reason Code 0x93 (Receive Maximum exceeded)". Tern announces `max_inflight_messages` as
/// its Receive Maximum.
#[tokio::test]
async fn mqtt5_3_3_4_receive_maximum_exceeded_disconnect_0x93() {
    let broker = Broker::target_with(|c| c.max_inflight_messages = 3).await;
    let mut c = Client::connected(broker.tcp, V5, "flood").await;
    let rm = c
        .connack
        .as_ref()
        .and_then(|a| a.properties.receive_maximum);
    assert_eq!(rm, Some(3), "CONNACK Receive Maximum");
    for i in 1..=4u16 {
        let mut p = publish("flood/t", QoS::ExactlyOnce, b"x");
        p.qos_pid = QosPid::ExactlyOnce(pid(i));
        c.send(Packet::Publish(p)).await; // never PUBREL: all stay unacknowledged
    }
    let got = c.expect_closed().await;
    let recs = got
        .iter()
        .filter(|p| matches!(p, Packet::PubRec(_)))
        .count();
    assert_eq!(recs, 3, "the first three are accepted: {got:?}");
    assert!(
        matches!(got.last(), Some(Packet::Disconnect(d)) if d.reason == ReasonCode::ReceiveMaximumExceeded),
        "expected DISCONNECT 0x93: {got:?}"
    );
}

/// [MQTT-3.1.2-29] "If the value of Request Problem Information is 0, the Server MAY return a
/// Reason String or User Properties on a CONNACK or DISCONNECT packet, but MUST NOT send a
/// Reason String or User Properties on any packet other than PUBLISH, CONNACK, or
/// DISCONNECT." [MQTT-3.1.2-28] "A value of 0 [Request Response Information] indicates that
/// the Server MUST NOT return Response Information."
#[tokio::test]
async fn mqtt5_3_1_2_29_request_problem_information_0() {
    let broker = Broker::target().await;
    let mut conn = Connect::new(V5, "quiet");
    conn.properties.request_problem_information = Some(false);
    let mut c = Client::connect_with(broker.tcp, conn, "quiet").await;
    let ack = c.connack.clone().expect("connack");
    assert_eq!(ack.properties.response_information, None, "[MQTT-3.1.2-28]");
    let un = c.unsubscribe(&["never/subscribed"]).await;
    assert_eq!(
        un.properties.reason_string, None,
        "[MQTT-3.1.2-29] UNSUBACK"
    );
    assert!(un.properties.user_properties.is_empty());
    c.send(Packet::PubRel(PubResp::new(pid(5)))).await;
    match c.recv().await {
        Packet::PubComp(r) => {
            assert_eq!(r.properties.reason_string, None, "[MQTT-3.1.2-29] PUBCOMP");
            assert!(r.properties.user_properties.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

/// 5.0 §3.4.2.1 PUBACK / §3.5.2.1 PUBREC reason codes: a successful publish is acknowledged
/// with 0x00 (Success) or 0x10 (No matching subscribers) — never an error code.
#[tokio::test]
async fn mqtt5_3_4_2_1_puback_reason_codes() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "rc").await;
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let ack = c
            .publish(publish("nobody/here", qos, b"x"))
            .await
            .expect("ack");
        assert!(
            matches!(
                ack.reason,
                ReasonCode::Success | ReasonCode::NoMatchingSubscribers
            ),
            "{ack:?}"
        );
    }
    c.subscribe("rc/t", QoS::AtMostOnce).await;
    let ack = c
        .publish(publish("rc/t", QoS::AtLeastOnce, b"x"))
        .await
        .expect("ack");
    assert_eq!(ack.reason, ReasonCode::Success);
}

/// [MQTT-4.12.0-7] "If the Client does not include an Authentication Method in the CONNECT,
/// the Client MUST NOT send an AUTH packet to the Server" → Protocol Error, DISCONNECT 0x82.
/// In 3.1.1 packet type 15 is reserved ([MQTT-2.2.2-2] family): close.
async fn auth_without_method(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "auth-rogue").await;
    c.send_raw(&[0xF0, 0x02, 0x18, 0x00]).await; // AUTH, Continue authentication, no props
    let got = c.expect_closed().await;
    if v == V5 {
        assert!(
            matches!(got.last(), Some(Packet::Disconnect(d)) if matches!(d.reason,
                ReasonCode::ProtocolError | ReasonCode::MalformedPacket)),
            "[MQTT-4.12.0-7] {got:?}"
        );
    } else {
        assert!(got.is_empty(), "{got:?}");
    }
}
per_version!(
    mqtt_4_12_0_7_auth_without_method_is_a_protocol_error,
    auth_without_method
);
