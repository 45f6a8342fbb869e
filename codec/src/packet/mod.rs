//! The packet model: one enum over the 15 control packets, shared by all protocol versions.
//! MQTT 5-only fields (properties, reason codes, subscription options) live in the same
//! structs and are written only for [`Version::V5`].
//!
//! One file per packet family: `connect` (CONNECT, Will), `connack`, `publish`, `pubresp`
//! (PUBACK/PUBREC/PUBREL/PUBCOMP), `subscribe` (SUBSCRIBE, SUBACK), `unsubscribe`
//! (UNSUBSCRIBE, UNSUBACK), `disconnect` and `auth`; PINGREQ/PINGRESP have no body.

use std::fmt;

use bytes::Bytes;

use crate::error::{DecodeError, EncodeError};
use crate::types::Version;
use crate::wire::Sink;

mod auth;
mod connack;
mod connect;
mod disconnect;
mod publish;
mod pubresp;
mod subscribe;
mod unsubscribe;

pub use auth::Auth;
pub use connack::ConnAck;
pub use connect::{Connect, LastWill};
pub use disconnect::Disconnect;
pub use publish::Publish;
pub use pubresp::PubResp;
pub use subscribe::{SubAck, Subscribe};
pub use unsubscribe::{UnsubAck, Unsubscribe};

/// Control packet type, the high nibble of the first byte (section 2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    /// `None` for 0, which is reserved in every version.
    pub const fn from_u8(v: u8) -> Option<PacketType> {
        Some(match v {
            1 => PacketType::Connect,
            2 => PacketType::ConnAck,
            3 => PacketType::Publish,
            4 => PacketType::PubAck,
            5 => PacketType::PubRec,
            6 => PacketType::PubRel,
            7 => PacketType::PubComp,
            8 => PacketType::Subscribe,
            9 => PacketType::SubAck,
            10 => PacketType::Unsubscribe,
            11 => PacketType::UnsubAck,
            12 => PacketType::PingReq,
            13 => PacketType::PingResp,
            14 => PacketType::Disconnect,
            15 => PacketType::Auth,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::ConnAck => "CONNACK",
            PacketType::Publish => "PUBLISH",
            PacketType::PubAck => "PUBACK",
            PacketType::PubRec => "PUBREC",
            PacketType::PubRel => "PUBREL",
            PacketType::PubComp => "PUBCOMP",
            PacketType::Subscribe => "SUBSCRIBE",
            PacketType::SubAck => "SUBACK",
            PacketType::Unsubscribe => "UNSUBSCRIBE",
            PacketType::UnsubAck => "UNSUBACK",
            PacketType::PingReq => "PINGREQ",
            PacketType::PingResp => "PINGRESP",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Auth => "AUTH",
        }
    }

    /// The fixed header flags every packet but PUBLISH must carry ([MQTT-2.1.3-1]):
    /// 0b0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE ([MQTT-3.6.1-1], [MQTT-3.8.1-1],
    /// [MQTT-3.10.1-1]), 0 otherwise. `None` for PUBLISH, whose flags carry DUP/QoS/RETAIN.
    pub(crate) const fn fixed_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Boxed: CONNECT is large and rare, and boxing keeps `Packet` small for PUBLISH.
    Connect(Box<Connect>),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(PubResp),
    PubRec(PubResp),
    PubRel(PubResp),
    PubComp(PubResp),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    Auth(Auth),
}

impl Packet {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// The first byte of the fixed header.
    pub(crate) fn header_byte(&self) -> u8 {
        let ty = self.packet_type();
        let flags = match self {
            Packet::Publish(p) => p.flags(),
            _ => ty.fixed_flags().unwrap_or(0),
        };
        ((ty as u8) << 4) | flags
    }

    /// Decodes a body whose fixed header has already been checked by `header::parse`.
    /// Inlined so that the large packet value is built in place rather than copied through
    /// each return (moves of `Packet` showed up as the top cost of PUBLISH decoding).
    #[inline(always)]
    pub(crate) fn decode_body(
        ty: PacketType,
        flags: u8,
        body: Bytes,
        version: Version,
    ) -> Result<Packet, DecodeError> {
        Ok(match ty {
            PacketType::Publish => Packet::Publish(Publish::decode(flags, body, version)?),
            PacketType::PubAck => Packet::PubAck(PubResp::decode(ty, body, version)?),
            PacketType::PubRec => Packet::PubRec(PubResp::decode(ty, body, version)?),
            PacketType::PubRel => Packet::PubRel(PubResp::decode(ty, body, version)?),
            PacketType::PubComp => Packet::PubComp(PubResp::decode(ty, body, version)?),
            PacketType::Connect => Packet::Connect(Box::new(Connect::decode(body)?)),
            PacketType::ConnAck => Packet::ConnAck(ConnAck::decode(body, version)?),
            PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(body, version)?),
            PacketType::SubAck => Packet::SubAck(SubAck::decode(body, version)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(body, version)?),
            PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(body, version)?),
            // [MQTT-3.12.1] / [MQTT-3.13.1]: PINGREQ and PINGRESP have no variable header.
            PacketType::PingReq | PacketType::PingResp => {
                if !body.is_empty() {
                    return Err(DecodeError::TrailingBytes {
                        packet: ty,
                        count: body.len(),
                    });
                }
                if ty == PacketType::PingReq {
                    Packet::PingReq
                } else {
                    Packet::PingResp
                }
            }
            PacketType::Disconnect => Packet::Disconnect(Disconnect::decode(body, version)?),
            PacketType::Auth => Packet::Auth(Auth::decode(body, version)?),
        })
    }

    /// Writes (or measures) the variable header and payload for `version`.
    pub(crate) fn write_body<S: Sink>(
        &self,
        version: Version,
        s: &mut S,
    ) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(c) => c.write(s),
            Packet::ConnAck(c) => c.write(version, s),
            Packet::Publish(p) => p.write(version, s),
            Packet::PubAck(p) => p.write(PacketType::PubAck, version, s),
            Packet::PubRec(p) => p.write(PacketType::PubRec, version, s),
            Packet::PubRel(p) => p.write(PacketType::PubRel, version, s),
            Packet::PubComp(p) => p.write(PacketType::PubComp, version, s),
            Packet::Subscribe(p) => p.write(version, s),
            Packet::SubAck(p) => p.write(version, s),
            Packet::Unsubscribe(p) => p.write(version, s),
            Packet::UnsubAck(p) => p.write(version, s),
            Packet::PingReq | Packet::PingResp => Ok(()),
            Packet::Disconnect(p) => p.write(version, s),
            Packet::Auth(p) => p.write(version, s),
        }
    }
}

/// The v5 tail shared by PUBACK/PUBREC/PUBREL/PUBCOMP, DISCONNECT and AUTH: the reason code is
/// checked against the packet, then written in the shortest form — the reason byte is omitted
/// when it is Success and there are no properties, the property block when it is empty
/// (sections 3.4.2.1, 3.14.2.1, 3.15.2.1).
pub(crate) fn write_reason_tail<S: Sink, P: crate::properties::PropWrite>(
    ty: PacketType,
    reason: crate::ReasonCode,
    properties: &crate::properties::Props<P>,
    s: &mut S,
) -> Result<(), EncodeError> {
    if !reason.is_valid_for(ty) {
        return Err(EncodeError::InvalidReasonCode { packet: ty, reason });
    }
    let has_props = !properties.is_empty();
    if reason != crate::ReasonCode::Success || has_props {
        s.put_u8(reason.value());
    }
    if has_props {
        crate::properties::write_block(properties, s)?;
    }
    Ok(())
}

/// Fails with `TrailingBytes` when a body has bytes after its last field.
pub(crate) fn expect_end(r: &crate::wire::Reader, packet: PacketType) -> Result<(), DecodeError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes {
            packet,
            count: r.remaining(),
        })
    }
}

/// Reads a packet identifier; 0 is rejected ([MQTT-2.3.1-1] in 3.1.1, [MQTT-2.2.1-3] in 5.0).
pub(crate) fn read_pid(r: &mut crate::wire::Reader) -> Result<crate::Pid, DecodeError> {
    crate::Pid::new(r.u16("packet identifier")?).ok_or(DecodeError::ZeroPacketId)
}

macro_rules! packet_from {
    ($($variant:ident($ty:ty)),*) => {
        $(impl From<$ty> for Packet {
            fn from(p: $ty) -> Packet {
                Packet::$variant(p)
            }
        })*
    };
}

packet_from!(
    ConnAck(ConnAck),
    Publish(Publish),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    Disconnect(Disconnect),
    Auth(Auth)
);

impl From<Connect> for Packet {
    fn from(c: Connect) -> Packet {
        Packet::Connect(Box::new(c))
    }
}

/// Helpers for the spec vectors at the bottom of each packet file.
#[cfg(test)]
pub(crate) mod test_util {
    use bytes::BytesMut;

    use crate::{DecodeConfig, DecodeError, Packet, Version, decode, encode};

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .map(|b| (b as char).to_digit(16).unwrap() as u8)
            .collect();
        digits.chunks(2).map(|c| (c[0] << 4) | c[1]).collect()
    }

    fn run(version: Version, bytes: &[u8]) -> Result<Option<Packet>, DecodeError> {
        let cfg = DecodeConfig {
            version,
            ..DecodeConfig::default()
        };
        decode(&mut BytesMut::from(bytes), &cfg)
    }

    /// `bytes` decodes to `packet` and `packet` encodes to `bytes`.
    pub(crate) fn assert_vector(version: Version, bytes: &str, packet: Packet) {
        let bytes = hex(bytes);
        assert_eq!(run(version, &bytes), Ok(Some(packet.clone())));
        let mut out = BytesMut::new();
        encode(&packet, version, &mut out).unwrap();
        assert_eq!(&out[..], &bytes[..]);
    }

    pub(crate) fn decode_err(version: Version, bytes: &str) -> DecodeError {
        run(version, &hex(bytes)).unwrap_err()
    }
}
