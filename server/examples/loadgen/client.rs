//! The load generator's MQTT 3.1.1 client side. Handshakes (CONNECT, SUBSCRIBE) go through
//! tern-codec; the hot paths do not decode: publishers copy a pre-encoded PUBLISH (patching
//! the packet id for QoS 1) and readers only walk the fixed headers, so that the generator
//! spends as little as possible of the shared 2-core machine.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use bytes::{BufMut, BytesMut};
use tern_codec::{
    Connect, DecodeConfig, Packet, Pid, Publish, QoS, QosPid, ReasonCode, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName, Version, decode, encode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on one TCP connect + CONNACK, or SUBSCRIBE + SUBACK.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Packet types (high nibble of the first byte).
pub const PUBLISH: u8 = 3;
pub const PUBACK: u8 = 4;

/// A connected client: the socket and whatever was read past the last handshake packet.
pub struct Conn {
    pub stream: TcpStream,
    pub buf: BytesMut,
}

impl Conn {
    /// TCP connect, CONNECT (3.1.1, clean session, keep alive 0 so that silent benchmark
    /// clients are never timed out) and a successful CONNACK.
    pub async fn connect(addr: SocketAddr, client_id: &str) -> Result<Conn> {
        Conn::connect_with(addr, client_id, true).await
    }

    /// As [`Conn::connect`], with the given Clean Session flag (false: a persistent session,
    /// whose QoS 1/2 messages a durable broker must store before acknowledging them).
    pub async fn connect_with(addr: SocketAddr, client_id: &str, clean: bool) -> Result<Conn> {
        let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("no TCP connection within {HANDSHAKE_TIMEOUT:?}"))?
            .with_context(|| format!("connecting {client_id} to {addr}"))?;
        Conn::handshake(stream, client_id, clean).await
    }

    /// CONNECT (3.1.1, keep alive 0) on an open socket, with the given Clean Session flag,
    /// and a successful CONNACK.
    pub async fn handshake(stream: TcpStream, client_id: &str, clean: bool) -> Result<Conn> {
        let addr = stream.peer_addr()?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            stream.set_nodelay(true)?;
            let mut conn = Conn {
                stream,
                buf: BytesMut::with_capacity(64),
            };
            let mut connect = Connect::new(Version::V3_1_1, client_id);
            connect.keep_alive = 0;
            connect.clean_start = clean;
            conn.send(&Packet::Connect(Box::new(connect))).await?;
            match conn.recv().await? {
                Packet::ConnAck(ack) if ack.reason == ReasonCode::Success => Ok(conn),
                Packet::ConnAck(ack) => bail!("CONNACK refused: {:?}", ack.reason),
                other => bail!("expected CONNACK, got {}", other.packet_type()),
            }
        })
        .await
        .map_err(|_| anyhow!("no CONNACK within {HANDSHAKE_TIMEOUT:?}"))?
        .with_context(|| format!("connecting {client_id} to {addr}"))
    }

    /// SUBSCRIBE to one filter and wait for a SUBACK granting `qos`.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<()> {
        let pid = Pid::new(1).ok_or_else(|| anyhow!("packet id 1"))?;
        let sub = Subscribe {
            pid,
            filters: vec![(TopicFilter::new(filter)?, SubscriptionOptions::new(qos))],
            properties: Default::default(),
        };
        tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            self.send(&Packet::Subscribe(sub)).await?;
            match self.recv().await? {
                Packet::SubAck(ack) if ack.pid == pid => {
                    let code = ack.reasons.first().copied();
                    ensure!(code == Some(granted(qos)), "SUBACK for {filter}: {code:?}");
                    Ok(())
                }
                other => bail!("expected SUBACK, got {}", other.packet_type()),
            }
        })
        .await
        .map_err(|_| anyhow!("no SUBACK within {HANDSHAKE_TIMEOUT:?}"))?
    }

    async fn send(&mut self, packet: &Packet) -> Result<()> {
        let mut out = BytesMut::new();
        encode(packet, Version::V3_1_1, &mut out)?;
        self.stream.write_all(&out).await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<Packet> {
        let cfg = DecodeConfig::default();
        loop {
            if let Some(p) = decode(&mut self.buf, &cfg)? {
                return Ok(p);
            }
            self.buf.reserve(256);
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                bail!("connection closed by the broker");
            }
        }
    }
}

/// The SUBACK return code for a granted QoS [MQTT-3.9.3-1].
fn granted(qos: QoS) -> ReasonCode {
    match qos {
        QoS::AtMostOnce => ReasonCode::Success,
        QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
        QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
    }
}

/// A PUBLISH encoded once by tern-codec and copied per message.
#[derive(Debug, Clone)]
pub struct Template {
    bytes: Vec<u8>,
    /// Offset of the packet id (QoS 1), patched per message.
    pid_at: Option<usize>,
}

impl Template {
    pub fn new(topic: &str, payload_len: usize, qos: QoS) -> Result<Template> {
        let qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(Pid::new(1).ok_or_else(|| anyhow!("pid"))?),
            QoS::ExactlyOnce => bail!("the load generator publishes at QoS 0 or 1"),
        };
        let publish = Publish::new(TopicName::new(topic)?, qos_pid, vec![b'x'; payload_len]);
        let mut out = BytesMut::new();
        encode(&Packet::Publish(publish), Version::V3_1_1, &mut out)?;
        let bytes = out.to_vec();
        // Fixed header (1 byte + remaining length), then topic length + topic, then the id.
        let header = 1 + bytes[1..].iter().take_while(|&&b| b & 0x80 != 0).count() + 1;
        let pid_at = (qos == QoS::AtLeastOnce).then_some(header + 2 + topic.len());
        Ok(Template { bytes, pid_at })
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends one PUBLISH with packet id `pid` (ignored at QoS 0).
    pub fn put(&self, out: &mut BytesMut, pid: u16) {
        let start = out.len();
        out.put_slice(&self.bytes);
        if let Some(at) = self.pid_at {
            out[start + at..start + at + 2].copy_from_slice(&pid.to_be_bytes());
        }
    }
}

/// The next packet id after `pid`, skipping 0 [MQTT-2.3.1-1].
pub fn next_pid(pid: u16) -> u16 {
    pid.checked_add(1).unwrap_or(1)
}

/// Walks the complete packets at the front of `buf`, calling `f(first_byte, body)` for each,
/// and returns the number of bytes they take. A packet cut off at the end is left for the
/// next read.
pub fn scan(buf: &[u8], mut f: impl FnMut(u8, &[u8]) -> Result<()>) -> Result<usize> {
    let mut pos = 0;
    loop {
        let rest = &buf[pos..];
        let Some(&first) = rest.first() else {
            return Ok(pos);
        };
        // Remaining Length: at most 4 bytes of 7 bits each (section 1.5.5).
        let mut len = 0usize;
        let mut i = 1;
        loop {
            let Some(&b) = rest.get(i) else {
                return Ok(pos);
            };
            len |= usize::from(b & 0x7F) << (7 * (i - 1));
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            ensure!(i <= 4, "malformed remaining length from the broker");
        }
        let Some(body) = rest.get(i..i + len) else {
            return Ok(pos);
        };
        f(first, body)?;
        pos += i + len;
    }
}

/// Packet id and payload length of a PUBLISH body (`first` is its first byte).
pub fn publish_parts(first: u8, body: &[u8]) -> Result<(Option<u16>, usize)> {
    let short = || anyhow!("short PUBLISH from the broker");
    let topic_len = usize::from(u16::from_be_bytes([
        *body.first().ok_or_else(short)?,
        *body.get(1).ok_or_else(short)?,
    ]));
    let mut at = 2 + topic_len;
    let pid = match (first >> 1) & 0x03 {
        0 => None,
        _ => {
            let id = body.get(at..at + 2).ok_or_else(short)?;
            at += 2;
            Some(u16::from_be_bytes([id[0], id[1]]))
        }
    };
    let payload = body.len().checked_sub(at).ok_or_else(short)?;
    Ok((pid, payload))
}

/// Appends a PUBACK for `pid`.
pub fn put_puback(out: &mut BytesMut, pid: u16) {
    out.put_u8(PUBACK << 4);
    out.put_u8(2);
    out.put_u16(pid);
}

#[cfg(test)]
mod tests {
    use tern_codec::PubResp;

    use super::*;

    fn encoded(p: &Packet) -> BytesMut {
        let mut b = BytesMut::new();
        encode(p, Version::V3_1_1, &mut b).unwrap();
        b
    }

    #[test]
    fn patched_template_equals_the_codec_encoding() {
        for len in [0, 64, 200, 20_000] {
            let tpl = Template::new("bench/in/3", len, QoS::AtLeastOnce).unwrap();
            let mut out = BytesMut::new();
            tpl.put(&mut out, 0xBEEF);
            let want = Publish::new(
                TopicName::new("bench/in/3").unwrap(),
                QosPid::AtLeastOnce(Pid::new(0xBEEF).unwrap()),
                vec![b'x'; len],
            );
            assert_eq!(out, encoded(&Packet::Publish(want)), "payload {len}");
            assert_eq!(tpl.len(), out.len());
        }
    }

    #[test]
    fn scan_walks_whole_packets_and_keeps_a_cut_one() {
        let tpl = Template::new("a/b", 300, QoS::AtLeastOnce).unwrap();
        let mut buf = BytesMut::new();
        tpl.put(&mut buf, 7);
        tpl.put(&mut buf, 8);
        let mut ack = BytesMut::new();
        put_puback(&mut ack, 9);
        assert_eq!(
            ack,
            encoded(&Packet::PubAck(PubResp::new(Pid::new(9).unwrap())))
        );
        buf.extend_from_slice(&ack);
        let whole = buf.len();
        tpl.put(&mut buf, 10);
        let cut = whole + 2; // fixed header of the 4th packet only partly there
        let mut seen = Vec::new();
        let used = scan(&buf[..cut], |first, body| {
            match first >> 4 {
                PUBLISH => seen.push(publish_parts(first, body).unwrap()),
                PUBACK => seen.push((Some(u16::from_be_bytes([body[0], body[1]])), 0)),
                t => panic!("type {t}"),
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(used, whole);
        assert_eq!(seen, vec![(Some(7), 300), (Some(8), 300), (Some(9), 0)]);
    }

    #[test]
    fn qos0_publish_parts_and_malformed_length() {
        let tpl = Template::new("t", 64, QoS::AtMostOnce).unwrap();
        let mut buf = BytesMut::new();
        tpl.put(&mut buf, 5);
        let mut parts = None;
        scan(&buf, |first, body| {
            parts = Some(publish_parts(first, body)?);
            Ok(())
        })
        .unwrap();
        assert_eq!(parts, Some((None, 64)));
        assert!(scan(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], |_, _| Ok(())).is_err());
        assert!(publish_parts(0x32, &[0, 5, b'a']).is_err());
    }

    #[test]
    fn packet_ids_skip_zero() {
        assert_eq!(next_pid(1), 2);
        assert_eq!(next_pid(u16::MAX), 1);
    }
}
