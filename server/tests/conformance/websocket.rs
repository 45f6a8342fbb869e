//! MQTT over WebSocket (3.1.1 §6, 5.0 §6) on `GET /mqtt`.

use bytes::Bytes;
use tern_codec::{Connect, Packet, QoS, Version};
use tokio_tungstenite::tungstenite::Message;

use crate::per_version;
use crate::support::*;

/// [MQTT-6.0.0-3] "The Client MUST include "mqtt" in the list of WebSocket Sub Protocols it
/// offers"; [MQTT-6.0.0-4] "The WebSocket Subprotocol name selected and returned by the
/// Server MUST be "mqtt"". Legacy 3.1 clients offer `mqttv3.1` and get it back.
#[tokio::test]
async fn mqtt_6_0_0_4_subprotocol_mqtt_selected() {
    let broker = Broker::target().await;
    let (_c, proto) = Client::ws_offering(&broker.ws_url(), Version::V5, "ws", "mqtt").await;
    assert_eq!(proto.as_deref(), Some("mqtt"), "[MQTT-6.0.0-4]");
    let (_c, proto) =
        Client::ws_offering(&broker.ws_url(), Version::V3_1_1, "ws2", "mqttv3.1, mqtt").await;
    assert_eq!(
        proto.as_deref(),
        Some("mqtt"),
        "[MQTT-6.0.0-4] mqtt preferred"
    );
    let (_c, proto) = Client::ws_offering(&broker.ws_url(), Version::V3_1, "ws3", "mqttv3.1").await;
    assert_eq!(proto.as_deref(), Some("mqttv3.1"), "legacy subprotocol");
}

/// A full round trip across transports: WebSocket ⇄ TCP, QoS 0/1/2 both ways.
async fn ws_round_trip(v: Version) {
    let broker = Broker::target().await;
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), v, "ws-rt", "mqtt").await;
    assert_eq!(
        ws.handshake(Connect::new(v, "ws-rt")).await.reason,
        tern_codec::ReasonCode::Success
    );
    ws.subscribe("x/tcp", QoS::ExactlyOnce).await;
    let mut tcp = Client::connected(broker.tcp, v, "tcp-rt").await;
    tcp.subscribe("x/ws", QoS::ExactlyOnce).await;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        ws.publish_simple("x/ws", qos, "from ws", false).await;
        let m = tcp.recv_publish_acked().await;
        assert_eq!((m.qos_pid.qos(), &m.payload[..]), (qos, &b"from ws"[..]));
        tcp.publish_simple("x/tcp", qos, "from tcp", false).await;
        let m = ws.recv_publish_acked().await;
        assert_eq!((m.qos_pid.qos(), &m.payload[..]), (qos, &b"from tcp"[..]));
    }
}
per_version!(mqtt_6_0_0_websocket_round_trip_with_tcp, ws_round_trip);

/// [MQTT-6.0.0-1] "MQTT Control Packets MUST be sent in WebSocket binary data frames. If any
/// other type of data frame is received the recipient MUST close the Network Connection."
async fn text_frame(v: Version) {
    let broker = Broker::target().await;
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), v, "ws-text", "mqtt").await;
    ws.handshake(Connect::new(v, "ws-text")).await;
    ws.send_ws(Message::text("\u{10}\u{0c}")).await;
    let got = ws.expect_closed().await;
    assert!(
        got.iter().all(|p| matches!(p, Packet::Disconnect(_))),
        "[MQTT-6.0.0-1] only a DISCONNECT may precede the close: {got:?}"
    );
}
per_version!(mqtt_6_0_0_1_text_frame_closes_connection, text_frame);

/// [MQTT-6.0.0-2] "A single WebSocket data frame can contain multiple or partial MQTT Control
/// Packets. The receiver MUST NOT assume that MQTT Control Packets are aligned on WebSocket
/// frame boundaries." CONNECT one byte per frame; then SUBSCRIBE + PUBLISH + PINGREQ in one.
async fn split_frames(v: Version) {
    let broker = Broker::target().await;
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), v, "ws-split", "mqtt").await;
    let connect = bytes_of(&Packet::Connect(Box::new(Connect::new(v, "ws-split"))), v);
    for b in connect {
        ws.send_ws(Message::binary(Bytes::copy_from_slice(&[b])))
            .await;
    }
    assert!(matches!(ws.recv().await, Packet::ConnAck(a) if !a.reason.is_error()));
    let sub = tern_codec::Subscribe {
        pid: pid(3),
        filters: vec![(
            filter("split/t"),
            tern_codec::SubscriptionOptions::new(QoS::AtMostOnce),
        )],
        properties: Default::default(),
    };
    let mut frame = bytes_of(&Packet::Subscribe(sub), v);
    frame.extend(bytes_of(
        &Packet::Publish(publish("split/t", QoS::AtMostOnce, b"self")),
        v,
    ));
    frame.extend(bytes_of(&Packet::PingReq, v));
    // Half of a second PINGREQ at the end, completed by the next frame.
    frame.push(0xC0);
    ws.send_ws(Message::binary(frame)).await;
    assert!(matches!(ws.recv().await, Packet::SubAck(a) if a.pid.get() == 3));
    assert_eq!(ws.recv_publish().await.payload, Bytes::from_static(b"self"));
    assert!(matches!(ws.recv().await, Packet::PingResp));
    ws.send_ws(Message::binary(vec![0x00])).await;
    assert!(
        matches!(ws.recv().await, Packet::PingResp),
        "[MQTT-6.0.0-2] partial packet"
    );
}
per_version!(mqtt_6_0_0_2_packets_not_aligned_on_frames, split_frames);

/// A WebSocket Close frame is a network close, not an MQTT DISCONNECT: the will is published
/// ([MQTT-3.1.2-8] "unless the Will Message has been deleted by the Server on receipt of a
/// DISCONNECT Packet").
#[tokio::test]
async fn mqtt_3_1_2_8_will_published_on_websocket_close_frame() {
    let broker = Broker::target().await;
    let mut watcher = Client::connected(broker.tcp, Version::V3_1_1, "wsc-watch").await;
    watcher.subscribe("will/wsc", QoS::AtLeastOnce).await;
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), Version::V3_1_1, "wsc", "mqtt").await;
    let conn = connect_with_will(
        Version::V3_1_1,
        "wsc",
        "will/wsc",
        "closed",
        QoS::AtLeastOnce,
        false,
    );
    ws.handshake(conn).await;
    ws.shutdown_write().await; // sends a WebSocket Close frame
    let _ = ws.expect_closed().await;
    let m = watcher.recv_publish_acked().await;
    assert_eq!(m.payload, Bytes::from_static(b"closed"));
}

/// Wills work the same over WebSocket ([MQTT-3.1.2-8]): one session implementation.
#[tokio::test]
async fn mqtt_3_1_2_8_will_published_when_websocket_drops() {
    let broker = Broker::target().await;
    let mut watcher = Client::connected(broker.tcp, Version::V5, "ws-will-watch").await;
    watcher.subscribe("will/ws", QoS::AtLeastOnce).await;
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), Version::V5, "ws-will", "mqtt").await;
    let conn = connect_with_will(
        Version::V5,
        "ws-will",
        "will/ws",
        "ws gone",
        QoS::AtLeastOnce,
        false,
    );
    ws.handshake(conn).await;
    ws.drop_connection();
    let m = watcher.recv_publish_acked().await;
    assert_eq!(m.payload, Bytes::from_static(b"ws gone"));
}

/// One session implementation for both transports (issue #3): a persistent session created
/// over TCP is resumed over WebSocket with its subscription and queued messages
/// ([MQTT-3.1.2-4], [MQTT-3.1.2-5]).
async fn session_across_transports(v: Version) {
    let broker = Broker::target().await;
    let conn = crate::session::persistent(v, "roamer");
    let mut tcp = Client::connect_with(broker.tcp, conn.clone(), "roamer-tcp").await;
    tcp.subscribe("roam/t", QoS::AtLeastOnce).await;
    tcp.disconnect().await;
    let mut p = Client::connected(broker.tcp, v, "roam-pub").await;
    p.publish_simple("roam/t", QoS::AtLeastOnce, "queued", false)
        .await;
    let (mut ws, _) = Client::ws_offering(&broker.ws_url(), v, "roamer-ws", "mqtt").await;
    let ack = ws.handshake(conn).await;
    assert!(ack.session_present, "[MQTT-3.2.2-2]");
    assert_eq!(
        ws.recv_publish_acked().await.payload,
        Bytes::from_static(b"queued")
    );
}
per_version!(
    mqtt_3_1_2_4_session_resumed_across_transports,
    session_across_transports
);
