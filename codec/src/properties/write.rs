//! Writing a property block through a [`Sink`]: one helper per wire type, each writing
//! nothing for an absent property.

use std::num::NonZeroU32;

use bytestring::ByteString;

use super::{PropertyId, Props};
use crate::error::EncodeError;
use crate::types::UserProperties;
use crate::wire::{Counter, Sink, len_u32};

/// A property struct that can write its properties (without the length prefix).
pub(crate) trait PropWrite: super::PropertyBlock {
    fn write_props<S: Sink>(&self, s: &mut S) -> Result<(), EncodeError>;

    /// Backs [`PropertyBlock::is_empty`](super::PropertyBlock::is_empty): spelled out per
    /// struct, without `..`, so a new field fails to compile until it is checked.
    fn all_absent(&self) -> bool;
}

/// Writes Property Length followed by the properties (section 2.2.2.1). An absent block
/// is the single byte 0, without visiting the struct (the common case on the hot path).
pub(crate) fn write_block<S: Sink, P: PropWrite>(
    p: &Props<P>,
    s: &mut S,
) -> Result<(), EncodeError> {
    let Some(p) = p.block() else {
        s.put_u8(0);
        return Ok(());
    };
    let mut c = Counter(0);
    p.write_props(&mut c)?;
    s.put_varint(len_u32(c.0)?)?;
    p.write_props(s)
}

#[inline]
fn id<S: Sink>(s: &mut S, id: PropertyId) {
    s.put_u8(id as u8);
}

pub(crate) fn w_bool<S: Sink>(s: &mut S, i: PropertyId, v: Option<bool>) {
    if let Some(v) = v {
        id(s, i);
        s.put_u8(u8::from(v));
    }
}

pub(crate) fn w_u8<S: Sink>(s: &mut S, i: PropertyId, v: Option<u8>) {
    if let Some(v) = v {
        id(s, i);
        s.put_u8(v);
    }
}

pub(crate) fn w_u16<S: Sink>(s: &mut S, i: PropertyId, v: Option<u16>) {
    if let Some(v) = v {
        id(s, i);
        s.put_u16(v);
    }
}

/// A Two Byte Integer that must not be 0: encoding 0 is refused rather than sent.
pub(crate) fn w_nonzero_u16<S: Sink>(
    s: &mut S,
    i: PropertyId,
    v: Option<u16>,
) -> Result<(), EncodeError> {
    if v == Some(0) {
        return Err(EncodeError::InvalidPropertyValue(i));
    }
    w_u16(s, i, v);
    Ok(())
}

pub(crate) fn w_u32<S: Sink>(s: &mut S, i: PropertyId, v: Option<u32>) {
    if let Some(v) = v {
        id(s, i);
        s.put_u32(v);
    }
}

pub(crate) fn w_nonzero_u32<S: Sink>(
    s: &mut S,
    i: PropertyId,
    v: Option<u32>,
) -> Result<(), EncodeError> {
    if v == Some(0) {
        return Err(EncodeError::InvalidPropertyValue(i));
    }
    w_u32(s, i, v);
    Ok(())
}

pub(crate) fn w_varint<S: Sink>(
    s: &mut S,
    i: PropertyId,
    v: Option<NonZeroU32>,
) -> Result<(), EncodeError> {
    if let Some(v) = v {
        id(s, i);
        s.put_varint(v.get())
            .map_err(|_| EncodeError::InvalidPropertyValue(i))?;
    }
    Ok(())
}

pub(crate) fn w_str<S: Sink>(s: &mut S, i: PropertyId, v: Option<&str>) -> Result<(), EncodeError> {
    if let Some(v) = v {
        id(s, i);
        s.put_string(v, i.name())?;
    }
    Ok(())
}

pub(crate) fn w_bin<S: Sink>(
    s: &mut S,
    i: PropertyId,
    v: Option<&[u8]>,
) -> Result<(), EncodeError> {
    if let Some(v) = v {
        id(s, i);
        s.put_binary(v, i.name())?;
    }
    Ok(())
}

pub(crate) fn w_user<S: Sink>(s: &mut S, v: &UserProperties) -> Result<(), EncodeError> {
    for (k, val) in v {
        id(s, PropertyId::UserProperty);
        s.put_string(k, "User Property name")?;
        s.put_string(val, "User Property value")?;
    }
    Ok(())
}

/// `Option<ByteString>` → `Option<&str>` for the string helpers.
#[inline]
pub(crate) fn os(v: &Option<ByteString>) -> Option<&str> {
    v.as_deref()
}
