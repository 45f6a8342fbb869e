//! The one raw MQTT client of the tests: encodes and decodes with `tern_codec` over any
//! [`super::transport`], and can also write raw bytes / raw WebSocket frames for
//! malformed-input cases. It answers nothing on its own (PUBACK, PINGRESP, …) unless a test
//! uses a [`super::flows`] helper, so tests see exactly what the broker sends; every packet
//! it reads passes the checks of [`super::invariants`].
//!
//! Every wait is bounded by [`DEADLINE`]. "Nothing is queued for us" is proven with a PINGREQ
//! round trip ([`Client::expect_nothing`]): the server answers the packets of one connection
//! in order, so anything it had queued before the PINGRESP is seen first. Where a PINGREQ
//! would change what is tested (keep alive, a receive window) [`Client::expect_quiet`]
//! watches the connection for a while instead.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tern_codec::{
    ConnAck, Connect, DecodeConfig, Disconnect, Packet, Pid, Publish, ReasonCode, Version,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

use super::DEADLINE;
use super::invariants::Invariants;
use super::packets::pid;
use super::transport::{Io, Read, selected_subprotocol, tls_stream, ws_request};

/// What the next read produced.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // test-only, short-lived values; matching stays simple
pub enum Event {
    Packet(Packet),
    /// The server closed the connection (EOF, reset, or WebSocket close).
    Closed,
    /// Nothing within the wait.
    Timeout,
}

pub struct Client {
    io: Io,
    rx: BytesMut,
    eof: bool,
    /// Protocol version used to encode and decode (the one sent in CONNECT).
    pub version: Version,
    /// Name for failure messages.
    pub name: String,
    /// Packets read while waiting for something else; returned first by [`Client::recv`].
    pending: VecDeque<Packet>,
    next_pid: u16,
    invariants: Invariants,
    /// The CONNACK of [`Client::handshake`], for tests that inspect its properties.
    pub connack: Option<ConnAck>,
}

impl Client {
    fn new(io: Io, version: Version, name: &str) -> Client {
        Client {
            io,
            rx: BytesMut::with_capacity(4096),
            eof: false,
            version,
            name: name.to_string(),
            pending: VecDeque::new(),
            next_pid: 0,
            invariants: Invariants::default(),
            connack: None,
        }
    }

    /// A TCP connection; nothing sent yet.
    pub async fn tcp(addr: SocketAddr, version: Version, name: &str) -> Client {
        tokio::time::timeout(DEADLINE, Client::try_tcp(addr, version, name))
            .await
            .unwrap_or_else(|_| panic!("{name}: tcp connect to {addr} timed out"))
            .unwrap_or_else(|e| panic!("{name}: tcp connect to {addr}: {e}"))
    }

    /// [`Client::tcp`] for a broker that may be down (a crash test reconnecting).
    pub async fn try_tcp(
        addr: SocketAddr,
        version: Version,
        name: &str,
    ) -> std::io::Result<Client> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Client::new(Io::Tcp(s), version, name))
    }

    /// A WebSocket connection to `url` (`ws://…/mqtt`) offering subprotocol `mqtt`, which the
    /// server must select ([MQTT-6.0.0-3], [MQTT-6.0.0-4]); nothing sent yet.
    pub async fn ws(url: &str, version: Version, name: &str) -> Client {
        let (c, proto) = Client::ws_offering(url, version, name, "mqtt").await;
        assert_eq!(
            proto.as_deref(),
            Some("mqtt"),
            "{name}: [MQTT-6.0.0-3] server must select the mqtt subprotocol"
        );
        c
    }

    /// A WebSocket connection to `url` offering `subprotocols` (comma-separated); nothing
    /// sent yet. Returns the subprotocol the server selected, if any.
    pub async fn ws_offering(
        url: &str,
        version: Version,
        name: &str,
        subprotocols: &str,
    ) -> (Client, Option<String>) {
        let req = ws_request(url, subprotocols);
        let (ws, resp) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(req))
            .await
            .unwrap_or_else(|_| panic!("{name}: websocket handshake timed out"))
            .unwrap_or_else(|e| panic!("{name}: websocket handshake: {e}"));
        let proto = selected_subprotocol(&resp);
        (Client::new(Io::Ws(Box::new(ws)), version, name), proto)
    }

    /// A TLS connection verifying the server as `localhost`; panics if the handshake fails.
    pub async fn tls(
        addr: SocketAddr,
        connector: &TlsConnector,
        version: Version,
        name: &str,
    ) -> Client {
        let s = tls_stream(addr, connector)
            .await
            .unwrap_or_else(|e| panic!("{name}: TLS handshake: {e}"));
        Client::new(Io::Tls(Box::new(s)), version, name)
    }

    /// A WebSocket over TLS to `wss://localhost:PORT/mqtt` offering subprotocol `mqtt`, which
    /// the server must select ([MQTT-6.0.0-3]).
    pub async fn wss(
        addr: SocketAddr,
        connector: &TlsConnector,
        version: Version,
        name: &str,
    ) -> Client {
        let s = tls_stream(addr, connector)
            .await
            .unwrap_or_else(|e| panic!("{name}: TLS handshake: {e}"));
        let req = ws_request(&format!("wss://localhost:{}/mqtt", addr.port()), "mqtt");
        let (ws, resp) = tokio_tungstenite::client_async(req, s)
            .await
            .unwrap_or_else(|e| panic!("{name}: wss handshake: {e}"));
        assert_eq!(
            selected_subprotocol(&resp).as_deref(),
            Some("mqtt"),
            "{name}: [MQTT-6.0.0-3] server must select the mqtt subprotocol"
        );
        Client::new(Io::Wss(Box::new(ws)), version, name)
    }

    /// Sends CONNECT and returns the CONNACK (any reason code). From here on the client
    /// decodes with `connect`'s version and holds the server to the limits it announces.
    pub async fn handshake(&mut self, connect: Connect) -> ConnAck {
        self.version = connect.version;
        self.invariants.announce(&connect);
        self.send(Packet::Connect(Box::new(connect))).await;
        match self.recv().await {
            Packet::ConnAck(ack) => {
                self.connack = Some(ack.clone());
                ack
            }
            other => panic!("{}: expected CONNACK, got {other:?}", self.name),
        }
    }

    /// `true` once the server has closed the connection (as seen by the last read).
    pub fn closed(&self) -> bool {
        self.eof
    }

    /// The local address of a TCP or TLS client.
    pub fn local_addr(&self) -> SocketAddr {
        self.io
            .local_addr()
            .unwrap_or_else(|| panic!("{}: local_addr of a WebSocket client", self.name))
    }

    /// Encodes with this client's version (CONNECT: its own) and writes it.
    pub async fn send(&mut self, packet: Packet) {
        let mut buf = BytesMut::new();
        let version = match &packet {
            Packet::Connect(c) => c.version,
            _ => self.version,
        };
        tern_codec::encode(&packet, version, &mut buf)
            .unwrap_or_else(|e| panic!("{}: encode {packet:?}: {e}", self.name));
        self.send_raw(&buf).await;
    }

    /// Writes bytes as they are (TCP, TLS) or as one binary frame (WebSocket). Write errors
    /// are ignored: the server may already have closed, which the next read reports.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.io.write(bytes).await;
    }

    /// Sends one WebSocket message of any kind (text frames, split packets).
    pub async fn send_ws(&mut self, msg: Message) {
        if !self.io.send_ws(msg).await {
            panic!(
                "{}: send_ws on a connection that is not WebSocket",
                self.name
            );
        }
    }

    /// Drops the socket abruptly (no DISCONNECT), as a crashed client.
    pub fn drop_connection(self) {
        drop(self);
    }

    /// Next packet or event within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Event {
        if let Some(p) = self.pending.pop_front() {
            return Event::Packet(p);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(p) = self.try_decode() {
                return Event::Packet(p);
            }
            if self.eof {
                return Event::Closed;
            }
            if tokio::time::timeout_at(deadline, self.read_more())
                .await
                .is_err()
            {
                return Event::Timeout;
            }
        }
    }

    /// Next packet; panics on close or after [`DEADLINE`].
    pub async fn recv(&mut self) -> Packet {
        match self.next_event(DEADLINE).await {
            Event::Packet(p) => p,
            other => panic!("{}: expected a packet, got {other:?}", self.name),
        }
    }

    /// Next packet, which must be a PUBLISH (not acknowledged).
    pub async fn recv_publish(&mut self) -> Publish {
        match self.recv().await {
            Packet::Publish(p) => p,
            other => panic!("{}: expected PUBLISH, got {other:?}", self.name),
        }
    }

    /// Reads until a packet satisfying `want` arrives; others are kept for [`Client::recv`].
    pub async fn wait_for(&mut self, want: impl Fn(&Packet) -> bool) -> Packet {
        let mut skipped = VecDeque::new();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Event::Packet(p) if want(&p) => {
                    skipped.extend(self.pending.drain(..));
                    self.pending = skipped;
                    return p;
                }
                Event::Packet(p) => skipped.push_back(p),
                other => panic!(
                    "{}: awaited packet did not arrive ({other:?}); got meanwhile {skipped:?}",
                    self.name
                ),
            }
        }
    }

    /// PINGREQ round trip; returns every packet that arrived before the PINGRESP.
    /// [MQTT-3.12.4-1] the Server MUST send a PINGRESP packet in response to a PINGREQ.
    pub async fn ping(&mut self) -> Vec<Packet> {
        self.send(Packet::PingReq).await;
        let mut before: Vec<Packet> = self.pending.drain(..).collect();
        loop {
            match self.next_event(DEADLINE).await {
                Event::Packet(Packet::PingResp) => return before,
                Event::Packet(p) => before.push(p),
                other => panic!(
                    "{}: no PINGRESP ({other:?}); got meanwhile {before:?}",
                    self.name
                ),
            }
        }
    }

    /// Proves that nothing is queued for this client: a PING round trip with nothing before it.
    pub async fn expect_nothing(&mut self, why: &str) {
        let got = self.ping().await;
        assert!(got.is_empty(), "{}: {why}: unexpected {got:?}", self.name);
    }

    /// Asserts that no packet arrives for `quiet`, without sending anything. A close is not
    /// a packet: tests that care check [`Client::closed`] or use [`Client::expect_closed`].
    pub async fn expect_quiet(&mut self, quiet: Duration) {
        if let Event::Packet(p) = self.next_event(quiet).await {
            panic!("{}: unexpected packet {p:?}", self.name);
        }
    }

    /// Waits for the server to close the connection; returns the packets that came first.
    pub async fn expect_closed(&mut self) -> Vec<Packet> {
        let mut before: Vec<Packet> = self.pending.drain(..).collect();
        loop {
            match self.next_event(DEADLINE).await {
                Event::Packet(p) => before.push(p),
                Event::Closed => return before,
                Event::Timeout => panic!(
                    "{}: connection not closed within {DEADLINE:?}; got {before:?}",
                    self.name
                ),
            }
        }
    }

    /// Waits for close. In MQTT 5 the server must first send DISCONNECT with `reason`
    /// (tern's rule, and [MQTT-4.13.1-1]'s "SHOULD send DISCONNECT"); in 3.x nothing but the
    /// close is expected (3.x has no server DISCONNECT).
    pub async fn expect_disconnect(&mut self, reason: ReasonCode, rule: &str) {
        self.expect_disconnect_any(&[reason], rule).await;
    }

    /// [`Client::expect_disconnect`] accepting any of `reasons` where the specification
    /// leaves the exact code open.
    pub async fn expect_disconnect_any(&mut self, reasons: &[ReasonCode], rule: &str) {
        let got = self.expect_closed().await;
        if self.version == Version::V5 {
            match got.last() {
                Some(Packet::Disconnect(Disconnect { reason: r, .. })) => assert!(
                    reasons.contains(r),
                    "{}: {rule}: DISCONNECT {r:?}, expected one of {reasons:?}",
                    self.name
                ),
                _ => panic!(
                    "{}: {rule}: expected DISCONNECT {reasons:?} before close, got {got:?}",
                    self.name
                ),
            }
        } else {
            assert!(
                !got.iter().any(|p| matches!(p, Packet::Disconnect(_))),
                "{}: {rule}: a 3.x server never sends DISCONNECT: {got:?}",
                self.name
            );
        }
    }

    /// Closes our sending direction (TCP FIN, TLS close_notify, WebSocket Close) while still
    /// reading: the server sees end of stream and must close, whatever it was waiting for.
    pub async fn shutdown_write(&mut self) {
        self.io.shutdown_write().await;
    }

    /// A fresh packet identifier for this client.
    pub fn pid(&mut self) -> Pid {
        self.next_pid = self.next_pid.wrapping_add(1).max(1);
        pid(self.next_pid)
    }

    /// Reads exactly `n` raw bytes (before any decoding) for byte-exact assertions; returns
    /// fewer if the connection closes first.
    pub async fn recv_raw(&mut self, n: usize) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while self.rx.len() < n && !self.eof {
            if tokio::time::timeout_at(deadline, self.read_more())
                .await
                .is_err()
            {
                break;
            }
        }
        let take = n.min(self.rx.len());
        self.rx.split_to(take).to_vec()
    }

    fn try_decode(&mut self) -> Option<Packet> {
        let cfg = DecodeConfig {
            version: self.version,
            ..DecodeConfig::default()
        };
        let before = self.rx.len();
        let packet = match tern_codec::decode(&mut self.rx, &cfg) {
            Ok(p) => p?,
            Err(e) => panic!(
                "{}: server sent an undecodable packet ({e}): {:02x?}",
                self.name,
                &self.rx[..self.rx.len().min(64)]
            ),
        };
        let size = before - self.rx.len();
        Some(self.invariants.check(&self.name, packet, size))
    }

    async fn read_more(&mut self) {
        match self.io.read(&mut self.rx).await {
            Read::Data => {}
            Read::Closed => self.eof = true,
            Read::Text(t) => panic!(
                "{}: [MQTT-6.0.0-1] server sent a text frame: {t:?}",
                self.name
            ),
        }
    }
}
