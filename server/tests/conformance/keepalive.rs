//! Keep Alive and PINGREQ/PINGRESP (3.1.1 §3.1.2.10, §3.12; 5.0 §3.1.2.10, §3.12), and
//! session takeover (3.1.1 §3.1.4, 5.0 §3.1.4).

use std::time::{Duration, Instant};

use tern_codec::{Connect, Packet, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

/// 3.1.1 [MQTT-3.1.2-24] / 5.0 [MQTT-3.1.2-22] "If the Keep Alive value is non-zero and the
/// Server does not receive a Control Packet from the Client within one and a half times the
/// Keep Alive time period, it MUST disconnect the Network Connection to the Client as if the
/// network had failed." Not before 1.5 × 1 s either (minus scheduling slack). MQTT 5 may get
/// DISCONNECT 0x8D (Keep Alive timeout) first, nothing else.
async fn keepalive_timeout(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connect_with(
        broker.tcp,
        Connect {
            keep_alive: 1,
            ..connect_packet(v, "sleepy", true)
        },
        "sleepy",
    )
    .await;
    let start = Instant::now();
    let got = c.expect_closed().await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "[MQTT-3.1.2-24] closed after {took:?}, before 1.5 × keep alive"
    );
    assert!(
        took <= Duration::from_millis(4000),
        "closed only after {took:?}"
    );
    for p in &got {
        assert!(
            v == Version::V5
                && matches!(p, Packet::Disconnect(d) if d.reason == ReasonCode::KeepAliveTimeout),
            "only a DISCONNECT 0x8D (v5) may precede the close: {p:?}"
        );
    }
}
per_version!(mqtt_3_1_2_24_keepalive_timeout_closes, keepalive_timeout);

/// The keep alive timer restarts on every Control Packet: a client pinging every 0.5 s with
/// Keep Alive 1 s (the smallest) stays connected for 2 s (> 1.5 × keep alive). Pacing needs
/// real time.
async fn keepalive_reset(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connect_with(
        broker.tcp,
        Connect {
            keep_alive: 1,
            ..connect_packet(v, "busy", true)
        },
        "busy",
    )
    .await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.expect_nothing("still connected while pinging").await;
    }
}
per_version!(
    mqtt_3_1_2_23_control_packets_reset_keepalive,
    keepalive_reset
);

/// [MQTT-3.12.4-1] "The Server MUST send a PINGRESP packet in response to a PINGREQ packet."
/// Byte-exact: `D0 00`.
async fn pingresp(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "pinger").await;
    c.send_raw(&[0xC0, 0x00]).await;
    assert_eq!(c.recv_raw(2).await, [0xD0, 0x00], "[MQTT-3.12.4-1]");
}
per_version!(mqtt_3_12_4_1_pingreq_answered_with_pingresp, pingresp);

/// 3.1.1 [MQTT-3.1.4-2] "If the ClientId represents a Client already connected to the
/// Server then the Server MUST disconnect the existing Client." 5.0 [MQTT-3.1.4-3]: "… the
/// Server sends a DISCONNECT packet to the existing Client with Reason Code of 0x8E (Session
/// taken over) … and MUST close the Network Connection of the existing Client." Works across
/// transports (TCP → WebSocket) since both share one session implementation.
async fn takeover(v: Version) {
    let broker = Broker::target().await;
    let mut old = Client::connected(broker.tcp, v, "dup-id").await;
    let mut new = Client::connected(broker.tcp, v, "dup-id").await;
    old.expect_disconnect(ReasonCode::SessionTakenOver, "[MQTT-3.1.4-2]")
        .await;
    new.expect_nothing("the new connection stays").await;

    if against_mosquitto() {
        return;
    }
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), v, "dup-id-ws", "mqtt").await;
    let ack = ws.handshake(tern_codec::Connect::new(v, "dup-id")).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    new.expect_disconnect(
        ReasonCode::SessionTakenOver,
        "[MQTT-3.1.4-2] across transports",
    )
    .await;
    ws.expect_nothing("the WebSocket connection stays").await;
}
per_version!(mqtt_3_1_4_2_takeover_disconnects_existing_client, takeover);

/// [MQTT-3.1.4-2] with [MQTT-3.1.2-4]: when the new connection asks to resume (Clean
/// Session 0), the taken-over session continues — Session Present 1, subscriptions kept.
async fn takeover_resumes(v: Version) {
    let broker = Broker::target().await;
    let conn = crate::session::persistent(v, "resume");
    let mut old = Client::connect_with(broker.tcp, conn.clone(), "resume-old").await;
    old.subscribe("resume/t", tern_codec::QoS::AtLeastOnce)
        .await;
    let mut new = Client::tcp(broker.tcp, v, "resume-new").await;
    let ack = new.handshake(conn).await;
    assert!(
        ack.session_present,
        "[MQTT-3.2.2-2] taken-over session is present"
    );
    let _ = old.expect_closed().await;
    let mut p = Client::connected(broker.tcp, v, "resume-pub").await;
    p.publish_simple("resume/t", tern_codec::QoS::AtLeastOnce, "after", false)
        .await;
    assert_eq!(new.recv_publish_acked().await.payload.as_ref(), b"after");
}
per_version!(
    mqtt_3_1_4_2_takeover_resumes_persistent_session,
    takeover_resumes
);
