//! Turns WebSocket frames into MQTT packets. A frame may carry several packets and a packet
//! may span frames ([MQTT-6.0.0-2]: the receiver must not assume alignment), so bytes are
//! buffered and `tern_codec::decode` is called until it needs more.

use bytes::BytesMut;
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
    pub error: Option<DecodeError>,
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
            match decode(&mut self.buf, &self.cfg) {
                Ok(Some(p)) => out.packets.push(p),
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
