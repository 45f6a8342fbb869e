//! Reading a property block: the length prefix, identifiers and typed values, with the
//! duplicate check shared by every packet's property decoder.

use std::num::{NonZeroU16, NonZeroU32};

use bytes::Bytes;
use bytestring::ByteString;

use super::PropertyId;
use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::topic::TopicName;
use crate::types::QoS;
use crate::wire::Reader;

/// A cursor over one property block of one packet.
pub(crate) struct PropReader {
    r: Reader,
    packet: PacketType,
}

impl PropReader {
    /// Reads the Property Length and splits the block off `r` (section 2.2.2.1). A length
    /// that runs past the packet is a Malformed Packet.
    pub(crate) fn new(r: &mut Reader, packet: PacketType) -> Result<PropReader, DecodeError> {
        let len = r.varint("property length")?;
        let block = r.take(len as usize, "properties")?;
        Ok(PropReader {
            r: Reader::new(block),
            packet,
        })
    }

    /// The next property identifier, or `None` at the end of the block.
    pub(crate) fn next_id(&mut self) -> Result<Option<PropertyId>, DecodeError> {
        if self.r.is_empty() {
            return Ok(None);
        }
        let raw = self.r.varint("property identifier")?;
        PropertyId::from_u32(raw)
            .map(Some)
            .ok_or(DecodeError::UnknownProperty(raw))
    }

    /// The error for a known property that this packet may not carry (section 2.2.2.2).
    pub(crate) fn not_allowed(&self, property: PropertyId) -> DecodeError {
        DecodeError::PropertyNotAllowed {
            property,
            packet: self.packet,
        }
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.r.u16("property value")
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.r.u32("property value")
    }

    /// A Byte property whose only valid values are 0 and 1 (Protocol Error otherwise).
    pub(crate) fn bool(&mut self, id: PropertyId) -> Result<bool, DecodeError> {
        match self.r.u8("property value")? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    /// Maximum QoS: 0 or 1 (section 3.2.2.3.4).
    pub(crate) fn max_qos(&mut self, id: PropertyId) -> Result<QoS, DecodeError> {
        match self.r.u8("property value")? {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            _ => Err(DecodeError::InvalidPropertyValue(id)),
        }
    }

    /// A Two Byte Integer that must not be 0 (Receive Maximum, Topic Alias).
    pub(crate) fn nonzero_u16(&mut self, id: PropertyId) -> Result<NonZeroU16, DecodeError> {
        NonZeroU16::new(self.u16()?).ok_or(DecodeError::InvalidPropertyValue(id))
    }

    /// A Four Byte Integer that must not be 0 (Maximum Packet Size).
    pub(crate) fn nonzero_u32(&mut self, id: PropertyId) -> Result<u32, DecodeError> {
        match self.u32()? {
            0 => Err(DecodeError::InvalidPropertyValue(id)),
            v => Ok(v),
        }
    }

    /// Subscription Identifier: a variable byte integer 1..=268,435,455 (section 3.3.2.3.8).
    pub(crate) fn subscription_id(&mut self, id: PropertyId) -> Result<NonZeroU32, DecodeError> {
        NonZeroU32::new(self.r.varint("property value")?)
            .ok_or(DecodeError::InvalidPropertyValue(id))
    }

    pub(crate) fn string(&mut self) -> Result<ByteString, DecodeError> {
        self.r.string("property value")
    }

    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        self.r.binary("property value")
    }

    /// Response Topic: a topic name without wildcards ([MQTT-3.3.2-14]).
    pub(crate) fn topic(&mut self) -> Result<TopicName, DecodeError> {
        let s = self.string()?;
        TopicName::new(s).map_err(DecodeError::InvalidTopicName)
    }

    /// User Property: a UTF-8 string pair.
    pub(crate) fn pair(&mut self) -> Result<(ByteString, ByteString), DecodeError> {
        let k = self.string()?;
        let v = self.string()?;
        Ok((k, v))
    }
}

/// Stores a property that may appear at most once (section 2.2.2.2: "It is a Protocol Error
/// to include ... more than once").
#[inline]
pub(crate) fn set_once<T>(slot: &mut Option<T>, id: PropertyId, v: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::DuplicateProperty(id));
    }
    *slot = Some(v);
    Ok(())
}
