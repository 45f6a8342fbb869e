//! Turns WebSocket frames into MQTT packets. A frame may carry several packets and a packet
//! may span frames ([MQTT-6.0.0-2]: the receiver must not assume alignment), so bytes are
//! buffered and `tern_codec::decode` is called until it needs more. Each packet comes with
//! its bytes exactly as they arrived, for the protocol trace.

use bytes::{Bytes, BytesMut};
use tern_codec::{DecodeConfig, DecodeError, Packet, decode};

#[derive(Debug)]
pub struct PacketStream {
    buf: BytesMut,
    cfg: DecodeConfig,
    failed: bool,
}

/// What one frame produced: the packets before any error, then the error (after which the
/// stream is dead, as the connection must be closed).
#[derive(Debug, Default)]
pub struct Decoded {
    pub packets: Vec<Packet>,
    /// The wire bytes of each packet in `packets` (fixed header included), same order.
    pub raw: Vec<Bytes>,
    pub error: Option<DecodeError>,
}

/// Length of the packet at the front of `buf` (fixed header + Remaining Length, section
/// 2.1.4), once its header is complete. Malformed lengths are left for the codec to report.
fn frame_len(buf: &[u8]) -> Option<usize> {
    let mut remaining = 0usize;
    for i in 1..=4 {
        let byte = *buf.get(i)?;
        remaining |= usize::from(byte & 0x7F) << (7 * (i - 1));
        if byte & 0x80 == 0 {
            return Some(1 + i + remaining);
        }
    }
    None
}

impl PacketStream {
    pub fn new(cfg: DecodeConfig) -> PacketStream {
        PacketStream {
            buf: BytesMut::with_capacity(8 * 1024),
            cfg,
            failed: false,
        }
    }

    /// Appends one frame's bytes (written by `fill`, which gets a slice of exactly `len`
    /// bytes — the browser copies its ArrayBuffer straight in) and decodes what is complete.
    pub fn push_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Decoded {
        let mut out = Decoded::default();
        if self.failed {
            return out;
        }
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        fill(&mut self.buf[start..]);
        loop {
            // Copied before decoding, which consumes the bytes; only whole packets are copied.
            let raw = frame_len(&self.buf)
                .filter(|n| *n <= self.buf.len())
                .map(|n| Bytes::copy_from_slice(&self.buf[..n]));
            match decode(&mut self.buf, &self.cfg) {
                Ok(Some(p)) => {
                    out.packets.push(p);
                    out.raw.push(raw.unwrap_or_default());
                }
                Ok(None) => break,
                Err(e) => {
                    // The codec checks the declared size against max_packet_size before
                    // buffering the body, so a hostile length cannot grow `buf` unbounded.
                    self.failed = true;
                    self.buf.clear();
                    out.error = Some(e);
                    break;
                }
            }
        }
        out
    }

    pub fn push(&mut self, chunk: &[u8]) -> Decoded {
        self.push_with(chunk.len(), |dst| dst.copy_from_slice(chunk))
    }

    /// Bytes of an incomplete packet waiting for the next frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tern_codec::{Pid, PubResp, Publish, QosPid, TopicName, Version, encode};

    fn bytes_of(packets: &[Packet]) -> Vec<u8> {
        let mut buf = BytesMut::new();
        for p in packets {
            encode(p, Version::V3_1_1, &mut buf).unwrap();
        }
        buf.to_vec()
    }

    fn sample() -> Vec<Packet> {
        let topic = TopicName::new("a/b").unwrap();
        vec![
            Packet::Publish(Publish::new(
                topic.clone(),
                QosPid::AtMostOnce,
                Bytes::from_static(b"one"),
            )),
            Packet::PingResp,
            Packet::PubAck(PubResp::new(Pid::new(7).unwrap())),
            Packet::Publish(Publish::new(
                topic,
                QosPid::AtLeastOnce(Pid::new(9).unwrap()),
                Bytes::from(vec![0xAB; 300]),
            )),
        ]
    }

    #[test]
    fn several_packets_in_one_frame_mqtt_6_0_0_2() {
        let mut s = PacketStream::new(DecodeConfig::default());
        let d = s.push(&bytes_of(&sample()));
        assert!(d.error.is_none());
        assert_eq!(d.packets, sample());
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn packets_split_across_frames_at_every_offset_mqtt_6_0_0_2() {
        let wire = bytes_of(&sample());
        for cut in 1..wire.len() {
            let mut s = PacketStream::new(DecodeConfig::default());
            let mut got = s.push(&wire[..cut]).packets;
            got.extend(s.push(&wire[cut..]).packets);
            assert_eq!(got, sample(), "split at {cut}");
        }
        // One byte per frame.
        let mut s = PacketStream::new(DecodeConfig::default());
        let got: Vec<Packet> = wire.iter().flat_map(|b| s.push(&[*b]).packets).collect();
        assert_eq!(got, sample());
    }

    #[test]
    fn each_packet_comes_with_its_wire_bytes() {
        let wire = bytes_of(&sample());
        let mut s = PacketStream::new(DecodeConfig::default());
        let mut raw = s.push(&wire[..7]).raw;
        raw.extend(s.push(&wire[7..]).raw);
        assert_eq!(raw.len(), 4);
        assert_eq!(
            raw.concat(),
            wire,
            "the packets' bytes, in order, are the stream"
        );
        assert_eq!(&raw[1][..], &[0xD0, 0x00], "PINGRESP");
        assert_eq!(
            raw[3].len(),
            1 + 2 + (2 + 3) + 2 + 300,
            "a 2-byte Remaining Length"
        );
    }

    #[test]
    fn packets_before_an_error_are_kept_and_the_stream_stops() {
        let mut wire = bytes_of(&[Packet::PingResp]);
        wire.extend([0x00, 0x00]); // packet type 0 is reserved
        wire.extend(bytes_of(&[Packet::PingResp]));
        let mut s = PacketStream::new(DecodeConfig::default());
        let d = s.push(&wire);
        assert_eq!(d.packets, vec![Packet::PingResp]);
        assert!(d.error.is_some());
        let after = s.push(&bytes_of(&[Packet::PingResp]));
        assert!(after.packets.is_empty() && after.error.is_none());
    }

    #[test]
    fn oversized_packet_is_refused_from_its_header_mqtt_3_1_2_24() {
        let cfg = DecodeConfig {
            version: Version::V3_1_1,
            max_packet_size: 64,
        };
        let mut s = PacketStream::new(cfg);
        // PUBLISH declaring 1 MiB: refused before the body arrives.
        let d = s.push(&[0x30, 0x80, 0x80, 0x40]);
        assert!(
            matches!(d.error, Some(DecodeError::PacketTooLarge { .. })),
            "{:?}",
            d.error
        );
        assert_eq!(s.buffered(), 0);
    }
}
