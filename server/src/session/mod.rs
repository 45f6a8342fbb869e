//! One task per client connection, shared by the TCP and WebSocket transports: it waits for
//! CONNECT (bounded), then multiplexes client input, queued output, keep alive, takeover and
//! shutdown in one `select!` loop, and on exit publishes the will and hands the session
//! state back to the broker.
//!
//! Submodules: `connect` (CONNECT → CONNACK), `inbound` (packets from the client),
//! `batching` (input batching, pull loop), `held` (answers waiting for their commit),
//! `outbound` (messages to the client: in-flight window, packet ids, topic aliases,
//! maximum packet size), `close` (why a connection ends and how that is told).

mod auth;
mod batching;
mod close;
mod connect;
mod held;
mod inbound;
mod outbound;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytestring::ByteString;
use tern_codec::{Packet, Pid, Version};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::broker::{
    Broker, Commit, Congestion, Delivery, Inflight, Message, OpenConnection, SessionKey, Stats,
};
use crate::connection::{PacketReader, PacketWriter};
pub(crate) use close::Close;

/// Which listener a connection came in on (for logs and the admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    WebSocket,
    /// MQTT over TLS.
    Tls,
    /// WebSocket over HTTPS.
    Wss,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::WebSocket => "ws",
            Transport::Tls => "tls",
            Transport::Wss => "wss",
        }
    }

    /// WebSocket (plain or secure): counted as `transport="websocket"` in `/metrics`.
    pub fn is_websocket(self) -> bool {
        matches!(self, Transport::WebSocket | Transport::Wss)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a session task needs from its listener.
pub struct SessionContext {
    pub broker: Broker,
    pub shutdown: CancellationToken,
    pub peer: SocketAddr,
    pub transport: Transport,
    /// The `max_connections` slot; released before the socket is closed, so a client that
    /// sees the close can connect again at once.
    pub permit: Option<OwnedSemaphorePermit>,
}

/// Stop pulling queued messages while this much output is unwritten (slow consumer): they
/// stay in the bounded broker queue, where the drop policy applies.
const WRITE_HIGH_WATER: usize = 64 * 1024;
/// Stop reading input while this much output is unwritten (a client that floods us without
/// reading its acks gets TCP back-pressure instead of growing our buffer).
const WRITE_READ_STOP: usize = 1024 * 1024;
/// Deliveries moved out of the broker queue per lock.
const PULL_BATCH: usize = 32;
/// Packets handled from the read buffer before output gets a turn: answers to a batch of
/// input (PUBACKs, the next messages of the window) go out in one write.
const INPUT_BATCH: usize = 64;
/// How long a publisher pauses for a congested subscriber before that subscriber is treated
/// as a slow consumer (and its excess messages are dropped instead).
const SLOW_CONSUMER_WAIT: Duration = Duration::from_millis(500);

/// Per-connection protocol state after a successful CONNECT.
pub(crate) struct Session {
    broker: Broker,
    client_id: ByteString,
    /// For log lines (there is no per-connection span).
    peer: SocketAddr,
    transport: Transport,
    key: SessionKey,
    /// The durable store's session id (0: the session is not stored).
    sid: u64,
    conn_id: u64,
    version: Version,
    /// Negotiated keep alive in seconds (0 = none).
    keep_alive: u16,
    /// Will message and Will Delay Interval; taken on a normal DISCONNECT.
    /// Boxed: most connections have none, and it is large.
    will: Option<Box<(Message, u32, Option<u32>)>>,
    /// Session Expiry Interval in force.
    expiry: u32,
    /// CONNECT had a Session Expiry Interval of 0 [MQTT-3.14.2-2].
    connect_expiry_zero: bool,
    /// Our Receive Maximum: QoS 2 messages from the client awaiting PUBREL [MQTT-3.3.4-7].
    receive_max_in: u16,
    incoming_qos2: Vec<Pid>,
    /// Topic aliases the client set, index = alias - 1 [MQTT-3.3.2-10..12].
    aliases_in: Vec<Option<tern_codec::TopicName>>,
    max_alias_in: u16,
    /// Outgoing in-flight window: min(client Receive Maximum, max_inflight_messages).
    window: usize,
    inflight: VecDeque<Inflight>,
    next_pid: Pid,
    /// Largest packet the client accepts [MQTT-3.1.2-24].
    client_max_packet: u32,
    max_alias_out: u16,
    aliases_out: HashMap<ByteString, u16>,
    /// Whether reason strings / user properties may be sent on acks [MQTT-3.1.2-29].
    problem_info: bool,
    /// This client's ACL; `None` without an `acl_file` (everything allowed).
    acl: Option<Box<crate::auth::ClientAcl>>,
    /// `Broker::auth_generation` the ACL was computed under (see `refresh_acl`).
    acl_generation: u64,
    /// For recomputing the ACL after a reload (`%u` patterns, `user` sections).
    username: Option<ByteString>,
    /// Shared with the admin API (counters, an administrator's disconnect).
    info: Arc<crate::store::ConnectionInfo>,
    notify: Arc<Notify>,
    kick: CancellationToken,
    done: CancellationToken,
    want_pull: bool,
    pull_buf: Vec<Delivery>,
    /// A subscriber our last PUBLISH congested: we stop reading until it drains (or the
    /// wait runs out), so fast publishers are paced by their consumers instead of having
    /// their messages dropped.
    congestion: Option<(Congestion, Instant)>,
    /// Answers waiting for their commit (see `held.rs`); follows the store's commits when
    /// persistence is on.
    held: VecDeque<(Commit, Packet)>,
    commits: Option<watch::Receiver<Commit>>,
    /// Cluster: a SUBSCRIBE waiting until this node's retained store has caught up with the
    /// cluster (read-your-writes); input waits behind it, so packets stay in order.
    barrier: Option<Box<(tern_codec::Subscribe, crate::cluster::BoxFuture<()>)>>,
}

/// Runs one connection to completion. Never panics on client input; every exit path hands
/// the session back to the broker.
///
/// No tracing span per connection: the `fmt` layer kept ~365 B alive for each open one
/// (README "Performance notes"). The events that matter (connect, close, refusals) carry
/// peer, transport and client id as fields instead.
pub async fn run<R, W>(reader: R, writer: W, mut ctx: SessionContext)
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let stats = ctx.broker.stats();
    Stats::add(&stats.connections, 1);
    // `tern_connections_open{transport}` in /metrics; dropped with this future.
    let _open = OpenConnection::new(ctx.broker.clone(), ctx.transport.is_websocket());
    let max_in = ctx.broker.config().effective_max_packet_size();
    let mut reader = PacketReader::new(reader, max_in);
    let mut writer = PacketWriter::new(writer);

    // Nothing is allocated for the handshake until the client sends something: a socket
    // that never sends CONNECT costs only this task until `connect_timeout` closes it.
    let timeout = ctx.broker.config().connect_timeout;
    let deadline = Instant::now() + timeout;
    let first = tokio::select! {
        () = ctx.shutdown.cancelled() => None,
        r = tokio::time::timeout_at(deadline, reader.first_bytes()) => Some(r),
    };
    let arrived = match first {
        Some(Ok(Ok(n))) => n > 0,
        Some(Err(_)) => {
            tracing::info!(peer = %ctx.peer, transport = %ctx.transport, "closing connection: no CONNECT within {timeout:?}");
            false
        }
        _ => false,
    };
    if !arrived {
        drop(ctx.permit.take());
        return;
    }
    // Boxed: the handshake's state (CONNECT, CONNACK, takeover wait) is large and short-lived;
    // keeping it out of this future keeps idle connections small.
    let handshake = Box::pin(connect::handshake(&mut reader, &mut writer, &ctx, deadline));
    let Some(mut session) = handshake.await else {
        // Refused or never connected: CONNACK (if any) is written; just close.
        drop(ctx.permit.take());
        let _ = tokio::time::timeout(Duration::from_secs(1), writer.close()).await;
        return;
    };
    tracing::info!(
        peer = %ctx.peer,
        transport = %ctx.transport,
        client_id = %session.client_id,
        version = %session.version,
        keep_alive = session.keep_alive,
        "client connected"
    );

    let close = session.serve(&mut reader, &mut writer, &ctx.shutdown).await;
    // Boxed like the handshake: only the steady state lives in this future.
    Box::pin(session.finish(close, &mut writer, ctx.permit.take())).await;
}

impl Session {
    /// The main loop; returns why the connection ends.
    async fn serve<R, W>(
        &mut self,
        reader: &mut PacketReader<R>,
        writer: &mut PacketWriter<W>,
        shutdown: &CancellationToken,
    ) -> Close
    where
        R: AsyncRead + Unpin + Send,
        W: AsyncWrite + Unpin + Send,
    {
        let broker = self.broker.clone();
        let stats = broker.stats();
        let notify = Arc::clone(&self.notify);
        let kick = self.kick.clone();
        // Close after 1.5 × keep alive without any packet [MQTT-3.1.2-24].
        let ka = Duration::from_millis(u64::from(self.keep_alive) * 1500);
        let mut last_rx = Instant::now();
        let ka_sleep = tokio::time::sleep(ka);
        tokio::pin!(ka_sleep);
        let mut commits = self.commits.clone();
        loop {
            self.refresh_acl();
            self.info.inflight.store(
                self.inflight.len() as u32,
                std::sync::atomic::Ordering::Relaxed,
            );
            if let Err(close) = self.pull_all(writer) {
                return close;
            }
            // Boxed only while congested: keeps the idle future small.
            let drained = self
                .congestion
                .clone()
                .map(|(c, deadline)| Box::pin(broker.wait_drained(c, deadline)));
            let mut barrier = self.barrier.take();
            let waiting = barrier.is_some();
            let mut barrier_done = false;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Close::Shutdown,
                () = kick.cancelled() => {
                    return match self.info.admin() {
                        crate::store::AdminAction::None => Close::TakenOver,
                        a => Close::Administrative {
                            discard: a == crate::store::AdminAction::Discard,
                        },
                    };
                }
                () = notify.notified() => self.want_pull = true,
                () = async { if let Some(f) = drained { f.await } }, if self.congestion.is_some() => {
                    self.congestion = None;
                }
                () = async { if let Some(b) = barrier.as_mut() { b.1.as_mut().await } }, if waiting => {
                    barrier_done = true;
                }
                r = writer.write_some(), if writer.has_work() => {
                    if let Err(e) = r {
                        return Close::Io(e);
                    }
                }
                r = async { commits.as_mut()?.changed().await.ok() },
                    if !self.held.is_empty() && commits.is_some() =>
                {
                    if r.is_none() {
                        return Close::Shutdown;
                    }
                    if let Err(close) = self.release_held(writer) {
                        return close;
                    }
                }
                r = reader.read_packet(stats),
                    if writer.pending() < WRITE_READ_STOP
                        && self.held.len() < held::HELD_READ_STOP
                        && self.congestion.is_none()
                        && !waiting =>
                {
                    match r {
                        Ok(Some(packet)) => {
                            last_rx = Instant::now();
                            // A reload may have happened while we waited for input.
                            self.refresh_acl();
                            if let Err(close) = self.handle(packet, writer) {
                                return close;
                            }
                            if let Err(close) = self.handle_buffered(reader, writer) {
                                return close;
                            }
                        }
                        Ok(None) => return Close::Eof,
                        Err(e) => return Close::from_read_error(e),
                    }
                }
                () = &mut ka_sleep, if self.keep_alive > 0 => {
                    let deadline = last_rx + ka;
                    if deadline <= Instant::now() {
                        return Close::KeepAlive;
                    }
                    // Re-armed lazily instead of on every packet: one timer update per
                    // keep-alive period.
                    ka_sleep.as_mut().reset(deadline);
                }
            }
            if barrier_done {
                if let Some(b) = barrier.take() {
                    let (subscribe, _) = *b;
                    if let Err(close) = self.on_subscribe(subscribe, writer) {
                        return close;
                    }
                    if let Err(close) = self.handle_buffered(reader, writer) {
                        return close;
                    }
                }
            } else if barrier.is_some() {
                self.barrier = barrier;
            }
        }
    }

    /// Dispatches one packet from the client.
    fn handle<W: AsyncWrite + Unpin>(
        &mut self,
        packet: Packet,
        w: &mut PacketWriter<W>,
    ) -> Result<(), Close> {
        match packet {
            Packet::Publish(p) => self.on_publish(p, w),
            Packet::PubAck(r) => self.on_puback(r),
            Packet::PubRec(r) => self.on_pubrec(r, w),
            Packet::PubComp(r) => self.on_pubcomp(r),
            Packet::PubRel(r) => self.on_pubrel(r, w),
            Packet::Subscribe(s) => match self.broker.retained_barrier() {
                Some(wait) => {
                    self.barrier = Some(Box::new((s, wait)));
                    Ok(())
                }
                None => self.on_subscribe(s, w),
            },
            Packet::Unsubscribe(u) => self.on_unsubscribe(u, w),
            // Not held: it acknowledges nothing, and a slow disk must not look like a dead
            // broker to the client's keep alive.
            Packet::PingReq => self.send(w, &Packet::PingResp),
            Packet::Disconnect(d) => Err(self.on_disconnect(d)),
            Packet::Connect(_) => Err(Close::violation(
                tern_codec::ReasonCode::ProtocolError,
                "[MQTT-3.1.0-2] second CONNECT on a connection",
            )),
            Packet::Auth(_) => Err(Close::violation(
                tern_codec::ReasonCode::ProtocolError,
                "(section 4.12) AUTH without an Authentication Method in CONNECT",
            )),
            other => Err(Close::violation(
                tern_codec::ReasonCode::ProtocolError,
                format!(
                    "[MQTT-2.1.2] {} may only be sent by the server",
                    other.packet_type()
                ),
            )),
        }
    }

    /// Encodes one packet into the write buffer.
    fn send<W: AsyncWrite + Unpin>(
        &self,
        w: &mut PacketWriter<W>,
        packet: &Packet,
    ) -> Result<(), Close> {
        w.queue(packet, self.broker.stats()).map_err(|e| {
            Close::violation(
                tern_codec::ReasonCode::ImplementationSpecificError,
                format!("cannot encode {}: {e}", packet.packet_type()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Idle-connection memory target (≤ 4 KiB per connection): the session task's future is
    /// most of it, so keep it small.
    #[test]
    fn session_future_is_small() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let ctx = SessionContext {
            broker: Broker::new(crate::Config::default()),
            shutdown: CancellationToken::new(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            transport: Transport::Tcp,
            permit: None,
        };
        let (a, b) = tokio::io::duplex(64);
        let (r, w) = tokio::io::split(a);
        drop(b);
        let fut = run(r, w, ctx);
        let size = std::mem::size_of_val(&fut);
        eprintln!(
            "Session {} StoredSession {} Message {} Delivery {}",
            std::mem::size_of::<Session>(),
            std::mem::size_of::<crate::store::StoredSession>(),
            std::mem::size_of::<Message>(),
            std::mem::size_of::<Delivery>()
        );
        eprintln!("session future: {size} bytes");
        assert!(size < 2048, "session future is {size} bytes");
    }
}
