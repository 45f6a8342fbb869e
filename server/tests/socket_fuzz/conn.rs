//! One fuzz connection over TCP or WebSocket. A reader task decodes everything the broker
//! sends and checks it against the spec (it must decode in the connection's version, must
//! respect the client's Maximum Packet Size and Receive Maximum); the driver writes raw
//! bytes and reacts to the decoded packets with its own seeded generator.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tern_codec::{DecodeConfig, Packet, PubResp, QoS, Version, decode, encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::Shared;
use crate::rng::Rng;

/// Longest a write may block before the driver gives up on the connection (a broker that
/// stops reading from a client whose subscribers are slow is allowed to).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Decoded packets buffered towards the driver; when full the reader stops reading, so a
/// driver that does not drain is a slow consumer as far as the broker can tell.
const EVENTS: usize = 256;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the reader knows about the connection, from the CONNECT the driver sent.
#[derive(Debug, Clone, Copy)]
pub enum ReadMode {
    /// The first packet was not a valid CONNECT: bytes are read and dropped.
    Lenient,
    /// Everything the broker sends must decode in `version`. `limits` are the CONNECT's
    /// Maximum Packet Size and Receive Maximum (v5 only) to check.
    Strict {
        version: Version,
        max_packet_size: Option<u32>,
        receive_maximum: Option<u16>,
    },
}

enum Writer {
    Tcp(OwnedWriteHalf),
    Ws(SplitSink<Ws, Message>),
}

/// Broker → client QoS 1/2 PUBLISH packets not yet completed by this client
/// ([MQTT-4.9.0-2] counts them against the client's Receive Maximum).
#[derive(Default)]
struct Inflight {
    pids: HashSet<u16>,
    /// Checked only on a fresh session: on resumption the broker resends what was in
    /// flight before, which the new Receive Maximum does not shrink.
    check: bool,
}

pub struct Conn {
    writer: Writer,
    pub events: mpsc::Receiver<Packet>,
    reader: JoinHandle<()>,
    inflight: Arc<Mutex<Inflight>>,
    pub ws: bool,
    /// Splits WebSocket writes into frames.
    rng: Rng,
}

impl Conn {
    pub async fn open(
        addr: SocketAddr,
        ws_url: Option<&str>,
        mode: ReadMode,
        shared: &Arc<Shared>,
        rng: Rng,
    ) -> std::io::Result<Conn> {
        let inflight = Arc::new(Mutex::new(Inflight::default()));
        let (tx, events) = mpsc::channel(EVENTS);
        let ctx = ReadCtx {
            mode,
            shared: Arc::clone(shared),
            inflight: Arc::clone(&inflight),
            tx,
        };
        let (writer, reader) = match ws_url {
            None => {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                let (r, w) = s.into_split();
                (Writer::Tcp(w), tokio::spawn(read_tcp(r, ctx)))
            }
            Some(url) => {
                let mut req = url.into_client_request().map_err(std::io::Error::other)?;
                req.headers_mut()
                    .insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("header"));
                let (ws, _) = tokio_tungstenite::connect_async(req)
                    .await
                    .map_err(std::io::Error::other)?;
                let (w, r) = ws.split();
                (Writer::Ws(w), tokio::spawn(read_ws(r, ctx)))
            }
        };
        Ok(Conn {
            writer,
            events,
            reader,
            inflight,
            ws: ws_url.is_some(),
            rng,
        })
    }

    /// Starts the Receive Maximum check (after a CONNACK with Session Present 0).
    pub fn check_inflight(&self) {
        lock(&self.inflight).check = true;
    }

    /// Writes `bytes`; on WebSocket sometimes split over several binary frames
    /// ([MQTT-6.0.0-2]: a packet may span frames). `false` if the connection is gone.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        let write = async {
            match &mut self.writer {
                Writer::Tcp(w) => w.write_all(bytes).await.is_ok(),
                Writer::Ws(w) => {
                    let mut rest = bytes;
                    while !rest.is_empty() {
                        let n = if self.rng.one_in(4) {
                            self.rng.range(1, rest.len())
                        } else {
                            rest.len()
                        };
                        let frame = Bytes::copy_from_slice(&rest[..n]);
                        if w.send(Message::Binary(frame)).await.is_err() {
                            return false;
                        }
                        rest = &rest[n..];
                    }
                    true
                }
            }
        };
        matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(true))
    }

    /// A WebSocket text frame (forbidden for MQTT, [MQTT-6.0.0-1]); raw bytes on TCP.
    pub async fn send_text_frame(&mut self) -> bool {
        match &mut self.writer {
            Writer::Ws(w) => {
                let send = w.send(Message::Text("MQTT?".into()));
                matches!(tokio::time::timeout(WRITE_TIMEOUT, send).await, Ok(Ok(())))
            }
            Writer::Tcp(_) => self.send_raw(b"MQTT?").await,
        }
    }

    /// Encodes and writes `p`; an acknowledgement also completes the inflight entry.
    pub async fn send(&mut self, p: &Packet, version: Version) -> bool {
        let mut b = BytesMut::new();
        if encode(p, version, &mut b).is_err() {
            return true;
        }
        if let Packet::PubAck(r) | Packet::PubComp(r) | Packet::PubRec(r) = p
            && (!matches!(p, Packet::PubRec(_)) || r.reason.is_error())
        {
            lock(&self.inflight).pids.remove(&r.pid.get());
        }
        self.send_raw(&b).await
    }

    /// The next packet within `within`; `None` if the broker closed the connection (or
    /// nothing came in time).
    pub async fn next(&mut self, within: Duration) -> Option<Packet> {
        tokio::time::timeout(within, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// Waits until the broker closes the connection, discarding what it sends; if it does
    /// not, says what arrived meanwhile (for the finding).
    pub async fn wait_closed(&mut self, within: Duration) -> Result<(), String> {
        let mut got: Vec<String> = Vec::new();
        let mut n = 0usize;
        let closed = tokio::time::timeout(within, async {
            while let Some(p) = self.events.recv().await {
                n += 1;
                if got.len() == 8 {
                    got.remove(0);
                }
                got.push(format!("{:?}", p.packet_type()));
            }
        })
        .await;
        match closed {
            Ok(()) => Ok(()),
            Err(_) => Err(format!(
                "still open after {within:?} over {}; meanwhile {n} packets arrived (last: {})",
                if self.ws { "WebSocket" } else { "TCP" },
                got.join(", ")
            )),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct ReadCtx {
    mode: ReadMode,
    shared: Arc<Shared>,
    inflight: Arc<Mutex<Inflight>>,
    tx: mpsc::Sender<Packet>,
}

impl ReadCtx {
    /// Decodes and checks every complete packet in `buf`; `false` to stop reading.
    async fn feed(&mut self, buf: &mut BytesMut) -> bool {
        let ReadMode::Strict {
            version,
            max_packet_size,
            receive_maximum,
        } = self.mode
        else {
            buf.clear();
            return true;
        };
        let cfg = DecodeConfig {
            version,
            max_packet_size: 268_435_455,
        };
        loop {
            let before = buf.len();
            let head: Vec<u8> = buf.iter().take(16).copied().collect();
            let packet = match decode(buf, &cfg) {
                Ok(Some(p)) => p,
                Ok(None) => return true,
                Err(e) => {
                    self.shared.finding(format!(
                        "broker sent bytes that are not a valid {version:?} packet: {e} \
                         (first bytes {head:02x?})"
                    ));
                    return false;
                }
            };
            let size = before - buf.len();
            if let Some(max) = max_packet_size
                && size > max as usize
            {
                self.shared.finding(format!(
                    "[MQTT-3.1.2-24] broker sent a {size}-byte {:?} to a client whose \
                     Maximum Packet Size is {max}",
                    packet.packet_type()
                ));
            }
            if let (Some(rm), Packet::Publish(p)) = (receive_maximum, &packet)
                && p.qos_pid.qos() != QoS::AtMostOnce
                && let Some(pid) = p.qos_pid.pid()
            {
                let mut inf = lock(&self.inflight);
                inf.pids.insert(pid.get());
                if inf.check && inf.pids.len() > usize::from(rm) {
                    self.shared.finding(format!(
                        "[MQTT-4.9.0-2] broker has {} QoS 1/2 PUBLISH packets in flight to a \
                         client whose Receive Maximum is {rm}",
                        inf.pids.len()
                    ));
                }
            }
            if self.tx.send(packet).await.is_err() {
                return false;
            }
        }
    }
}

async fn read_tcp(mut r: OwnedReadHalf, mut ctx: ReadCtx) {
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        buf.reserve(8192);
        match r.read_buf(&mut buf).await {
            Ok(n) if n > 0 => {
                if !ctx.feed(&mut buf).await {
                    return;
                }
            }
            _ => return,
        }
    }
}

async fn read_ws(mut r: SplitStream<Ws>, mut ctx: ReadCtx) {
    let mut buf = BytesMut::new();
    while let Some(Ok(m)) = r.next().await {
        match m {
            Message::Binary(b) => {
                buf.extend_from_slice(&b);
                if !ctx.feed(&mut buf).await {
                    return;
                }
            }
            Message::Text(_) => {
                ctx.shared
                    .finding("[MQTT-6.0.0-1] broker sent a WebSocket text frame".to_owned());
                return;
            }
            Message::Close(_) => return,
            _ => {}
        }
    }
}

/// PUBACK / PUBREC / PUBREL / PUBCOMP for `pid` with reason Success.
pub fn resp(pid: tern_codec::Pid) -> PubResp {
    PubResp::new(pid)
}
