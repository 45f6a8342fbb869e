//! # tern-codec
//!
//! The MQTT 3.1, 3.1.1 and 5.0 wire format for the Tern broker (tokio) and browser client
//! (wasm32): one packet model for all versions, strict validation, zero-copy payloads.
//!
//! ## Module map
//!
//! | module | contents |
//! |---|---|
//! | [`types`] | [`Version`], [`QoS`], [`Pid`], [`QosPid`], [`SubscriptionOptions`], [`RetainHandling`] |
//! | [`topic`] | validated [`TopicName`] / [`TopicFilter`], shared subscriptions, [`topic_matches`] |
//! | [`reason`] | MQTT 5 [`ReasonCode`] with the per-packet table, 3.x [`ConnectReturnCode`] |
//! | [`properties`] | one plain struct of MQTT 5 properties per packet family, held as [`Props<T>`] (allocated only when present), [`PropertyId`] |
//! | [`packet`] | [`Packet`], [`PacketType`] and one file per packet family |
//! | [`error`] | [`DecodeError`] (with [`DecodeError::reason_code`]) and [`EncodeError`] |
//! | `wire` | bounds-checked readers and writers of integers, varints, strings, binary data |
//! | `header` | fixed header check, done before the body is buffered |
//! | `codec` | with feature `tokio`: `MqttCodec`, a tokio-util `Decoder`/`Encoder` |
//!
//! ## Example
//!
//! ```
//! use bytes::BytesMut;
//! use tern_codec::*;
//!
//! // Encode a QoS 1 PUBLISH for an MQTT 3.1.1 peer; the size is known in advance.
//! let publish = Publish::new(
//!     TopicName::new("sensors/t1").unwrap(),
//!     QosPid::AtLeastOnce(Pid::new(7).unwrap()),
//!     &b"21.5"[..],
//! );
//! let packet = Packet::Publish(publish);
//! let mut buf = BytesMut::new();
//! encode(&packet, Version::V3_1_1, &mut buf).unwrap();
//! assert_eq!(buf.len(), encoded_len(&packet, Version::V3_1_1).unwrap());
//!
//! let cfg = DecodeConfig { version: Version::V3_1_1, ..DecodeConfig::default() };
//!
//! // An incomplete buffer decodes to `Ok(None)` and is left untouched.
//! let mut partial = BytesMut::from(&buf[..5]);
//! assert_eq!(decode(&mut partial, &cfg), Ok(None));
//! assert_eq!(partial.len(), 5);
//!
//! // The full buffer gives back the packet and is consumed.
//! assert_eq!(decode(&mut buf, &cfg), Ok(Some(packet)));
//! assert!(buf.is_empty());
//!
//! // Garbage is an error carrying the reason code to close the connection with.
//! let mut garbage = BytesMut::from(&[0x00, 0x00][..]);
//! let err = decode(&mut garbage, &cfg).unwrap_err();
//! assert_eq!(err, DecodeError::ReservedPacketType(0));
//! assert_eq!(err.reason_code(), ReasonCode::MalformedPacket);
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use bytes::{Buf, BufMut, BytesMut};

pub mod error;
mod header;
pub mod packet;
pub mod properties;
pub mod reason;
pub mod topic;
pub mod types;
mod wire;

#[cfg(feature = "tokio")]
pub mod codec;

#[cfg(feature = "tokio")]
pub use codec::{CodecError, MqttCodec};
pub use error::{DecodeError, EncodeError};
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, PacketType, PubResp, Publish, SubAck,
    Subscribe, UnsubAck, Unsubscribe,
};
pub use properties::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PropertyBlock, PropertyId, Props, PublishProperties, SubscribeProperties,
    UnsubscribeProperties, WillProperties,
};
pub use reason::{ConnectReturnCode, ReasonCode};
pub use topic::{TopicError, TopicFilter, TopicName, topic_matches};
pub use types::{
    InvalidQoS, Pid, QoS, QosPid, RetainHandling, SubscriptionOptions, UserProperties, Version,
};

/// Largest Remaining Length a packet can have (section 1.5.5).
pub const MAX_REMAINING_LENGTH: u32 = wire::VARINT_MAX;

/// Largest capacity `decode` reserves ahead of an incomplete packet's data.
const MAX_RESERVE: usize = 64 * 1024;

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeConfig {
    /// Protocol version of the connection, used for every packet except CONNECT, which
    /// carries its own protocol level.
    pub version: Version,
    /// Largest whole packet (fixed header included) accepted; larger ones fail with
    /// [`DecodeError::PacketTooLarge`] as soon as the fixed header is read.
    pub max_packet_size: u32,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            version: Version::V3_1_1,
            max_packet_size: 268_435_455,
        }
    }
}

/// Decodes one packet from the front of `buf`.
///
/// * `Ok(None)`: the packet is incomplete; `buf`'s content is left as it was (up to 64 KiB of
///   capacity may be reserved for the rest of the packet).
/// * `Ok(Some(packet))`: exactly one packet was consumed; its payload and strings share
///   `buf`'s memory (zero-copy).
/// * `Err(e)`: the input is not valid MQTT; the connection must be closed, with
///   `e.reason_code()` in MQTT 5. What remains in `buf` is unspecified.
pub fn decode(buf: &mut BytesMut, cfg: &DecodeConfig) -> Result<Option<Packet>, DecodeError> {
    let Some(h) = header::parse(buf, cfg.version, cfg.max_packet_size)? else {
        return Ok(None);
    };
    let total = h.header_len + h.remaining;
    if buf.len() < total {
        // Room for the rest of the packet, but never more than `MAX_RESERVE` ahead of the
        // data: a header alone must not make a peer allocate its claimed size.
        buf.reserve((total - buf.len()).min(MAX_RESERVE));
        return Ok(None);
    }
    // `total <= buf.len()` was checked above, so neither call can panic.
    let mut body = buf.split_to(total).freeze();
    body.advance(h.header_len);
    // PUBLISH is most of the traffic: built straight into the returned value, not first
    // into a `Result<Packet, _>` and then copied into the `Result<Option<Packet>, _>`.
    if h.packet_type == PacketType::Publish {
        return match Publish::decode(h.flags, body, cfg.version) {
            Ok(p) => Ok(Some(Packet::Publish(p))),
            Err(e) => Err(e),
        };
    }
    Packet::decode_body(h.packet_type, h.flags, body, cfg.version).map(Some)
}

/// Appends the encoding of `packet` for a peer speaking `version` to `buf`. CONNECT is always
/// encoded with its own `version` field. On error nothing is appended.
pub fn encode(packet: &Packet, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let mut c = wire::Counter(0);
    packet.write_body(version, &mut c)?;
    let remaining = wire::len_u32(c.0)?;
    let start = buf.len();
    buf.reserve(1 + wire::varint_len(c.0) + c.0);
    buf.put_u8(packet.header_byte());
    let res = wire::Sink::put_varint(buf, remaining).and_then(|()| packet.write_body(version, buf));
    if res.is_err() {
        buf.truncate(start);
    }
    res
}

/// Size in bytes of the whole encoded packet (fixed header included), e.g. to honour a
/// peer's Maximum Packet Size before sending ([MQTT-3.1.2-24]). Fails exactly when
/// [`encode`] would.
pub fn encoded_len(packet: &Packet, version: Version) -> Result<usize, EncodeError> {
    let mut c = wire::Counter(0);
    packet.write_body(version, &mut c)?;
    wire::len_u32(c.0)?;
    Ok(1 + wire::varint_len(c.0) + c.0)
}
