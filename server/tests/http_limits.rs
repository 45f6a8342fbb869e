//! The HTTP listener under abuse (issue "No client can stop or exhaust the broker"): the
//! WebSocket `Origin` allow-list (cross-site WebSocket hijacking), header-read and idle
//! timeouts (slowloris), `max_connections` counting HTTP connections, and TCP keepalive on
//! accepted sockets.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::*;
use tern_codec::{Packet, QoS, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// WebSocket handshake to `/mqtt` with the given `Origin`; the HTTP status.
async fn ws_status(http: SocketAddr, origin: Option<&str>) -> u16 {
    let mut req = format!("ws://{http}/mqtt").into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

#[tokio::test]
async fn websocket_from_another_site_is_refused_with_403() {
    let srv = Broker::start().await;
    let port = srv.http.port();
    assert_eq!(ws_status(srv.http, Some("http://evil.example")).await, 403);
    // DNS rebinding: the attacker's name, resolved to this machine, on our port.
    assert_eq!(
        ws_status(srv.http, Some(&format!("http://evil.example:{port}"))).await,
        403
    );
    assert_eq!(ws_status(srv.http, Some("null")).await, 403);
    // The page's own origin in both spellings, loopback dev servers, and non-browsers.
    assert_eq!(
        ws_status(srv.http, Some(&format!("http://127.0.0.1:{port}"))).await,
        101
    );
    assert_eq!(
        ws_status(srv.http, Some(&format!("http://localhost:{port}"))).await,
        101
    );
    assert_eq!(
        ws_status(srv.http, Some("http://127.0.0.1:8081")).await,
        101
    );
    assert_eq!(ws_status(srv.http, None).await, 101);
}

#[tokio::test]
async fn allowed_origins_adds_sites_and_star_allows_all() {
    let srv = Broker::with(|c| c.allowed_origins = vec!["https://app.example".into()]).await;
    assert_eq!(ws_status(srv.http, Some("https://app.example")).await, 101);
    assert_eq!(
        ws_status(srv.http, Some("https://other.example")).await,
        403
    );
    let srv = Broker::with(|c| c.allowed_origins = vec!["*".into()]).await;
    assert_eq!(
        ws_status(srv.http, Some("https://other.example")).await,
        101
    );
}

/// Slowloris: half a request line, then nothing. Closed after `connect_timeout` (the
/// header-read deadline), not held forever; a connection that sends nothing at all is closed
/// after `http_idle_timeout`.
#[tokio::test]
async fn half_requests_and_idle_connections_are_dropped() {
    let srv = Broker::with(|c| {
        c.connect_timeout = Duration::from_secs(1);
        c.http_idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut half = TcpStream::connect(srv.http).await.unwrap();
    half.write_all(b"GET / HT").await.unwrap();
    let mut silent = TcpStream::connect(srv.http).await.unwrap();
    read_until_closed(&mut half, Duration::from_secs(5)).await;
    read_until_closed(&mut silent, Duration::from_secs(5)).await;
    // A keep-alive connection idles out after its request.
    let mut ka = TcpStream::connect(srv.http).await.unwrap();
    ka.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut ka, Duration::from_secs(5)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
}

/// HTTP connections hold `max_connections` slots like MQTT ones; a WebSocket session keeps
/// its HTTP connection's slot instead of taking a second.
#[tokio::test]
async fn max_connections_counts_http_and_websocket_once() {
    let srv = Broker::with(|c| c.max_connections = 2).await;
    let mut a = TcpStream::connect(srv.http).await.unwrap();
    let _b = TcpStream::connect(srv.http).await.unwrap();
    // Both slots are taken by idle HTTP connections: MQTT and more HTTP are turned away.
    let mut refused = TcpStream::connect(srv.tcp).await.unwrap();
    read_until_closed(&mut refused, DEADLINE).await;
    let mut refused = TcpStream::connect(srv.http).await.unwrap();
    read_until_closed(&mut refused, DEADLINE).await;
    drop(a);
    drop(_b);
    // Freed: a WebSocket session and a TCP session fit in the two slots.
    let mut ws = Client::ws(&srv.ws_url(), Version::V5, "ws-one").await;
    ws.handshake(connect_packet(Version::V5, "ws-one", true))
        .await;
    let (mut tcp, _) = Client::connect(srv.tcp, Version::V5, "tcp-one", true).await;
    a = TcpStream::connect(srv.http).await.unwrap();
    read_until_closed(&mut a, DEADLINE).await;
    // Both sessions work.
    tcp.subscribe_pid(1, "x", QoS::AtMostOnce).await;
    ws.send_publish("x", b"hi", QoS::AtMostOnce, 0, false).await;
    assert!(matches!(tcp.recv().await, Packet::Publish(_)));
}

/// Accepted MQTT and HTTP sockets have SO_KEEPALIVE: the kernel's keepalive timer (timer
/// kind 2 in /proc/net/tcp) runs on the broker's side of an idle connection.
#[tokio::test]
async fn accepted_sockets_have_tcp_keepalive() {
    let srv = Broker::start().await;
    // An answered CONNECT / request proves the broker accepted (and configured) the socket.
    let (mqtt, _) = Client::connect(srv.tcp, Version::V5, "ka", true).await;
    let mut http = TcpStream::connect(srv.http).await.unwrap();
    http.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    assert!(http.read(&mut buf).await.unwrap() > 0);
    for (listener, client) in [
        (srv.tcp, mqtt.local_addr()),
        (srv.http, http.local_addr().unwrap()),
    ] {
        assert_eq!(
            server_side_timer(listener.port(), client.port()),
            Some(2),
            "keepalive timer on the socket accepted on {listener}"
        );
    }
}

/// The `tr` (timer kind) field of the broker's socket with the given ports.
fn server_side_timer(local: u16, remote: u16) -> Option<u8> {
    let want = (format!(":{local:04X}"), format!(":{remote:04X}"));
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() > 5 && f[1].ends_with(&want.0) && f[2].ends_with(&want.1))
            .then(|| f[5].split(':').next().and_then(|t| t.parse().ok()))
            .flatten()
    })
}
