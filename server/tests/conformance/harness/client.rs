//! A test client that speaks MQTT through `tern_codec` over TCP or WebSocket, and can also
//! write raw bytes / raw WebSocket frames for malformed-input cases.
//!
//! Every wait is bounded by [`DEADLINE`]. "Nothing arrives" is proven with a PINGREQ round
//! trip ([`Client::expect_nothing`]): the server answers packets of one connection in order,
//! so anything it had queued for us before the PINGRESP is seen first.
//!
//! Checks that apply to *every* packet the server sends are made here, once:
//! the first packet is CONNACK [MQTT-3.2.0-1], no packet exceeds the Maximum Packet Size we
//! announced [MQTT-3.1.2-24], Topic Aliases stay within the Topic Alias Maximum we announced
//! [MQTT-3.1.2-26]/[MQTT-3.1.2-27] and an empty topic only comes with a known alias.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tern_codec::{
    ConnAck, Connect, DecodeConfig, Disconnect, Packet, Pid, Publish, ReasonCode, Version,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::broker::{Broker, DEADLINE};
use super::packets::pid;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

enum Io {
    Tcp(TcpStream),
    Ws(Box<Ws>),
}

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
    got_first_packet: bool,
    max_packet_size: Option<u32>,
    topic_alias_max: u16,
    aliases: HashMap<u16, tern_codec::TopicName>,
    /// The CONNACK of [`Client::connect`], for tests that inspect its properties.
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
            got_first_packet: false,
            max_packet_size: None,
            topic_alias_max: 0,
            aliases: HashMap::new(),
            connack: None,
        }
    }

    /// A raw TCP connection; nothing sent yet.
    pub async fn tcp(broker: &Broker, version: Version, name: &str) -> Client {
        let s = tokio::time::timeout(DEADLINE, TcpStream::connect(broker.tcp))
            .await
            .expect("tcp connect timed out")
            .expect("tcp connect");
        s.set_nodelay(true).expect("nodelay");
        Client::new(Io::Tcp(s), version, name)
    }

    /// A WebSocket connection to `/mqtt` offering `subprotocols`; nothing sent yet.
    /// Returns the negotiated subprotocol, if any.
    pub async fn ws(
        broker: &Broker,
        version: Version,
        name: &str,
        subprotocols: &str,
    ) -> (Client, Option<String>) {
        let mut req = broker.ws_url().into_client_request().expect("ws request");
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(subprotocols).expect("header"),
        );
        let (ws, resp) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(req))
            .await
            .expect("websocket handshake timed out")
            .expect("websocket handshake");
        let proto = resp
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (Client::new(Io::Ws(Box::new(ws)), version, name), proto)
    }

    /// TCP + CONNECT(`connect`) + CONNACK with Success; panics otherwise.
    pub async fn connect_with(broker: &Broker, connect: Connect, name: &str) -> Client {
        let mut c = Client::tcp(broker, connect.version, name).await;
        let ack = c.connect(connect).await;
        assert_eq!(ack.reason, ReasonCode::Success, "{name}: CONNACK {ack:?}");
        c
    }

    /// A connected client with a clean session and the given id.
    pub async fn connected(broker: &Broker, version: Version, id: &str) -> Client {
        Client::connect_with(broker, Connect::new(version, id), id).await
    }

    /// Sends CONNECT and returns the CONNACK (any reason code).
    pub async fn connect(&mut self, connect: Connect) -> ConnAck {
        self.version = connect.version;
        self.max_packet_size = connect.properties.maximum_packet_size;
        self.topic_alias_max = connect.properties.topic_alias_maximum.unwrap_or(0);
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

    /// Encodes with this client's version and writes it.
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

    /// Writes bytes as they are (TCP) or as one binary frame (WebSocket). Write errors are
    /// ignored: the server may already have closed, which the next read reports.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.io {
            Io::Tcp(s) => {
                let _ = s.write_all(bytes).await;
            }
            Io::Ws(ws) => {
                let _ = ws
                    .send(Message::binary(Bytes::copy_from_slice(bytes)))
                    .await;
            }
        }
    }

    /// Sends one WebSocket message of any kind (text frames, split packets).
    pub async fn send_ws(&mut self, msg: Message) {
        match &mut self.io {
            Io::Ws(ws) => {
                let _ = ws.send(msg).await;
            }
            Io::Tcp(_) => panic!("{}: send_ws on a TCP client", self.name),
        }
    }

    /// Half-closes nothing: drops the socket abruptly (no DISCONNECT), as a crashed client.
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

    /// Closes our sending direction (TCP FIN) while still reading: the server sees end of
    /// stream and must close, whatever partial packet it was waiting for.
    pub async fn shutdown_write(&mut self) {
        match &mut self.io {
            Io::Tcp(s) => {
                let _ = s.shutdown().await;
            }
            Io::Ws(ws) => {
                let _ = SinkExt::close(ws).await;
            }
        }
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
        Some(self.check_incoming(packet, size))
    }

    /// Invariants on every packet from the server (see module docs).
    fn check_incoming(&mut self, mut packet: Packet, size: usize) -> Packet {
        if !self.got_first_packet {
            self.got_first_packet = true;
            assert!(
                matches!(packet, Packet::ConnAck(_)),
                "{}: [MQTT-3.2.0-1] the first packet from the server must be CONNACK, got {packet:?}",
                self.name
            );
        }
        if let Some(max) = self.max_packet_size {
            assert!(
                size <= max as usize,
                "{}: [MQTT-3.1.2-24] server sent a {size}-byte packet, our maximum is {max}: {packet:?}",
                self.name
            );
        }
        if let Packet::Publish(p) = &mut packet {
            if let Some(alias) = p.properties.topic_alias {
                let a = alias.get();
                assert!(
                    a <= self.topic_alias_max,
                    "{}: [MQTT-3.1.2-26]/[MQTT-3.1.2-27] topic alias {a} > our maximum {}",
                    self.name,
                    self.topic_alias_max
                );
                if p.topic.is_empty() {
                    let known = self.aliases.get(&a).unwrap_or_else(|| {
                        panic!("{}: [MQTT-3.3.2-?] unknown topic alias {a}", self.name)
                    });
                    p.topic = known.clone();
                } else {
                    self.aliases.insert(a, p.topic.clone());
                }
            } else {
                assert!(
                    !p.topic.is_empty(),
                    "{}: PUBLISH with empty topic and no alias",
                    self.name
                );
            }
        }
        packet
    }

    async fn read_more(&mut self) {
        match &mut self.io {
            Io::Tcp(s) => {
                let mut chunk = [0u8; 8192];
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => self.eof = true,
                    Ok(n) => self.rx.extend_from_slice(&chunk[..n]),
                }
            }
            Io::Ws(ws) => match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => self.eof = true,
                Some(Ok(Message::Binary(b))) => self.rx.extend_from_slice(&b),
                Some(Ok(Message::Text(t))) => panic!(
                    "{}: [MQTT-6.0.0-1] server sent a text frame: {t:?}",
                    self.name
                ),
                Some(Ok(_)) => {} // ping/pong handled by tungstenite
            },
        }
    }
}
