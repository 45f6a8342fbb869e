//! Graceful shutdown (issue #3): `Server::run` returns within a bound while TCP and
//! WebSocket clients are connected; every connection is closed (MQTT 5 clients may first get
//! DISCONNECT 0x8B Server shutting down); the listeners stop accepting.

use std::time::Duration;

use tern_codec::{Connect, Packet, QoS, ReasonCode, Version};

use crate::support::*;

#[tokio::test]
async fn tern_graceful_shutdown_with_tcp_and_websocket_clients() {
    if tern_only("Server::run shutdown future") {
        return;
    }
    let broker = Broker::target().await;
    let (tcp_addr, http_addr) = (broker.tcp, broker.http);
    let bound = broker.config.shutdown_timeout + Duration::from_secs(2);

    let mut clients = Vec::new();
    for v in [Version::V3_1_1, Version::V5] {
        let mut c = Client::connected(broker.tcp, v, &format!("tcp-{v}")).await;
        c.subscribe("down/#", QoS::AtLeastOnce).await;
        clients.push(c);
        let (mut ws, _) =
            Client::ws_offering(&broker.ws_url(), v, &format!("ws-{v}"), "mqtt").await;
        let ack = ws.handshake(Connect::new(v, format!("ws-{v}"))).await;
        assert_eq!(ack.reason, ReasonCode::Success);
        ws.subscribe("down/#", QoS::AtLeastOnce).await;
        clients.push(ws);
    }
    // A connection that never sent CONNECT and one with half a packet.
    let mut idle = Client::tcp(broker.tcp, Version::V3_1_1, "idle").await;
    let mut partial = Client::tcp(broker.tcp, Version::V3_1_1, "partial").await;
    partial.send_raw(&[0x10, 0x40, 0x00]).await;

    broker
        .shutdown_within(bound)
        .await
        .expect("graceful shutdown");

    for c in clients.iter_mut() {
        let got = c.expect_closed().await;
        for p in &got {
            assert!(
                c.version == Version::V5
                    && matches!(p, Packet::Disconnect(d) if d.reason == ReasonCode::ServerShuttingDown),
                "{}: only DISCONNECT 0x8B (v5) may precede the close: {p:?}",
                c.name
            );
        }
    }
    assert!(idle.expect_closed().await.is_empty());
    assert!(partial.expect_closed().await.is_empty());
    assert!(
        tokio::net::TcpStream::connect(tcp_addr).await.is_err(),
        "TCP listener closed"
    );
    assert!(
        tokio::net::TcpStream::connect(http_addr).await.is_err(),
        "HTTP listener closed"
    );
}
