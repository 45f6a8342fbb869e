//! Bounds-checked primitives of the wire format (section 1.5): integers, variable byte
//! integers, UTF-8 strings and binary data. Reading never panics: every read checks the
//! remaining length first and returns [`DecodeError::UnexpectedEof`]. Writing goes through
//! the [`Sink`] trait so that one function per packet both measures (`Counter`) and writes
//! (`BytesMut`), keeping `encoded_len` and `encode` in agreement by construction.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytestring::ByteString;

use crate::error::{DecodeError, EncodeError};

/// Largest value of a variable byte integer (section 1.5.5).
pub(crate) const VARINT_MAX: u32 = 268_435_455;

/// A cursor over one packet body (or a property block), splitting zero-copy `Bytes` off it.
#[derive(Debug)]
pub(crate) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Reader {
        Reader { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let [v] = *self.array::<1>(what)?;
        self.buf.advance(1);
        Ok(v)
    }

    #[inline]
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let v = u16::from_be_bytes(*self.array::<2>(what)?);
        self.buf.advance(2);
        Ok(v)
    }

    #[inline]
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let v = u32::from_be_bytes(*self.array::<4>(what)?);
        self.buf.advance(4);
        Ok(v)
    }

    /// The next `N` bytes without consuming them; the length check that makes the
    /// following `advance(N)` unable to panic.
    #[inline(always)]
    fn array<const N: usize>(&self, what: &'static str) -> Result<&[u8; N], DecodeError> {
        self.buf
            .first_chunk::<N>()
            .ok_or(DecodeError::UnexpectedEof(what))
    }

    /// Consumes a zero Property Length (section 2.2.2.1) if that is what comes next: the
    /// common "no properties" case then skips the property decoder entirely.
    #[inline]
    pub(crate) fn empty_properties(&mut self) -> bool {
        if self.buf.first() == Some(&0) {
            self.buf.advance(1);
            true
        } else {
            false
        }
    }

    /// Variable byte integer: at most 4 bytes, minimally encoded ([MQTT-1.5.5-1]).
    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let mut value: u32 = 0;
        for i in 0..4u32 {
            let byte = self.u8(what)?;
            // A trailing zero continuation byte would encode the same value in more bytes.
            if i > 0 && byte == 0 {
                return Err(DecodeError::MalformedVarInt);
            }
            value |= u32::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedVarInt)
    }

    /// Splits `n` bytes off the front, sharing the underlying buffer.
    #[inline]
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes, DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::UnexpectedEof(what));
        }
        Ok(self.buf.split_to(n))
    }

    /// Everything that is left (e.g. the PUBLISH payload).
    /// Consumes the reader: no emptied `Bytes` is left behind to be dropped.
    pub(crate) fn rest(self) -> Bytes {
        self.buf
    }

    /// Two-byte length-prefixed binary data (section 1.5.6).
    #[inline]
    pub(crate) fn binary(&mut self, what: &'static str) -> Result<Bytes, DecodeError> {
        let len = self.u16(what)?;
        self.take(usize::from(len), what)
    }

    /// UTF-8 encoded string (section 1.5.4): well-formed UTF-8 without surrogates
    /// ([MQTT-1.5.4-1]) and without U+0000 ([MQTT-1.5.4-2]). Validated in place, no copy.
    #[inline]
    pub(crate) fn string(&mut self, what: &'static str) -> Result<ByteString, DecodeError> {
        let raw = self.binary(what)?;
        bytes_to_string(raw)
    }
}

/// Validates and converts without copying. In well-formed UTF-8 a 0x00 byte only ever
/// encodes U+0000, so a byte search is enough for [MQTT-1.5.4-2].
#[inline]
pub(crate) fn bytes_to_string(raw: Bytes) -> Result<ByteString, DecodeError> {
    if raw.contains(&0) {
        return Err(DecodeError::NullCharacter);
    }
    ByteString::try_from(raw).map_err(|_| DecodeError::InvalidUtf8)
}

/// Number of bytes of the variable byte integer encoding of `v`.
#[inline]
pub(crate) const fn varint_len(v: usize) -> usize {
    if v < 128 {
        1
    } else if v < 16_384 {
        2
    } else if v < 2_097_152 {
        3
    } else {
        4
    }
}

/// Destination of the encoder: [`Counter`] measures, `BytesMut` writes. Both check the limits
/// so an invalid packet is rejected by the measuring pass before anything is written.
pub(crate) trait Sink {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    /// Raw bytes without a length prefix.
    fn put_raw(&mut self, v: &[u8]);

    fn put_varint(&mut self, v: u32) -> Result<(), EncodeError>;

    /// Length-prefixed binary data (section 1.5.6).
    #[inline]
    fn put_binary(&mut self, v: &[u8], what: &'static str) -> Result<(), EncodeError> {
        let len = u16::try_from(v.len()).map_err(|_| EncodeError::FieldTooLong(what))?;
        self.put_u16(len);
        self.put_raw(v);
        Ok(())
    }

    /// UTF-8 string (section 1.5.4). U+0000 is rejected ([MQTT-1.5.4-2]); `&str` is already
    /// well-formed UTF-8.
    #[inline]
    fn put_string(&mut self, v: &str, what: &'static str) -> Result<(), EncodeError> {
        if v.as_bytes().contains(&0) {
            return Err(EncodeError::NullCharacter(what));
        }
        self.put_binary(v.as_bytes(), what)
    }
}

/// Measuring sink: counts the bytes that would be written.
#[derive(Debug, Default)]
pub(crate) struct Counter(pub(crate) usize);

impl Sink for Counter {
    #[inline]
    fn put_u8(&mut self, _: u8) {
        self.0 += 1;
    }
    #[inline]
    fn put_u16(&mut self, _: u16) {
        self.0 += 2;
    }
    #[inline]
    fn put_u32(&mut self, _: u32) {
        self.0 += 4;
    }
    #[inline]
    fn put_raw(&mut self, v: &[u8]) {
        self.0 += v.len();
    }
    #[inline]
    fn put_varint(&mut self, v: u32) -> Result<(), EncodeError> {
        if v > VARINT_MAX {
            return Err(EncodeError::VarIntTooLarge(v));
        }
        self.0 += varint_len(v as usize);
        Ok(())
    }
}

impl Sink for BytesMut {
    #[inline]
    fn put_u8(&mut self, v: u8) {
        BufMut::put_u8(self, v);
    }
    #[inline]
    fn put_u16(&mut self, v: u16) {
        BufMut::put_u16(self, v);
    }
    #[inline]
    fn put_u32(&mut self, v: u32) {
        BufMut::put_u32(self, v);
    }
    #[inline]
    fn put_raw(&mut self, v: &[u8]) {
        self.extend_from_slice(v);
    }
    #[inline]
    fn put_varint(&mut self, v: u32) -> Result<(), EncodeError> {
        if v > VARINT_MAX {
            return Err(EncodeError::VarIntTooLarge(v));
        }
        let mut v = v;
        loop {
            let mut byte = (v & 0x7F) as u8;
            v >>= 7;
            if v > 0 {
                byte |= 0x80;
            }
            BufMut::put_u8(self, byte);
            if v == 0 {
                return Ok(());
            }
        }
    }
    /// The measuring pass already checked U+0000; skip the scan when writing.
    #[inline]
    fn put_string(&mut self, v: &str, what: &'static str) -> Result<(), EncodeError> {
        self.put_binary(v.as_bytes(), what)
    }
}

/// Converts a measured length to the `u32` of a variable byte integer.
pub(crate) fn len_u32(len: usize) -> Result<u32, EncodeError> {
    match u32::try_from(len) {
        Ok(v) if v <= VARINT_MAX => Ok(v),
        _ => Err(EncodeError::PacketTooLarge(len)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(b: &'static [u8]) -> Reader {
        Reader::new(Bytes::from_static(b))
    }

    #[test]
    fn varint_boundaries_section_1_5_5() {
        let cases: [(&'static [u8], u32); 8] = [
            (&[0x00], 0),
            (&[0x7F], 127),
            (&[0x80, 0x01], 128),
            (&[0xFF, 0x7F], 16_383),
            (&[0x80, 0x80, 0x01], 16_384),
            (&[0xFF, 0xFF, 0x7F], 2_097_151),
            (&[0x80, 0x80, 0x80, 0x01], 2_097_152),
            (&[0xFF, 0xFF, 0xFF, 0x7F], VARINT_MAX),
        ];
        for (bytes, v) in cases {
            assert_eq!(reader(bytes).varint("v"), Ok(v));
            let mut out = BytesMut::new();
            out.put_varint(v).unwrap();
            assert_eq!(&out[..], bytes);
            let mut c = Counter(0);
            c.put_varint(v).unwrap();
            assert_eq!(c.0, bytes.len());
        }
    }

    #[test]
    fn varint_rejects_five_bytes_and_non_minimal_mqtt_1_5_5_1() {
        let five: &'static [u8] = &[0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        assert_eq!(reader(five).varint("v"), Err(DecodeError::MalformedVarInt));
        assert_eq!(
            reader(&[0x80, 0x00]).varint("v"),
            Err(DecodeError::MalformedVarInt)
        );
        assert_eq!(
            reader(&[0x80]).varint("v"),
            Err(DecodeError::UnexpectedEof("v"))
        );
        assert!(BytesMut::new().put_varint(VARINT_MAX + 1).is_err());
    }

    #[test]
    fn strings_mqtt_1_5_4() {
        assert_eq!(reader(b"\x00\x02hi").string("s").unwrap(), "hi");
        assert_eq!(
            reader(b"\x00\x02h\x00").string("s"),
            Err(DecodeError::NullCharacter)
        );
        // 0xED 0xA0 0x80 is the surrogate U+D800 [MQTT-1.5.4-1].
        assert_eq!(
            reader(b"\x00\x03\xED\xA0\x80").string("s"),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            reader(b"\x00\x05hi").string("s"),
            Err(DecodeError::UnexpectedEof("s"))
        );
        assert_eq!(
            reader(b"\x00").string("s"),
            Err(DecodeError::UnexpectedEof("s"))
        );
    }

    #[test]
    fn writer_checks_lengths() {
        let long = vec![b'a'; 65_536];
        let mut out = BytesMut::new();
        assert_eq!(
            out.put_binary(&long, "x"),
            Err(EncodeError::FieldTooLong("x"))
        );
        assert_eq!(
            Counter(0).put_string("a\0", "x"),
            Err(EncodeError::NullCharacter("x"))
        );
        assert!(out.is_empty());
    }
}
