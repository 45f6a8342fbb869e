//! Packet framing over any byte stream: a [`PacketReader`] with a `BytesMut` read buffer
//! and a [`PacketWriter`] with a `BytesMut` write buffer. Both halves are separate so a
//! session can wait for input and output progress in one `select!`.
//!
//! Every `async fn` here is cancel-safe: `read_packet` only appends to its buffer when a read
//! completes and decodes synchronously; `write_some` advances the write buffer by exactly the
//! bytes written. Dropping either future loses nothing.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};

use bytes::{Buf, BytesMut};
use tern_codec::{DecodeConfig, DecodeError, EncodeError, Packet, Version, decode, encode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::broker::Stats;
use crate::store::ConnectionInfo;

/// Read buffer space offered per read (also the size of the stack buffer of an idle read).
const READ_CHUNK: usize = 4096;
/// Largest CONNECT accepted, whatever `max_packet_size` says: a real one is far smaller
/// (a client id, credentials, a will of at most 65,535 bytes and properties), and until a
/// client is admitted it must not make the broker buffer a large packet trickled in slowly.
pub const MAX_CONNECT_SIZE: u32 = 128 * 1024;
/// An empty write buffer with more capacity than this is released.
const IDLE_BUFFER_MAX: usize = 512;

/// Why no packet could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("connection closed in the middle of a packet")]
    TruncatedPacket,
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Decodes packets from a byte stream.
pub struct PacketReader<R> {
    io: R,
    buf: BytesMut,
    cfg: DecodeConfig,
    /// Protocol level seen in the bytes of the first packet (a CONNECT), kept even when
    /// decoding it fails so a v5 client can get a CONNACK with a reason code.
    connect_level: Option<u8>,
    first: bool,
    /// The last read returned less than the space offered: the peer has nothing more
    /// right now, so the next read is probably a long wait.
    last_read_short: bool,
    /// The connection's own counters (admin API), once it is a session.
    counters: Option<Arc<ConnectionInfo>>,
    /// Packets and bytes read before `counters` was set (the CONNECT).
    early: (usize, usize),
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    pub fn new(io: R, max_packet_size: u32) -> Self {
        PacketReader {
            io,
            buf: BytesMut::new(),
            cfg: DecodeConfig {
                version: Version::V3_1_1,
                max_packet_size,
            },
            connect_level: None,
            first: true,
            last_read_short: true,
            counters: None,
            early: (0, 0),
        }
    }

    /// Counts every packet read into `info` too (the ones read so far included).
    pub fn count_into(&mut self, info: Arc<ConnectionInfo>) {
        for _ in 0..self.early.0 {
            info.received(0);
        }
        info.received_bytes(self.early.1);
        self.counters = Some(info);
    }

    /// Version used to decode every packet after CONNECT.
    pub fn set_version(&mut self, version: Version) {
        self.cfg.version = version;
    }

    /// Protocol level byte of the first packet, if it looked like a CONNECT.
    pub fn connect_level(&self) -> Option<u8> {
        self.connect_level
    }

    /// A packet already complete in the buffer, without reading (lets a session handle a
    /// whole batch of input before writing the answers in one go).
    pub fn try_next(&mut self, stats: &Stats) -> Result<Option<Packet>, ReadError> {
        let before = self.buf.len();
        let decoded = if self.first {
            self.connect_level = peek_connect_level(&self.buf);
            let cfg = DecodeConfig {
                max_packet_size: self.cfg.max_packet_size.min(MAX_CONNECT_SIZE),
                ..self.cfg
            };
            decode(&mut self.buf, &cfg)?
        } else {
            decode(&mut self.buf, &self.cfg)?
        };
        let Some(packet) = decoded else {
            return Ok(None);
        };
        self.first = false;
        let used = before - self.buf.len();
        Stats::add(&stats.messages_received, 1);
        Stats::add(&stats.bytes_received, used as u64);
        match &self.counters {
            Some(c) => c.received(used),
            None => self.early = (self.early.0 + 1, self.early.1 + used),
        }
        Ok(Some(packet))
    }

    /// Next packet; `Ok(None)` on a clean end of stream between packets. Cancel-safe.
    pub async fn read_packet(&mut self, stats: &Stats) -> Result<Option<Packet>, ReadError> {
        loop {
            if let Some(packet) = self.try_next(stats)? {
                return Ok(Some(packet));
            }
            let (n, offered) = if self.buf.is_empty() && self.last_read_short {
                // Everything was decoded and the peer had nothing more: probably a long wait
                // (most connections are idle most of the time). Wait without a buffer.
                self.buf = BytesMut::new();
                (self.read_unbuffered().await?, READ_CHUNK)
            } else {
                if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                    self.buf.reserve(READ_CHUNK);
                }
                let offered = self.buf.capacity() - self.buf.len();
                (self.io.read_buf(&mut self.buf).await?, offered)
            };
            self.last_read_short = n < offered;
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ReadError::TruncatedPacket)
                };
            }
        }
    }
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    /// Waits for the connection's first bytes without holding a buffer while waiting;
    /// returns how many arrived (0: closed). Cancel-safe.
    pub async fn first_bytes(&mut self) -> io::Result<usize> {
        if !self.buf.is_empty() {
            return Ok(self.buf.len());
        }
        let n = self.read_unbuffered().await?;
        self.last_read_short = n < READ_CHUNK;
        Ok(n)
    }

    /// One read into a stack buffer; the bytes read are then copied into an exactly sized
    /// read buffer. An idle connection waiting here holds no read buffer at all (the array
    /// exists only while `poll_read` runs, never across a `Pending`), unlike the 256 B
    /// `BytesMut` plus shared header it held before. Exact size also keeps a decoded
    /// payload, which shares the buffer, from pinning unused space. Cancel-safe: the bytes
    /// are appended in the same poll in which they are read.
    async fn read_unbuffered(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            let mut stack = [0u8; READ_CHUNK];
            let mut rb = ReadBuf::new(&mut stack);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
            let got = rb.filled();
            if !got.is_empty() {
                self.buf = BytesMut::from(got);
            }
            Poll::Ready(Ok(got.len()))
        })
        .await
    }
}

/// The Protocol Level byte of a (possibly incomplete or invalid) CONNECT at the start of
/// `buf`: fixed header 0x10, remaining length, protocol name, level.
fn peek_connect_level(buf: &[u8]) -> Option<u8> {
    if buf.first()? & 0xF0 != 0x10 {
        return None;
    }
    let mut i = 1;
    loop {
        let b = *buf.get(i)?;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        if i > 4 {
            return None;
        }
    }
    let name_len = usize::from(u16::from_be_bytes([*buf.get(i)?, *buf.get(i + 1)?]));
    buf.get(i + 2 + name_len).copied()
}

/// Encodes packets into a write buffer and drains it into a byte stream.
pub struct PacketWriter<W> {
    io: W,
    buf: BytesMut,
    needs_flush: bool,
    version: Version,
    counters: Option<Arc<ConnectionInfo>>,
}

impl<W: AsyncWrite + Unpin> PacketWriter<W> {
    pub fn new(io: W) -> Self {
        PacketWriter {
            io,
            buf: BytesMut::new(),
            needs_flush: false,
            version: Version::V3_1_1,
            counters: None,
        }
    }

    /// Counts every packet queued from now on into `info` too.
    pub fn count_into(&mut self, info: Arc<ConnectionInfo>) {
        self.counters = Some(info);
    }

    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// Appends one encoded packet to the write buffer (no I/O).
    pub fn queue(&mut self, packet: &Packet, stats: &Stats) -> Result<(), EncodeError> {
        let before = self.buf.len();
        encode(packet, self.version, &mut self.buf)?;
        let n = self.buf.len() - before;
        Stats::add(&stats.messages_sent, 1);
        Stats::add(&stats.bytes_sent, n as u64);
        if let Some(c) = &self.counters {
            c.sent(n);
        }
        Ok(())
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Whether [`PacketWriter::write_some`] has anything to do.
    pub fn has_work(&self) -> bool {
        !self.buf.is_empty() || self.needs_flush
    }

    /// One step of output progress: a single write, or the flush after the buffer emptied.
    /// Cancel-safe.
    pub async fn write_some(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let n = self.io.write(&self.buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.buf.advance(n);
            self.needs_flush = true;
            if self.buf.is_empty() && self.buf.capacity() > IDLE_BUFFER_MAX {
                self.buf = BytesMut::new();
            }
        } else if self.needs_flush {
            self.io.flush().await?;
            self.needs_flush = false;
        }
        Ok(())
    }

    /// Writes and flushes everything buffered.
    pub async fn flush_all(&mut self) -> io::Result<()> {
        while self.has_work() {
            self.write_some().await?;
        }
        Ok(())
    }

    /// Flushes, then closes the write side (TCP FIN / WebSocket Close frame).
    pub async fn close(&mut self) -> io::Result<()> {
        self.flush_all().await?;
        self.io.shutdown().await
    }
}
