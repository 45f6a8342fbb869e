//! Server capabilities and their enforcement (5.0 §3.2.2.3.4–5; 3.1.1 §3.9.3): Maximum QoS,
//! Retain Available, and tern's `max_connections` limit.

use tern_codec::{Connect, Packet, QoS, ReasonCode, SubscriptionOptions, Version};

use crate::support::*;

const V5: Version = Version::V5;

/// 3.1.1 §3.8.4: "The Server might grant a lower maximum QoS than the subscriber requested";
/// the delivered QoS is then the minimum of published and granted ([MQTT-3.8.4-6], 5.0
/// [MQTT-3.8.4-8]). With `max_qos = 1` a QoS 2 request is granted QoS 1.
#[tokio::test]
async fn mqtt_3_8_4_6_granted_qos_capped_by_server_maximum() {
    let broker = Broker::target_with(|c| c.max_qos = 1).await;
    for v in [Version::V3_1_1, V5] {
        let mut s = Client::connected(broker.tcp, v, "capped").await;
        let ack = s
            .subscribe_opts("cap/t", SubscriptionOptions::new(QoS::ExactlyOnce))
            .await;
        assert_eq!(ack.reasons, [ReasonCode::GrantedQoS1], "{v}: granted QoS 1");
        let mut c = Client::connected(broker.tcp, v, "capped-pub").await;
        c.publish_simple("cap/t", QoS::AtLeastOnce, "x", false)
            .await;
        assert_eq!(s.recv_publish_acked().await.qos_pid.qos(), QoS::AtLeastOnce);
    }
}

/// 5.0 [MQTT-3.2.2-9] "If a Server does not support QoS 1 or QoS 2 PUBLISH packets it MUST
/// send a Maximum QoS in the CONNACK packet specifying the highest QoS it supports";
/// [MQTT-3.2.2-10] "A Server that does not support QoS 1 or QoS 2 PUBLISH packets MUST still
/// accept SUBSCRIBE packets containing a Requested QoS of 0, 1 or 2"; a PUBLISH above the
/// maximum is answered with DISCONNECT 0x9B (QoS not supported) (§3.2.2.3.4); a Will QoS
/// above it is refused ([MQTT-3.2.2-12], CONNACK 0x9B).
#[tokio::test]
async fn mqtt5_3_2_2_9_maximum_qos_announced_and_enforced() {
    let broker = Broker::target_with(|c| c.max_qos = 1).await;
    let mut c = Client::connected(broker.tcp, V5, "maxqos").await;
    let announced = c.connack.as_ref().and_then(|a| a.properties.maximum_qos);
    assert_eq!(announced, Some(QoS::AtLeastOnce), "[MQTT-3.2.2-9]");
    let ack = c
        .subscribe_opts("mq/t", SubscriptionOptions::new(QoS::ExactlyOnce))
        .await;
    assert!(!ack.reasons[0].is_error(), "[MQTT-3.2.2-10] {ack:?}");
    c.send(Packet::Publish(publish("mq/t", QoS::ExactlyOnce, b"x")))
        .await;
    c.expect_disconnect(ReasonCode::QoSNotSupported, "§3.2.2.3.4")
        .await;

    let conn = connect_with_will(V5, "maxqos-will", "w/t", "x", QoS::ExactlyOnce, false);
    let mut w = Client::tcp(broker.tcp, V5, "maxqos-will").await;
    let ack = w.handshake(conn).await;
    assert!(
        matches!(
            ack.reason,
            ReasonCode::QoSNotSupported | ReasonCode::UnspecifiedError
        ),
        "[MQTT-3.2.2-12] {ack:?}"
    );
    assert!(
        w.expect_closed().await.is_empty(),
        "[MQTT-3.2.2-7] closed after refusal"
    );
}

/// 5.0 §3.2.2.3.5 Retain Available = 0: announced in CONNACK; [MQTT-3.2.2-13] a CONNECT whose
/// Will has Will Retain 1 "MUST" be rejected (CONNACK 0x9A Retain not supported);
/// [MQTT-3.2.2-14] a client "MUST NOT send a PUBLISH packet with the RETAIN flag set to 1",
/// the server answers one with DISCONNECT 0x9A.
#[tokio::test]
async fn mqtt5_3_2_2_13_retain_not_available() {
    let broker = Broker::target_with(|c| c.retain_available = false).await;
    let mut c = Client::connected(broker.tcp, V5, "noretain").await;
    let announced = c
        .connack
        .as_ref()
        .and_then(|a| a.properties.retain_available);
    assert_eq!(announced, Some(false), "Retain Available 0 announced");
    let mut p = publish("nr/t", QoS::AtLeastOnce, b"x");
    p.retain = true;
    c.send(Packet::Publish(p)).await;
    c.expect_disconnect(ReasonCode::RetainNotSupported, "[MQTT-3.2.2-14]")
        .await;

    let conn = connect_with_will(V5, "noretain-will", "w/t", "x", QoS::AtMostOnce, true);
    let mut w = Client::tcp(broker.tcp, V5, "noretain-will").await;
    let ack = w.handshake(conn).await;
    assert!(
        matches!(
            ack.reason,
            ReasonCode::RetainNotSupported | ReasonCode::UnspecifiedError
        ),
        "[MQTT-3.2.2-13] {ack:?}"
    );
    assert!(w.expect_closed().await.is_empty());
}

/// Issue #3 `max_connections` (Mosquitto's knob): connections beyond the limit are closed
/// (a refusing CONNACK first is allowed); a freed slot can be used again.
#[tokio::test]
async fn tern_max_connections_limits_concurrent_connections() {
    let broker = Broker::target_with(|c| c.max_connections = 2).await;
    let a = Client::connected(broker.tcp, V5, "mc-a").await;
    let mut b = Client::connected(broker.tcp, V5, "mc-b").await;
    let mut extra = Client::tcp(broker.tcp, V5, "mc-extra").await;
    extra
        .send(Packet::Connect(Box::new(Connect::new(V5, "mc-extra"))))
        .await;
    let got = extra.expect_closed().await;
    assert!(
        got.iter()
            .all(|p| matches!(p, Packet::ConnAck(a) if a.reason.is_error())),
        "third connection must not be accepted: {got:?}"
    );
    b.expect_nothing("existing connections unaffected").await;
    a.disconnect().await;
    // The slot is released when the server has finished with the closed connection; each
    // attempt waits for an event (CONNACK or close), bounded to 50 attempts.
    for attempt in 0.. {
        let mut c = Client::tcp(broker.tcp, V5, "mc-again").await;
        c.send(Packet::Connect(Box::new(Connect::new(V5, "mc-again"))))
            .await;
        match c.next_event(DEADLINE).await {
            Event::Packet(Packet::ConnAck(ack)) if !ack.reason.is_error() => break,
            _ if attempt < 50 => continue,
            other => panic!("freed slot never reusable: {other:?}"),
        }
    }
}
