//! Byte-level reader and writer of the snapshot body, and the CRC-32 that guards it.
//!
//! Integers are big-endian like MQTT's. Every length read from the file is checked against
//! the bytes that are left before anything is allocated, so a damaged or hostile file can
//! make the loader allocate at most about the file's own size.

use bytes::{BufMut, Bytes, BytesMut};

/// A decoding failure; the caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Malformed {
    pub fn new(what: impl Into<String>) -> Malformed {
        Malformed(what.into())
    }
}

pub type Result<T> = std::result::Result<T, Malformed>;

/// Appends fields to the snapshot body.
#[derive(Debug, Default)]
pub struct Writer {
    pub buf: BytesMut,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.put_u8(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.buf.put_u16(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.put_u32(v);
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.put_u64(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// A count of the items that follow. Counts beyond `u32` cannot be in memory at once.
    pub fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.count(b.len());
        self.buf.put_slice(b);
    }

    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
}

/// Reads fields back, bounds-checked.
#[derive(Debug)]
pub struct Reader {
    buf: Bytes,
    pos: usize,
}

impl Reader {
    pub fn new(buf: Bytes) -> Reader {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<Bytes> {
        if n > self.remaining() {
            return Err(Malformed::new(format!(
                "truncated {what}: needs {n} bytes, {} left",
                self.remaining()
            )));
        }
        let b = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let b = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&b);
        Ok(a)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    pub fn bool(&mut self, what: &str) -> Result<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(Malformed::new(format!("{what}: {v} is not a boolean"))),
        }
    }

    /// A count of items that each take at least `min_item` bytes: larger than what is left
    /// means a damaged file, and is refused before any allocation.
    pub fn count(&mut self, min_item: usize, what: &str) -> Result<usize> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_item.max(1)) > self.remaining() {
            return Err(Malformed::new(format!(
                "{what}: count {n} does not fit in the {} bytes left",
                self.remaining()
            )));
        }
        Ok(n)
    }

    pub fn bytes(&mut self, what: &str) -> Result<Bytes> {
        let n = self.count(1, what)?;
        self.take(n, what)
    }

    pub fn opt_u64(&mut self, what: &str) -> Result<Option<u64>> {
        if self.bool(what)? {
            Ok(Some(self.u64(what)?))
        } else {
            Ok(None)
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as used by zip and PNG.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn round_trip_and_bounds() {
        let mut w = Writer::default();
        w.u8(7);
        w.u16(0x1234);
        w.u32(9);
        w.u64(u64::MAX);
        w.bool(true);
        w.bytes(b"abc");
        w.opt_u64(None);
        w.opt_u64(Some(5));
        let mut r = Reader::new(w.buf.freeze());
        assert_eq!(r.u8("a"), Ok(7));
        assert_eq!(r.u16("b"), Ok(0x1234));
        assert_eq!(r.u32("c"), Ok(9));
        assert_eq!(r.u64("d"), Ok(u64::MAX));
        assert_eq!(r.bool("e"), Ok(true));
        assert_eq!(r.bytes("f").map(|b| b.to_vec()), Ok(b"abc".to_vec()));
        assert_eq!(r.opt_u64("g"), Ok(None));
        assert_eq!(r.opt_u64("h"), Ok(Some(5)));
        assert_eq!(r.remaining(), 0);
        assert!(r.u8("past the end").is_err());
    }

    #[test]
    fn huge_count_is_refused_before_allocating() {
        let mut w = Writer::default();
        w.u32(u32::MAX);
        w.u8(0);
        let mut r = Reader::new(w.buf.freeze());
        assert!(r.bytes("payload").is_err());
    }
}
