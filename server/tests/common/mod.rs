//! Shared helpers for the broker's integration tests (`tests/broker_*.rs`, and any other test
//! crate that wants them via `mod common;`).
//!
//! * [`start`] / [`start_with`] run the real [`tern_server::Server`] in-process with both
//!   listeners on `127.0.0.1:0`, `$SYS` every second and a temporary web root holding an
//!   `index.html` (`<h1>tern test ui</h1>`). The returned [`TestServer`] has the bound
//!   addresses, the temp dir, and [`TestServer::shutdown`] (graceful, bounded; returns what
//!   `Server::run` returned). Dropping it also triggers shutdown.
//! * [`Client`] is a minimal raw MQTT client over TCP or WebSocket (subprotocol `mqtt`)
//!   built on `tern-codec`: send any [`Packet`], receive the next one with a deadline, check
//!   that the broker closed the connection. It does no protocol logic of its own, so tests
//!   see exactly what the broker sends. [`Client::tls`] / [`Client::wss`] do the same over
//!   TLS (see [`certs`] for the test PKI).
#![allow(dead_code)]

pub mod certs;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tern_codec::{
    ConnAck, Connect, DecodeConfig, Packet, Pid, QoS, QosPid, Subscribe, SubscriptionOptions,
    TopicFilter, TopicName, Version, decode, encode,
};
use tern_server::{Config, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Upper bound for anything the broker should do "now".
pub const DEADLINE: Duration = Duration::from_secs(5);

/// A running in-process broker.
pub struct TestServer {
    pub tcp: SocketAddr,
    pub http: SocketAddr,
    /// The TLS listeners, when the config enables them.
    pub tls: Option<SocketAddr>,
    pub https: Option<SocketAddr>,
    pub config: Config,
    /// Web root with an `index.html`; removed when the server is dropped.
    pub web_root: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tern_server::Error>>>,
}

/// Test configuration: loopback port 0 listeners, `$SYS` every second.
pub fn test_config() -> Config {
    Config {
        tcp: SocketAddr::from(([127, 0, 0, 1], 0)),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        sys_interval: Duration::from_secs(1),
        ..Config::default()
    }
}

/// Starts a broker with [`test_config`].
pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// Starts a broker with [`test_config`] changed by `adjust` (the web root is set after
/// `adjust` runs unless `adjust` changed it).
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    let web_root = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        web_root.path().join("index.html"),
        "<!doctype html><h1>tern test ui</h1>",
    )
    .expect("write index.html");
    let mut config = test_config();
    let default_root = config.web_root.clone();
    adjust(&mut config);
    if config.web_root == default_root {
        config.web_root = Some(web_root.path().to_owned());
    }
    let server = Server::bind(config.clone())
        .await
        .expect("bind 127.0.0.1:0");
    let (tcp, http) = (server.tcp_addr(), server.http_addr());
    let (tls, https) = (server.tls_addr(), server.https_addr());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestServer {
        tcp,
        http,
        tls,
        https,
        config,
        web_root,
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/mqtt", self.http)
    }

    /// Triggers graceful shutdown and waits up to 10 s for `Server::run` to return.
    pub async fn shutdown(mut self) -> Result<(), String> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().ok_or("already shut down")?;
        match tokio::time::timeout(Duration::from_secs(10), task).await {
            Err(_) => Err("Server::run did not return within 10 s".into()),
            Ok(Err(e)) => Err(format!("Server::run panicked: {e}")),
            Ok(Ok(Err(e))) => Err(format!("Server::run failed: {e}")),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

type TlsTcp = tokio_rustls::client::TlsStream<TcpStream>;

enum Io {
    Tcp(TcpStream),
    Ws(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
    Tls(Box<TlsTcp>),
    Wss(Box<tokio_tungstenite::WebSocketStream<TlsTcp>>),
}

/// TCP connection + TLS handshake verifying the server as `localhost`.
pub async fn tls_stream(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
) -> std::io::Result<TlsTcp> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    connector.connect(certs::localhost(), s).await
}

/// A raw MQTT client for tests.
pub struct Client {
    io: Io,
    buf: BytesMut,
    pub version: Version,
}

impl Client {
    /// Opens a TCP connection (no CONNECT sent yet).
    pub async fn tcp(addr: SocketAddr, version: Version) -> Client {
        let s = TcpStream::connect(addr).await.expect("tcp connect");
        s.set_nodelay(true).expect("nodelay");
        Client {
            io: Io::Tcp(s),
            buf: BytesMut::new(),
            version,
        }
    }

    /// Opens a TLS connection (no CONNECT sent yet); panics if the handshake fails.
    pub async fn tls(
        addr: SocketAddr,
        connector: &tokio_rustls::TlsConnector,
        version: Version,
    ) -> Client {
        let s = tls_stream(addr, connector).await.expect("TLS handshake");
        Client {
            io: Io::Tls(Box::new(s)),
            buf: BytesMut::new(),
            version,
        }
    }

    /// Opens a WebSocket over TLS to `wss://localhost:PORT/mqtt` offering subprotocol `mqtt`.
    pub async fn wss(
        addr: SocketAddr,
        connector: &tokio_rustls::TlsConnector,
        version: Version,
    ) -> Client {
        let s = tls_stream(addr, connector).await.expect("TLS handshake");
        let req = mqtt_ws_request(&format!("wss://localhost:{}/mqtt", addr.port()));
        let (ws, resp) = tokio_tungstenite::client_async(req, s)
            .await
            .expect("wss handshake");
        assert_mqtt_subprotocol(&resp);
        Client {
            io: Io::Wss(Box::new(ws)),
            buf: BytesMut::new(),
            version,
        }
    }

    /// Opens a WebSocket connection offering subprotocol `mqtt` (no CONNECT sent yet).
    pub async fn ws(url: &str, version: Version) -> Client {
        let (ws, resp) = tokio_tungstenite::connect_async(mqtt_ws_request(url))
            .await
            .expect("ws connect");
        assert_mqtt_subprotocol(&resp);
        Client {
            io: Io::Ws(Box::new(ws)),
            buf: BytesMut::new(),
            version,
        }
    }

    /// TCP connection + CONNECT with `client_id`/`clean` + the CONNACK, which is returned.
    pub async fn connect(
        addr: SocketAddr,
        version: Version,
        client_id: &str,
        clean: bool,
    ) -> (Client, ConnAck) {
        let mut c = Client::tcp(addr, version).await;
        let ack = c.handshake(connect_packet(version, client_id, clean)).await;
        (c, ack)
    }

    /// The local address of a plain TCP client.
    pub fn local_addr(&self) -> SocketAddr {
        match &self.io {
            Io::Tcp(s) => s.local_addr().expect("local addr"),
            _ => panic!("local_addr: not a plain TCP client"),
        }
    }

    /// Sends `connect` and returns the CONNACK.
    pub async fn handshake(&mut self, connect: Connect) -> ConnAck {
        self.send(Packet::Connect(Box::new(connect))).await;
        match self.recv().await {
            Packet::ConnAck(a) => a,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Raw bytes (e.g. deliberately malformed packets).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.io {
            Io::Tcp(s) => s.write_all(bytes).await.expect("write"),
            Io::Ws(ws) => ws
                .send(WsMessage::Binary(Bytes::copy_from_slice(bytes)))
                .await
                .expect("ws send"),
            Io::Tls(s) => s.write_all(bytes).await.expect("tls write"),
            Io::Wss(ws) => ws
                .send(WsMessage::Binary(Bytes::copy_from_slice(bytes)))
                .await
                .expect("wss send"),
        }
    }

    pub async fn send(&mut self, p: Packet) {
        let mut b = BytesMut::new();
        encode(&p, self.version, &mut b).expect("encode");
        self.send_raw(&b).await;
    }

    /// Reads more bytes; `false` on end of stream.
    async fn fill(&mut self) -> bool {
        match &mut self.io {
            Io::Tcp(s) => {
                self.buf.reserve(4096);
                matches!(s.read_buf(&mut self.buf).await, Ok(n) if n > 0)
            }
            Io::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(WsMessage::Binary(b))) => {
                        self.buf.extend_from_slice(&b);
                        return true;
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    _ => return false,
                }
            },
            Io::Tls(s) => {
                self.buf.reserve(4096);
                matches!(s.read_buf(&mut self.buf).await, Ok(n) if n > 0)
            }
            Io::Wss(ws) => loop {
                match ws.next().await {
                    Some(Ok(WsMessage::Binary(b))) => {
                        self.buf.extend_from_slice(&b);
                        return true;
                    }
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    _ => return false,
                }
            },
        }
    }

    /// The next packet, or `None` when the broker closed the connection first.
    pub async fn try_recv(&mut self, within: Duration) -> Option<Packet> {
        let cfg = DecodeConfig {
            version: self.version,
            max_packet_size: 268_435_455,
        };
        tokio::time::timeout(within, async {
            loop {
                if let Some(p) = decode(&mut self.buf, &cfg).expect("broker sent a bad packet") {
                    return Some(p);
                }
                if !self.fill().await {
                    return None;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no packet and no close within {within:?}"))
    }

    /// The next packet within [`DEADLINE`]; panics if the connection closes.
    pub async fn recv(&mut self) -> Packet {
        self.try_recv(DEADLINE)
            .await
            .expect("connection closed while waiting for a packet")
    }

    /// Asserts nothing arrives for `quiet` (the connection may stay open).
    pub async fn expect_nothing(&mut self, quiet: Duration) {
        let cfg = DecodeConfig {
            version: self.version,
            max_packet_size: 268_435_455,
        };
        if let Some(p) = decode(&mut self.buf, &cfg).expect("decode") {
            panic!("unexpected packet {p:?}");
        }
        if let Ok(true) = tokio::time::timeout(quiet, self.fill()).await
            && let Some(p) = decode(&mut self.buf, &cfg).expect("decode")
        {
            panic!("unexpected packet {p:?}");
        }
    }

    /// Waits until the broker closes the connection; returns the packets it sent before.
    pub async fn expect_closed(&mut self) -> Vec<Packet> {
        let mut got = Vec::new();
        while let Some(p) = self.try_recv(DEADLINE).await {
            got.push(p);
        }
        got
    }

    pub async fn subscribe(&mut self, pid: u16, filter: &str, qos: QoS) -> Packet {
        self.send(Packet::Subscribe(Subscribe {
            pid: pid_(pid),
            filters: vec![(filter_(filter), SubscriptionOptions::new(qos))],
            properties: Default::default(),
        }))
        .await;
        self.recv().await
    }

    pub async fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS, pid: u16, retain: bool) {
        let qos_pid = QosPid::from_parts(qos, Pid::new(pid).filter(|_| qos != QoS::AtMostOnce))
            .expect("qos/pid");
        self.send(Packet::Publish(tern_codec::Publish {
            dup: false,
            qos_pid,
            retain,
            topic: topic_(topic),
            payload: Bytes::copy_from_slice(payload),
            properties: Default::default(),
        }))
        .await;
    }
}

/// A CONNECT with the given id and clean flag, keep alive 60 s.
pub fn connect_packet(version: Version, client_id: &str, clean: bool) -> Connect {
    Connect {
        version,
        clean_start: clean,
        keep_alive: 60,
        client_id: client_id.into(),
        will: None,
        username: None,
        password: None,
        properties: Default::default(),
    }
}

pub fn pid_(n: u16) -> Pid {
    Pid::new(n).expect("non-zero pid")
}

pub fn topic_(s: &str) -> TopicName {
    TopicName::new(s).expect("valid topic")
}

pub fn filter_(s: &str) -> TopicFilter {
    TopicFilter::new(s).expect("valid filter")
}

/// A WebSocket request for `url` offering subprotocol `mqtt`.
fn mqtt_ws_request(url: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = url.into_client_request().expect("ws url");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("header"));
    req
}

fn assert_mqtt_subprotocol(resp: &tokio_tungstenite::tungstenite::handshake::client::Response) {
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok()),
        Some("mqtt"),
        "[MQTT-6.0.0-3] server must select the mqtt subprotocol"
    );
}
