//! End-to-end checks of the broker's core flows over real sockets (TCP and WebSocket).

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::*;
use tern_codec::{
    Disconnect, LastWill, Packet, PubResp, QoS, QosPid, ReasonCode, Version, WillProperties,
};

#[tokio::test]
async fn connack_accepts_all_three_versions_mqtt_3_2_0_1() {
    let srv = Broker::start().await;
    for v in [Version::V3_1, Version::V3_1_1, Version::V5] {
        let (_c, ack) = Client::connect(srv.tcp, v, &format!("c-{v}"), true).await;
        assert_eq!(ack.reason, ReasonCode::Success, "{v}");
        assert!(!ack.session_present);
    }
}

#[tokio::test]
async fn qos_0_1_2_round_trip_tcp_and_ws() {
    let srv = Broker::start().await;
    let (mut sub, _) = Client::connect(srv.tcp, Version::V3_1_1, "sub", true).await;
    let Packet::SubAck(ack) = sub.subscribe_pid(1, "a/+", QoS::ExactlyOnce).await else {
        panic!("SUBACK expected")
    };
    assert_eq!(ack.reasons, vec![ReasonCode::GrantedQoS2]);

    let mut publ = Client::ws(&srv.ws_url(), Version::V5, "pub").await;
    let ack = publ
        .handshake(connect_packet(Version::V5, "pub", true))
        .await;
    assert_eq!(ack.reason, ReasonCode::Success);

    // QoS 0
    publ.send_publish("a/b", b"zero", QoS::AtMostOnce, 0, false)
        .await;
    match sub.recv().await {
        Packet::Publish(p) => {
            assert_eq!(p.payload, Bytes::from_static(b"zero"));
            assert_eq!(p.qos_pid, QosPid::AtMostOnce);
        }
        other => panic!("{other:?}"),
    }
    // QoS 1: PUBACK to the publisher, PUBLISH QoS 1 to the subscriber.
    publ.send_publish("a/b", b"one", QoS::AtLeastOnce, 7, false)
        .await;
    assert!(matches!(publ.recv().await, Packet::PubAck(r) if r.pid.get() == 7));
    let Packet::Publish(p) = sub.recv().await else {
        panic!()
    };
    assert_eq!(p.qos_pid.qos(), QoS::AtLeastOnce);
    let id = p.qos_pid.pid().unwrap();
    sub.send(Packet::PubAck(PubResp::new(id))).await;
    // QoS 2 both ways.
    publ.send_publish("a/c", b"two", QoS::ExactlyOnce, 8, false)
        .await;
    assert!(matches!(publ.recv().await, Packet::PubRec(r) if r.pid.get() == 8));
    publ.send(Packet::PubRel(PubResp::new(pid(8)))).await;
    assert!(matches!(publ.recv().await, Packet::PubComp(r) if r.pid.get() == 8));
    let Packet::Publish(p) = sub.recv().await else {
        panic!()
    };
    assert_eq!(p.qos_pid.qos(), QoS::ExactlyOnce);
    assert_eq!(p.topic.as_str(), "a/c");
    let id = p.qos_pid.pid().unwrap();
    sub.send(Packet::PubRec(PubResp::new(id))).await;
    assert!(matches!(sub.recv().await, Packet::PubRel(r) if r.pid == id));
    sub.send(Packet::PubComp(PubResp::new(id))).await;
    sub.expect_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn qos2_duplicate_publish_delivered_once_mqtt_4_3_3_10() {
    let srv = Broker::start().await;
    let (mut sub, _) = Client::connect(srv.tcp, Version::V3_1_1, "s", true).await;
    sub.subscribe_pid(1, "t", QoS::AtMostOnce).await;
    let (mut publ, _) = Client::connect(srv.tcp, Version::V3_1_1, "p", true).await;
    publ.send_publish("t", b"x", QoS::ExactlyOnce, 5, false)
        .await;
    assert!(matches!(publ.recv().await, Packet::PubRec(_)));
    publ.send_publish("t", b"x", QoS::ExactlyOnce, 5, false)
        .await;
    assert!(matches!(publ.recv().await, Packet::PubRec(_)));
    assert!(matches!(sub.recv().await, Packet::Publish(_)));
    sub.expect_quiet(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn retained_delivered_on_subscribe_and_cleared_mqtt_3_3_1_6_and_10() {
    let srv = Broker::start().await;
    let (mut publ, _) = Client::connect(srv.tcp, Version::V3_1_1, "p", true).await;
    publ.send_publish("r/1", b"keep", QoS::AtLeastOnce, 1, true)
        .await;
    assert!(matches!(publ.recv().await, Packet::PubAck(_)));
    let (mut sub, _) = Client::connect(srv.tcp, Version::V3_1_1, "s", true).await;
    assert!(matches!(
        sub.subscribe_pid(1, "r/#", QoS::AtLeastOnce).await,
        Packet::SubAck(_)
    ));
    let Packet::Publish(p) = sub.recv().await else {
        panic!()
    };
    assert!(
        p.retain,
        "[MQTT-3.3.1-8] retained message sent with RETAIN 1"
    );
    assert_eq!(p.payload, Bytes::from_static(b"keep"));
    sub.send(Packet::PubAck(PubResp::new(p.qos_pid.pid().unwrap())))
        .await;
    // A live retained publish is forwarded with RETAIN 0 to existing subscribers [MQTT-3.3.1-9].
    publ.send_publish("r/1", b"", QoS::AtMostOnce, 0, true)
        .await;
    let Packet::Publish(p) = sub.recv().await else {
        panic!()
    };
    assert!(!p.retain);
    // Now deleted: a new subscriber gets nothing.
    let (mut late, _) = Client::connect(srv.tcp, Version::V3_1_1, "late", true).await;
    late.subscribe_pid(1, "r/#", QoS::AtMostOnce).await;
    late.expect_quiet(Duration::from_millis(200)).await;
}

fn with_will(mut c: tern_codec::Connect, delay: Option<u32>) -> tern_codec::Connect {
    c.will = Some(LastWill {
        topic: topic("will/t"),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: delay,
            ..Default::default()
        }
        .into(),
    });
    c
}

#[tokio::test]
async fn will_sent_on_abrupt_close_not_on_disconnect_mqtt_3_1_2_8_and_10() {
    let srv = Broker::start().await;
    let (mut sub, _) = Client::connect(srv.tcp, Version::V3_1_1, "watch", true).await;
    sub.subscribe_pid(1, "will/#", QoS::AtMostOnce).await;

    let mut c = Client::tcp(srv.tcp, Version::V3_1_1, "w1").await;
    c.handshake(with_will(connect_packet(Version::V3_1_1, "w1", true), None))
        .await;
    c.send(Packet::Disconnect(Disconnect {
        reason: ReasonCode::Success,
        properties: Default::default(),
    }))
    .await;
    assert!(c.expect_closed().await.is_empty());
    sub.expect_quiet(Duration::from_millis(200)).await;

    let mut c = Client::tcp(srv.tcp, Version::V3_1_1, "w2").await;
    c.handshake(with_will(connect_packet(Version::V3_1_1, "w2", true), None))
        .await;
    drop(c);
    let Packet::Publish(p) = sub.recv().await else {
        panic!()
    };
    assert_eq!(p.payload, Bytes::from_static(b"gone"));
}

#[tokio::test]
async fn v5_disconnect_0x04_sends_will_and_delay_cancelled_by_reconnect_mqtt_3_1_3_9() {
    let srv = Broker::start().await;
    let (mut sub, _) = Client::connect(srv.tcp, Version::V5, "watch", true).await;
    sub.subscribe_pid(1, "will/#", QoS::AtMostOnce).await;

    let mut c = Client::tcp(srv.tcp, Version::V5, "w").await;
    c.handshake(with_will(connect_packet(Version::V5, "w", true), None))
        .await;
    c.send(Packet::Disconnect(Disconnect {
        reason: ReasonCode::DisconnectWithWillMessage,
        properties: Default::default(),
    }))
    .await;
    assert!(matches!(sub.recv().await, Packet::Publish(_)));

    // Will Delay 2 s with a session that outlives it; reconnecting first cancels the will.
    let mut conn = with_will(connect_packet(Version::V5, "d", false), Some(2));
    conn.properties.session_expiry_interval = Some(60);
    let mut c = Client::tcp(srv.tcp, Version::V5, "d").await;
    c.handshake(conn.clone()).await;
    drop(c);
    let mut c = Client::tcp(srv.tcp, Version::V5, "d").await;
    let ack = c.handshake(conn).await;
    assert!(ack.session_present);
    sub.expect_quiet(Duration::from_millis(2500)).await;
}

#[tokio::test]
async fn persistent_session_queues_offline_and_resends_dup_mqtt_4_4_0_1() {
    let srv = Broker::start().await;
    let (mut s, ack) = Client::connect(srv.tcp, Version::V3_1_1, "ps", false).await;
    assert!(!ack.session_present);
    s.subscribe_pid(1, "q/#", QoS::AtLeastOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, Version::V3_1_1, "pp", true).await;
    p.send_publish("q/1", b"first", QoS::AtLeastOnce, 1, false)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    // Received but not acknowledged, then the connection drops.
    let Packet::Publish(first) = s.recv().await else {
        panic!()
    };
    drop(s);
    p.send_publish("q/1", b"second", QoS::AtLeastOnce, 2, false)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    p.send_publish("q/1", b"lost-qos0", QoS::AtMostOnce, 0, false)
        .await;

    let (mut s, ack) = Client::connect(srv.tcp, Version::V3_1_1, "ps", false).await;
    assert!(ack.session_present, "[MQTT-3.2.2-2]");
    let Packet::Publish(again) = s.recv().await else {
        panic!()
    };
    assert!(again.dup, "resent with DUP");
    assert_eq!(again.qos_pid, first.qos_pid);
    assert_eq!(again.payload, Bytes::from_static(b"first"));
    let Packet::Publish(queued) = s.recv().await else {
        panic!()
    };
    assert_eq!(queued.payload, Bytes::from_static(b"second"));
    assert!(!queued.dup);
    s.send(Packet::PubAck(PubResp::new(again.qos_pid.pid().unwrap())))
        .await;
    s.send(Packet::PubAck(PubResp::new(queued.qos_pid.pid().unwrap())))
        .await;
    s.expect_quiet(Duration::from_millis(200)).await;

    // Clean session discards it [MQTT-3.1.2-6].
    drop(s);
    let (_s, ack) = Client::connect(srv.tcp, Version::V3_1_1, "ps", true).await;
    assert!(!ack.session_present);
}

#[tokio::test]
async fn takeover_closes_old_connection_v5_0x8e_mqtt_3_1_4_3() {
    let srv = Broker::start().await;
    let (mut old, _) = Client::connect(srv.tcp, Version::V5, "same", true).await;
    let (_new, ack) = Client::connect(srv.tcp, Version::V5, "same", true).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    let got = old.expect_closed().await;
    assert!(
        matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::SessionTakenOver),
        "{got:?}"
    );
}

#[tokio::test]
async fn shutdown_completes_with_tcp_and_ws_clients_connected() {
    let srv = Broker::start().await;
    let (mut t, _) = Client::connect(srv.tcp, Version::V5, "t", true).await;
    let mut w = Client::ws(&srv.ws_url(), Version::V3_1_1, "w").await;
    w.handshake(connect_packet(Version::V3_1_1, "w", true))
        .await;
    let done = tokio::spawn(srv.shutdown());
    let got = t.expect_closed().await;
    assert!(
        matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::ServerShuttingDown),
        "{got:?}"
    );
    assert!(w.expect_closed().await.is_empty());
    done.await.unwrap().unwrap();
}

#[tokio::test]
async fn batched_input_is_answered_in_order_mqtt_4_6_0() {
    // PUBLISH to our own subscription, PINGREQ, in one write: the PUBLISH it queued for us
    // comes back before the PINGRESP, as if the packets were handled one at a time.
    let srv = Broker::start().await;
    let (mut c, _) = Client::connect(srv.tcp, Version::V3_1_1, "self", true).await;
    c.subscribe_pid(1, "me", QoS::AtMostOnce).await;
    let mut bytes = bytes::BytesMut::new();
    for p in [
        Packet::Publish(tern_codec::Publish {
            dup: false,
            qos_pid: QosPid::AtLeastOnce(pid(9)),
            retain: false,
            topic: topic("me"),
            payload: Bytes::from_static(b"x"),
            properties: Default::default(),
        }),
        Packet::PingReq,
    ] {
        tern_codec::encode(&p, Version::V3_1_1, &mut bytes).unwrap();
    }
    c.send_raw(&bytes).await;
    assert!(matches!(c.recv().await, Packet::PubAck(_)));
    assert!(matches!(c.recv().await, Packet::Publish(_)));
    assert!(matches!(c.recv().await, Packet::PingResp));
}
