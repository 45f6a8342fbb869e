//! TLS listeners over real sockets with a PKI generated at test time (`support/certs.rs`):
//! MQTT over TLS (`tls`), the HTTPS listener's WebSocket (`wss://.../mqtt`), `/healthz` over
//! HTTPS, client certificates (`require_certificate`) and graceful shutdown with TLS clients
//! connected. Failure modes (handshakes, deadlines, bad files) are in `tls_ops.rs`.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::certs;
use support::*;
use tern_codec::{Packet, PubResp, QoS, ReasonCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Subscribes `sub` to `topic` at QoS 1, publishes from `publ` at QoS 1 and checks PUBACK and
/// delivery [MQTT-3.3.4-1]: the same MQTT flow as over TCP, only the transport differs.
async fn round_trip(sub: &mut Client, publ: &mut Client, topic: &str) {
    let Packet::SubAck(ack) = sub.subscribe_pid(1, topic, QoS::AtLeastOnce).await else {
        panic!("SUBACK expected")
    };
    assert_eq!(ack.reasons, vec![ReasonCode::GrantedQoS1]);
    publ.send_publish(topic, b"over tls", QoS::AtLeastOnce, 9, false)
        .await;
    assert!(matches!(publ.recv().await, Packet::PubAck(r) if r.pid.get() == 9));
    let Packet::Publish(p) = sub.recv().await else {
        panic!("PUBLISH expected")
    };
    assert_eq!(p.topic.as_str(), topic);
    assert_eq!(p.payload, Bytes::from_static(b"over tls"));
    let pid = p.qos_pid.pid().expect("QoS 1 has a packet id");
    sub.send(Packet::PubAck(PubResp::new(pid))).await;
}

#[tokio::test]
async fn mqtts_connect_subscribe_publish_round_trip_v3_1_1_and_v5() {
    let pki = certs::generate();
    let srv = Broker::with_tls(&pki, |_| {}).await;
    let tls = srv.tls.expect("tls listener bound");
    assert_ne!(tls.port(), 0);
    let connector = pki.connector(false, &[]);
    for v in [Version::V3_1_1, Version::V5] {
        let mut sub = Client::tls(tls, &connector, v, "tls-sub").await;
        let ack = sub
            .handshake(connect_packet(v, &format!("tls-sub-{v}"), true))
            .await;
        assert_eq!(ack.reason, ReasonCode::Success, "{v}");
        let mut publ = Client::tls(tls, &connector, v, "tls-pub").await;
        let ack = publ
            .handshake(connect_packet(v, &format!("tls-pub-{v}"), true))
            .await;
        assert_eq!(ack.reason, ReasonCode::Success, "{v}");
        round_trip(&mut sub, &mut publ, &format!("tls/{v}")).await;
    }
}

#[tokio::test]
async fn mqtts_and_plain_tcp_clients_share_one_broker() {
    let pki = certs::generate();
    let srv = Broker::with_tls(&pki, |_| {}).await;
    let mut sub = Client::tls(
        srv.tls.unwrap(),
        &pki.connector(false, &[]),
        Version::V5,
        "tls-sub",
    )
    .await;
    sub.handshake(connect_packet(Version::V5, "tls-sub", true))
        .await;
    let (mut publ, _) = Client::connect(srv.tcp, Version::V3_1_1, "tcp-pub", true).await;
    round_trip(&mut sub, &mut publ, "mixed/a").await;
}

#[tokio::test]
async fn wss_on_the_https_listener_round_trip_mqtt_6_0_0_3() {
    let pki = certs::generate();
    let srv = Broker::with_tls(&pki, |_| {}).await;
    let connector = pki.connector(false, &["http/1.1"]);
    let mut sub = Client::wss(
        srv.https.expect("https bound"),
        &connector,
        Version::V5,
        "wss-sub",
    )
    .await;
    let ack = sub
        .handshake(connect_packet(Version::V5, "wss-sub", true))
        .await;
    assert_eq!(ack.reason, ReasonCode::Success);
    // Published over mqtts, received over wss.
    let mut publ = Client::tls(
        srv.tls.unwrap(),
        &pki.connector(false, &[]),
        Version::V3_1_1,
        "tls-pub",
    )
    .await;
    publ.handshake(connect_packet(Version::V3_1_1, "tls-pub", true))
        .await;
    round_trip(&mut sub, &mut publ, "wss/a").await;
}

#[tokio::test]
async fn https_serves_healthz_metrics_and_the_web_ui() {
    let pki = certs::generate();
    let srv = Broker::with_tls(&pki, |_| {}).await;
    let https = srv.https.unwrap();
    let connector = pki.connector(false, &["http/1.1"]);
    let health = http::https_get(https, &connector, "/healthz").await.raw;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok"), "{health}");
    let metrics = http::https_get(https, &connector, "/metrics").await.raw;
    assert!(metrics.contains("tern_connections_total"), "{metrics}");
    let ui = http::https_get(https, &connector, "/").await.raw;
    assert!(ui.contains("tern test ui"), "{ui}");
}

#[tokio::test]
async fn require_certificate_accepts_only_clients_with_a_cert_from_cafile() {
    let pki = certs::generate();
    let ca = pki.ca.clone();
    let srv = Broker::with_tls(&pki, move |c| {
        c.cafile = Some(ca);
        c.require_certificate = true;
    })
    .await;
    let tls = srv.tls.unwrap();
    // Without a client certificate the handshake (or the first read, in TLS 1.3, where the
    // server's alert arrives after the client finished) fails: no CONNACK ever comes.
    let refused = async {
        let mut s = tls_stream(tls, &pki.connector(false, &[])).await?;
        let mut c = bytes::BytesMut::new();
        tern_codec::encode(
            &Packet::Connect(Box::new(connect_packet(Version::V3_1_1, "anon", true))),
            Version::V3_1_1,
            &mut c,
        )
        .unwrap();
        s.write_all(&c).await?;
        let mut buf = [0u8; 16];
        s.read(&mut buf).await
    };
    match tokio::time::timeout(DEADLINE, refused)
        .await
        .expect("refused within the deadline")
    {
        Err(_) | Ok(0) => {}
        Ok(n) => panic!("client without certificate got {n} bytes back"),
    }
    let mut c = Client::tls(tls, &pki.connector(true, &[]), Version::V3_1_1, "with-cert").await;
    let ack = c
        .handshake(connect_packet(Version::V3_1_1, "with-cert", true))
        .await;
    assert_eq!(ack.reason, ReasonCode::Success);
}

#[tokio::test]
async fn shutdown_completes_with_mqtts_wss_and_idle_https_clients_connected() {
    let pki = certs::generate();
    // A long shutdown_timeout: shutdown must finish because every TLS connection ends, not
    // because the timeout gave up on them.
    let srv = Broker::with_tls(&pki, |c| c.shutdown_timeout = Duration::from_secs(60)).await;
    let mut mqtts = Client::tls(
        srv.tls.unwrap(),
        &pki.connector(false, &[]),
        Version::V5,
        "tls-1",
    )
    .await;
    mqtts
        .handshake(connect_packet(Version::V5, "tls-1", true))
        .await;
    let https = srv.https.unwrap();
    let mut wss = Client::wss(
        https,
        &pki.connector(false, &["http/1.1"]),
        Version::V5,
        "wss-1",
    )
    .await;
    wss.handshake(connect_packet(Version::V5, "wss-1", true))
        .await;
    // A keep-alive HTTPS connection after one request, and one that never sent a request.
    let mut idle = tls_stream(https, &pki.connector(false, &["http/1.1"]))
        .await
        .unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let _silent = tls_stream(https, &pki.connector(false, &["http/1.1"]))
        .await
        .unwrap();

    let done = tokio::spawn(srv.shutdown());
    // v5 sessions are told why [MQTT-3.14.2-1]: 0x8B Server shutting down.
    for c in [&mut mqtts, &mut wss] {
        let got = c.expect_closed().await;
        assert!(
            matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::ServerShuttingDown),
            "{got:?}"
        );
    }
    // Broker::shutdown fails if Server::run takes more than 10 s.
    done.await.unwrap().expect("graceful shutdown");
}
