//! Persistence (`persistence = true`) of sessions: persistent sessions, their queues,
//! in-flight messages, QoS 2 state and delayed wills survive a graceful restart of the real
//! broker (in-process `Server::run`, real sockets, the same snapshot directory for both
//! runs).

mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use support::*;
use tern_codec::{
    Packet, PubResp, Publish, PublishProperties, QoS, QosPid, Subscribe, SubscribeProperties,
    SubscriptionOptions, Version,
};

const V5: Version = Version::V5;
const V311: Version = Version::V3_1_1;

async fn queued_messages_survive_restart(version: Version) {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let mut conn = connect_packet(version, "durable", false);
    if version == V5 {
        conn.properties.session_expiry_interval = Some(3600);
    }
    let mut s = Client::tcp(srv.tcp, version, "durable").await;
    assert!(!s.handshake(conn.clone()).await.session_present);
    s.subscribe_pid(1, "q/#", QoS::AtLeastOnce).await;
    s.send(Packet::Disconnect(Default::default())).await;
    s.expect_closed().await;
    let (mut p, _) = Client::connect(srv.tcp, version, "pub", true).await;
    for (i, payload) in [b"one", b"two", b"thr"].into_iter().enumerate() {
        p.send_publish("q/a", payload, QoS::AtLeastOnce, i as u16 + 1, false)
            .await;
        assert!(matches!(p.recv().await, Packet::PubAck(_)));
    }
    drop(p);
    srv.shutdown().await.unwrap();

    let srv = Broker::persistent(dir.path()).await;
    let mut s = Client::tcp(srv.tcp, version, "s").await;
    assert!(
        s.handshake(conn.clone()).await.session_present,
        "[MQTT-3.2.2-2] session present after restart"
    );
    for want in [b"one", b"two", b"thr"] {
        let m = s.recv_publish().await;
        assert_eq!(m.payload, Bytes::from_static(want));
        assert_eq!(m.qos_pid.qos(), QoS::AtLeastOnce);
        s.ack(&m).await;
    }
    // The subscription itself was restored: a new message is routed to it.
    let (mut p, _) = Client::connect(srv.tcp, version, "pub", true).await;
    p.send_publish("q/b", b"after", QoS::AtLeastOnce, 9, false)
        .await;
    let m = s.recv_publish().await;
    assert_eq!(m.payload, Bytes::from_static(b"after"));
    drop(p);
    drop(s);
    srv.shutdown().await.unwrap();
}

#[tokio::test]
async fn v311_persistent_session_and_queue_survive_restart_mqtt_3_1_2_4() {
    queued_messages_survive_restart(V311).await;
}

#[tokio::test]
async fn v5_persistent_session_and_queue_survive_restart_mqtt_3_1_2_23() {
    queued_messages_survive_restart(V5).await;
}

#[tokio::test]
async fn v5_subscription_options_and_identifier_survive_restart_mqtt_3_8_3() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let mut conn = connect_packet(V5, "opts", false);
    conn.properties.session_expiry_interval = Some(600);
    let mut s = Client::tcp(srv.tcp, V5, "opts").await;
    s.handshake(conn.clone()).await;
    s.send(Packet::Subscribe(Subscribe {
        pid: pid(1),
        filters: vec![(
            filter("o/#"),
            SubscriptionOptions {
                no_local: true,
                retain_as_published: true,
                ..SubscriptionOptions::new(QoS::AtLeastOnce)
            },
        )],
        properties: SubscribeProperties {
            subscription_identifier: NonZeroU32::new(42),
            user_properties: Vec::new(),
        }
        .into(),
    }))
    .await;
    assert!(matches!(s.recv().await, Packet::SubAck(_)));
    drop(s);
    srv.shutdown().await.unwrap();

    let srv = Broker::persistent(dir.path()).await;
    let mut s = Client::tcp(srv.tcp, V5, "s").await;
    assert!(s.handshake(conn).await.session_present);
    // No Local [MQTT-3.8.3-3]: the subscriber's own message is not sent back to it.
    s.send_publish("o/self", b"mine", QoS::AtLeastOnce, 5, false)
        .await;
    assert!(matches!(s.recv().await, Packet::PubAck(_)));
    let (mut p, _) = Client::connect(srv.tcp, V5, "other", true).await;
    p.publish_qos1_with("o/x", b"theirs", 1, true, PublishProperties::default())
        .await;
    let m = s.recv_publish().await;
    assert_eq!(m.payload, Bytes::from_static(b"theirs"));
    assert!(m.retain, "Retain As Published kept [MQTT-3.3.1-12]");
    assert_eq!(
        m.properties.subscription_identifiers,
        vec![NonZeroU32::new(42).unwrap()],
        "[MQTT-3.3.4-3] identifier kept"
    );
    drop(p);
    drop(s);
    srv.shutdown().await.unwrap();
}

#[tokio::test]
async fn unacknowledged_inflight_is_resent_with_dup_after_restart_mqtt_4_4_0_1() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let (mut s, _) = Client::connect(srv.tcp, V311, "inflight", false).await;
    s.subscribe_pid(1, "f", QoS::AtLeastOnce).await;
    let (mut p, _) = Client::connect(srv.tcp, V311, "pub", true).await;
    p.send_publish("f", b"unacked", QoS::AtLeastOnce, 1, false)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    let first = s.recv_publish().await;
    assert!(!first.dup);
    // Never acknowledged: the client goes away with the message in flight.
    drop(s);
    drop(p);
    srv.shutdown().await.unwrap();

    let srv = Broker::persistent(dir.path()).await;
    let (mut s, ack) = Client::connect(srv.tcp, V311, "inflight", false).await;
    assert!(ack.session_present);
    let again = s.recv_publish().await;
    assert!(again.dup, "[MQTT-4.4.0-1] resent with DUP");
    assert_eq!(again.qos_pid, first.qos_pid, "same packet identifier");
    assert_eq!(again.payload, first.payload);
    s.ack(&again).await;
    s.expect_quiet(Duration::from_millis(300)).await;
    drop(s);
    srv.shutdown().await.unwrap();
}

#[tokio::test]
async fn message_expiry_elapsed_while_down_drops_it_mqtt_3_3_2_5() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let mut conn = connect_packet(V5, "exp", false);
    conn.properties.session_expiry_interval = Some(600);
    let mut s = Client::tcp(srv.tcp, V5, "exp").await;
    s.handshake(conn.clone()).await;
    s.subscribe_pid(1, "e/#", QoS::AtLeastOnce).await;
    drop(s);
    let (mut p, _) = Client::connect(srv.tcp, V5, "pub", true).await;
    let short = PublishProperties {
        message_expiry_interval: Some(1),
        ..Default::default()
    };
    p.publish_qos1_with("e/short", b"short", 1, true, short)
        .await;
    p.publish_qos1_with("e/long", b"long", 2, false, PublishProperties::default())
        .await;
    drop(p);
    srv.shutdown().await.unwrap();
    // The broker is down for longer than the 1 s expiry: wall-clock time must count.
    tokio::time::sleep(Duration::from_millis(1300)).await;

    let srv = Broker::persistent(dir.path()).await;
    let mut s = Client::tcp(srv.tcp, V5, "s").await;
    assert!(s.handshake(conn).await.session_present);
    let m = s.recv_publish().await;
    assert_eq!(
        m.payload,
        Bytes::from_static(b"long"),
        "expired one dropped"
    );
    s.ack(&m).await;
    s.expect_quiet(Duration::from_millis(300)).await;
    let (mut r, _) = Client::connect(srv.tcp, V5, "late", true).await;
    r.subscribe_pid(1, "e/#", QoS::AtLeastOnce).await;
    r.expect_quiet(Duration::from_millis(300)).await;
    drop(r);
    drop(s);
    srv.shutdown().await.unwrap();
}

#[tokio::test]
async fn qos2_states_survive_restart_mqtt_4_3_3() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    // Outgoing: PUBREC received and PUBREL sent, PUBCOMP never arrives.
    let (mut s, _) = Client::connect(srv.tcp, V311, "q2out", false).await;
    s.subscribe_pid(1, "q2", QoS::ExactlyOnce).await;
    // Incoming: a v5 publisher's QoS 2 PUBLISH, PUBREC sent, PUBREL not yet received.
    let mut conn = connect_packet(V5, "q2in", false);
    conn.properties.session_expiry_interval = Some(600);
    let mut p = Client::tcp(srv.tcp, V5, "q2in").await;
    p.handshake(conn.clone()).await;
    p.send(Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::ExactlyOnce(pid(7)),
        retain: false,
        topic: topic("q2"),
        payload: Bytes::from_static(b"exactly"),
        properties: Default::default(),
    }))
    .await;
    assert!(matches!(p.recv().await, Packet::PubRec(r) if r.pid == pid(7)));
    let m = s.recv_publish().await;
    let out_pid = m.qos_pid.pid().unwrap();
    s.send(Packet::PubRec(PubResp::new(out_pid))).await;
    assert!(matches!(s.recv().await, Packet::PubRel(r) if r.pid == out_pid));
    drop(s);
    drop(p);
    srv.shutdown().await.unwrap();

    let srv = Broker::persistent(dir.path()).await;
    let (mut s, ack) = Client::connect(srv.tcp, V311, "q2out", false).await;
    assert!(ack.session_present);
    // The PUBREL is resent, not the PUBLISH [MQTT-4.4.0-1].
    assert!(matches!(s.recv().await, Packet::PubRel(r) if r.pid == out_pid));
    s.send(Packet::PubComp(PubResp::new(out_pid))).await;
    let mut p = Client::tcp(srv.tcp, V5, "q2in").await;
    assert!(p.handshake(conn).await.session_present);
    // The packet id is still known: Success, not 0x92 Packet Identifier not found.
    p.send(Packet::PubRel(PubResp::new(pid(7)))).await;
    match p.recv().await {
        Packet::PubComp(c) => assert_eq!(c.reason, tern_codec::ReasonCode::Success),
        other => panic!("expected PUBCOMP, got {other:?}"),
    }
    s.expect_quiet(Duration::from_millis(300)).await;
    drop(s);
    drop(p);
    srv.shutdown().await.unwrap();
}

#[tokio::test]
async fn delayed_will_is_kept_across_restart_mqtt_3_1_3_9() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Broker::persistent(dir.path()).await;
    let (mut w, _) = Client::connect(srv.tcp, V5, "watch", true).await;
    w.subscribe_pid(1, "wd/#", QoS::AtLeastOnce).await;
    let mut conn = connect_packet(V5, "victim", false);
    conn.properties.session_expiry_interval = Some(600);
    conn.will = Some(tern_codec::LastWill {
        topic: topic("wd/x"),
        payload: Bytes::from_static(b"late"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: tern_codec::WillProperties {
            will_delay_interval: Some(2),
            ..Default::default()
        }
        .into(),
    });
    let mut v = Client::tcp(srv.tcp, V5, "v").await;
    v.handshake(conn).await;
    drop(v);
    srv.shutdown().await.unwrap();
    // With persistence the session lives on, so its delayed will is not sent at shutdown.
    let seen = w.expect_closed().await;
    assert!(
        !seen.iter().any(|p| matches!(p, Packet::Publish(_))),
        "will sent at shutdown: {seen:?}"
    );

    let srv = Broker::persistent(dir.path()).await;
    let (mut w, _) = Client::connect(srv.tcp, V5, "watch", true).await;
    w.subscribe_pid(1, "wd/#", QoS::AtLeastOnce).await;
    let m = w.recv_publish().await;
    assert_eq!(
        m.payload,
        Bytes::from_static(b"late"),
        "sent once the delay ran out"
    );
    drop(w);
    srv.shutdown().await.unwrap();
}
