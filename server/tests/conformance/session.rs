//! Session state (3.1.1 §3.1.2.4, §4.1, §4.4; 5.0 §3.1.2.4, §3.1.2.11.2, §4.1, §4.4):
//! clean vs persistent sessions, Session Present, offline queueing, resending with DUP.

use std::time::Duration;

use bytes::Bytes;
use tern_codec::{Connect, Packet, PubResp, QoS, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

/// A persistent-session CONNECT: Clean Session 0 in 3.x; Clean Start 0 + Session Expiry 300 s
/// in 5.0 (Session Expiry 0 would end the session with the connection).
pub fn persistent(v: Version, id: &str) -> Connect {
    let mut c = connect_packet(v, id, false);
    if v == Version::V5 {
        c.properties.session_expiry_interval = Some(300);
    }
    c
}

async fn reconnect(broker: &Broker, v: Version, id: &str) -> (Client, bool) {
    let mut c = Client::tcp(broker.tcp, v, id).await;
    let ack = c.handshake(persistent(v, id)).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    (c, ack.session_present)
}

/// 3.1.1 [MQTT-3.2.2-3] "If the Server does not have stored Session state, it MUST set
/// Session Present to 0"; [MQTT-3.2.2-2] "If the Server has stored Session state, it MUST set
/// Session Present to 1"; [MQTT-3.2.2-1] with CleanSession 1 "the Server MUST set Session
/// Present to 0". (5.0 [MQTT-3.2.2-2], [MQTT-3.2.2-3].)
async fn session_present(v: Version) {
    let broker = Broker::target().await;
    let (mut c, present) = reconnect(&broker, v, "sp").await;
    assert!(!present, "[MQTT-3.2.2-3] no stored session yet");
    c.subscribe("sp/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let (c, present) = reconnect(&broker, v, "sp").await;
    assert!(present, "[MQTT-3.2.2-2] stored session must be reported");
    c.disconnect().await;
    let mut clean = Client::tcp(broker.tcp, v, "sp").await;
    let ack = clean.handshake(connect_packet(v, "sp", true)).await;
    assert!(
        !ack.session_present,
        "[MQTT-3.2.2-1] clean session → Session Present 0"
    );
}
per_version!(
    mqtt_3_2_2_2_session_present_reflects_stored_state,
    session_present
);

/// 3.1.1 [MQTT-3.1.2-4] "If CleanSession is set to 0, the Server MUST resume communications
/// with the Client based on state from the current Session"; [MQTT-3.1.2-5] "After the
/// disconnection of a Session that had CleanSession set to 0, the Server MUST store further
/// QoS 1 and QoS 2 messages that match any subscriptions that the client had at the time of
/// disconnection as part of the Session state." Delivered on reconnect, in order
/// ([MQTT-4.6.0-6]), at the subscription's QoS.
async fn offline_queue(v: Version) {
    let broker = Broker::target().await;
    let (mut c, _) = reconnect(&broker, v, "offline").await;
    c.subscribe("offline/#", QoS::ExactlyOnce).await;
    c.disconnect().await;

    let mut p = Client::connected(broker.tcp, v, "offline-pub").await;
    p.publish_simple("offline/1", QoS::AtLeastOnce, "one", false)
        .await;
    p.publish_simple("offline/2", QoS::ExactlyOnce, "two", false)
        .await;
    p.publish_simple("offline/3", QoS::AtLeastOnce, "three", false)
        .await;

    let (mut c, present) = reconnect(&broker, v, "offline").await;
    assert!(present);
    for (t, payload, qos) in [
        ("offline/1", "one", QoS::AtLeastOnce),
        ("offline/2", "two", QoS::ExactlyOnce),
        ("offline/3", "three", QoS::AtLeastOnce),
    ] {
        let m = c.recv_publish_acked().await;
        assert_eq!(m.topic.as_str(), t, "[MQTT-3.1.2-5] queued in order");
        assert_eq!(m.payload, Bytes::copy_from_slice(payload.as_bytes()));
        assert_eq!(m.qos_pid.qos(), qos);
    }
    c.expect_nothing("exactly the queued messages").await;
    // Subscriptions were kept too ([MQTT-3.1.2-4]): live delivery works without SUBSCRIBE.
    p.publish_simple("offline/4", QoS::AtLeastOnce, "four", false)
        .await;
    assert_eq!(c.recv_publish_acked().await.topic.as_str(), "offline/4");
}
per_version!(
    mqtt_3_1_2_5_persistent_session_queues_offline_messages,
    offline_queue
);

/// 3.1.1 [MQTT-3.1.2-6] "If CleanSession is set to 1, the Client and Server MUST discard any
/// previous Session and start a new one." (5.0 [MQTT-3.1.2-4] for Clean Start.) The old
/// subscription and queued messages are gone.
async fn clean_discards(v: Version) {
    let broker = Broker::target().await;
    let (mut c, _) = reconnect(&broker, v, "cleaned").await;
    c.subscribe("cleaned/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut p = Client::connected(broker.tcp, v, "cleaned-pub").await;
    p.publish_simple("cleaned/t", QoS::AtLeastOnce, "queued", false)
        .await;

    let mut fresh = Client::tcp(broker.tcp, v, "cleaned").await;
    let ack = fresh.handshake(connect_packet(v, "cleaned", true)).await;
    assert!(!ack.session_present);
    fresh
        .expect_nothing("[MQTT-3.1.2-6] queued messages discarded")
        .await;
    p.publish_simple("cleaned/t", QoS::AtLeastOnce, "live", false)
        .await;
    fresh
        .expect_nothing("[MQTT-3.1.2-6] subscription discarded")
        .await;
}
per_version!(
    mqtt_3_1_2_6_clean_session_discards_previous_session,
    clean_discards
);

/// 3.1.1 [MQTT-4.4.0-1] "When a Client reconnects with CleanSession set to 0, both the Client
/// and Server MUST re-send any unacknowledged PUBLISH Packets (where QoS > 0) and PUBREL
/// Packets using their original Packet Identifiers." [MQTT-3.3.1-1] "The DUP flag MUST be set
/// to 1 by the Client or Server when it attempts to re-deliver a PUBLISH Packet."
async fn resend_publish(v: Version) {
    let broker = Broker::target().await;
    let (mut c, _) = reconnect(&broker, v, "resend").await;
    c.subscribe("resend/t", QoS::ExactlyOnce).await;
    let mut p = Client::connected(broker.tcp, v, "resend-pub").await;
    for (i, qos) in [QoS::AtLeastOnce, QoS::ExactlyOnce, QoS::AtLeastOnce]
        .into_iter()
        .enumerate()
    {
        p.publish_simple("resend/t", qos, &format!("unacked{i}"), false)
            .await;
    }
    let mut first = Vec::new();
    for _ in 0..3 {
        let m = c.recv_publish().await;
        assert!(!m.dup, "first delivery has DUP 0");
        first.push(m);
    }
    c.drop_connection(); // no PUBACK / PUBREC

    let (mut c, present) = reconnect(&broker, v, "resend").await;
    assert!(present);
    for original in &first {
        let again = c.recv_publish().await;
        assert_eq!(
            again.qos_pid, original.qos_pid,
            "[MQTT-4.4.0-1] original packet identifier, original order"
        );
        assert!(again.dup, "[MQTT-3.3.1-1] DUP on re-delivery");
        assert_eq!(again.payload, original.payload);
        c.ack(&again).await;
    }
    c.expect_nothing("acknowledged messages are not sent again")
        .await;
}
per_version!(mqtt_4_4_0_1_unacked_publish_resent_with_dup, resend_publish);

/// [MQTT-4.4.0-1], the PUBREL half: the server received PUBREC for a QoS 2 delivery and sent
/// PUBREL; after a reconnect it re-sends that PUBREL (not the PUBLISH).
async fn resend_pubrel(v: Version) {
    let broker = Broker::target().await;
    let (mut c, _) = reconnect(&broker, v, "resend2").await;
    c.subscribe("resend2/t", QoS::ExactlyOnce).await;
    let mut p = Client::connected(broker.tcp, v, "resend2-pub").await;
    p.publish_simple("resend2/t", QoS::ExactlyOnce, "q2", false)
        .await;
    let m = c.recv_publish().await;
    let id = m.qos_pid.pid().expect("pid");
    c.send(Packet::PubRec(PubResp::new(id))).await;
    let rel = c.recv().await;
    assert!(matches!(&rel, Packet::PubRel(r) if r.pid == id), "{rel:?}");
    c.drop_connection(); // no PUBCOMP

    let (mut c, _) = reconnect(&broker, v, "resend2").await;
    let rel = c.recv().await;
    assert!(
        matches!(&rel, Packet::PubRel(r) if r.pid == id),
        "[MQTT-4.4.0-1] PUBREL re-sent with its packet identifier: {rel:?}"
    );
    c.send(Packet::PubComp(PubResp::new(id))).await;
    c.expect_nothing("flow complete, nothing re-sent").await;
}
per_version!(mqtt_4_4_0_1_unacked_pubrel_resent, resend_pubrel);

/// 5.0 §3.1.2.11.2: with Session Expiry Interval absent (0) "the Session ends when the
/// Network Connection is closed", so a Clean Start 0 reconnect finds no session.
#[tokio::test]
async fn mqtt5_3_1_2_11_session_expiry_0_ends_session_on_close() {
    let broker = Broker::target().await;
    let mut c =
        Client::connect_with(broker.tcp, connect_packet(Version::V5, "se0", false), "se0").await;
    c.subscribe("se0/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut c = Client::tcp(broker.tcp, Version::V5, "se0").await;
    let ack = c.handshake(connect_packet(Version::V5, "se0", false)).await;
    assert!(
        !ack.session_present,
        "session with expiry 0 must not survive"
    );
}

/// 5.0 [MQTT-3.1.2-23] "The Client and Server MUST store the Session State after the Network
/// Connection is closed if the Session Expiry Interval is greater than 0" — and no longer
/// than that: after 1 s + margin the session is gone (real time has to pass).
#[tokio::test]
async fn mqtt5_3_1_2_23_session_expires_after_interval() {
    let broker = Broker::target().await;
    let mut conn = connect_packet(Version::V5, "se1", false);
    conn.properties.session_expiry_interval = Some(1);
    let mut c = Client::connect_with(broker.tcp, conn.clone(), "se1").await;
    c.subscribe("se1/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut again = Client::tcp(broker.tcp, Version::V5, "se1").await;
    assert!(
        again.handshake(conn.clone()).await.session_present,
        "[MQTT-3.1.2-23] kept"
    );
    again.disconnect().await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let mut late = Client::tcp(broker.tcp, Version::V5, "se1").await;
    assert!(
        !late.handshake(conn).await.session_present,
        "session must have expired"
    );
}

/// 5.0 §3.14.2.2.2: the Session Expiry Interval can be changed on DISCONNECT (here to 0:
/// the session ends now). [MQTT-3.14.2-2]: "If the Session Expiry Interval in the CONNECT
/// packet was zero, then it is a Protocol Error to set a non-zero Session Expiry Interval in
/// the DISCONNECT packet sent by the Client" → the server answers DISCONNECT 0x82.
#[tokio::test]
async fn mqtt5_3_14_2_2_session_expiry_set_on_disconnect() {
    let broker = Broker::target().await;
    let mut c = Client::connect_with(broker.tcp, persistent(Version::V5, "sed"), "sed").await;
    c.subscribe("sed/t", QoS::AtLeastOnce).await;
    let mut d = tern_codec::Disconnect {
        reason: ReasonCode::Success,
        properties: Default::default(),
    };
    d.properties.session_expiry_interval = Some(0);
    c.send(Packet::Disconnect(d.clone())).await;
    let _ = c.expect_closed().await;
    let (_c, present) = reconnect(&broker, Version::V5, "sed").await;
    assert!(!present, "expiry set to 0 on DISCONNECT ends the session");

    let mut z =
        Client::connect_with(broker.tcp, connect_packet(Version::V5, "sez", true), "sez").await;
    d.properties.session_expiry_interval = Some(30);
    z.send(Packet::Disconnect(d)).await;
    z.expect_disconnect(ReasonCode::ProtocolError, "[MQTT-3.14.2-2]")
        .await;
}

/// Issue #3 limits: `max_queued_messages` bounds the per-session queue (Mosquitto semantics:
/// messages beyond the in-flight window; further ones are dropped), so a client that stays
/// offline never grows memory without bound.
#[tokio::test]
async fn tern_max_queued_messages_bounds_offline_queue() {
    let broker = Broker::target_with(|c| {
        c.max_queued_messages = 5;
        c.max_inflight_messages = 2;
    })
    .await;
    let v = Version::V3_1_1;
    let (mut c, _) = reconnect(&broker, v, "bounded").await;
    c.subscribe("bounded/t", QoS::AtLeastOnce).await;
    c.disconnect().await;
    let mut p = Client::connected(broker.tcp, v, "bounded-pub").await;
    for i in 0..30 {
        p.publish_simple("bounded/t", QoS::AtLeastOnce, &format!("m{i}"), false)
            .await;
    }
    let (mut c, _) = reconnect(&broker, v, "bounded").await;
    let mut got = Vec::new();
    loop {
        let before = c.ping().await;
        if before.is_empty() {
            break;
        }
        for p in before {
            if let Packet::Publish(m) = p {
                c.ack(&m).await;
                got.push(m.payload);
            }
        }
    }
    assert!(!got.is_empty(), "some queued messages must be delivered");
    assert!(
        got.len() <= 7,
        "queue bound 5 (+2 in flight) exceeded: {} delivered",
        got.len()
    );
}

/// 5.0 [MQTT-4.4.0-2] "If PUBACK or PUBREC is received containing a Reason Code of 0x80 or
/// greater the corresponding PUBLISH packet is treated as acknowledged, and MUST NOT be
/// retransmitted." (Checked across a reconnect, where resending would otherwise happen.)
#[tokio::test]
async fn mqtt5_4_4_0_2_negative_ack_is_final() {
    let broker = Broker::target().await;
    let v = Version::V5;
    let (mut c, _) = reconnect(&broker, v, "nack").await;
    c.subscribe("nack/t", QoS::ExactlyOnce).await;
    let mut p = Client::connected(broker.tcp, v, "nack-pub").await;
    p.publish_simple("nack/t", QoS::AtLeastOnce, "refused1", false)
        .await;
    p.publish_simple("nack/t", QoS::ExactlyOnce, "refused2", false)
        .await;
    let m1 = c.recv_publish().await;
    let m2 = c.recv_publish().await;
    let nack = |id| PubResp {
        pid: id,
        reason: ReasonCode::UnspecifiedError,
        properties: Default::default(),
    };
    c.send(Packet::PubAck(nack(m1.qos_pid.pid().expect("pid"))))
        .await;
    c.send(Packet::PubRec(nack(m2.qos_pid.pid().expect("pid"))))
        .await;
    c.expect_nothing("no PUBREL after PUBREC >= 0x80").await;
    c.drop_connection();
    let (mut c, present) = reconnect(&broker, v, "nack").await;
    assert!(present);
    c.expect_nothing("[MQTT-4.4.0-2] refused messages are not retransmitted")
        .await;
}
