//! The fixed header (section 2.1): packet type, flags and Remaining Length. Everything that
//! can be judged from these 2-5 bytes is judged here, before the body is buffered: reserved
//! types, reserved flag bits ([MQTT-2.1.3-1]), QoS 3 ([MQTT-3.3.1-4]), a Remaining Length of
//! more than 4 bytes ([MQTT-1.5.5-1]) and the maximum packet size (section 3.1.2.11.4).

use crate::error::DecodeError;
use crate::packet::PacketType;
use crate::types::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedHeader {
    pub(crate) packet_type: PacketType,
    pub(crate) flags: u8,
    /// Length of the fixed header itself (1 + 1..=4).
    pub(crate) header_len: usize,
    /// Remaining Length: bytes of variable header and payload.
    pub(crate) remaining: usize,
}

/// Parses the fixed header at the start of `buf` without consuming it. `Ok(None)` while the
/// header itself is incomplete.
#[inline]
pub(crate) fn parse(
    buf: &[u8],
    version: Version,
    max_packet_size: u32,
) -> Result<Option<FixedHeader>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let packet_type = check_type_and_flags(first, version)?;
    let mut remaining: usize = 0;
    let mut header_len = 1;
    loop {
        // A fifth length byte is never valid; fail before it even arrives.
        if header_len > 4 {
            return Err(DecodeError::MalformedRemainingLength);
        }
        let Some(&byte) = buf.get(header_len) else {
            return Ok(None);
        };
        // [MQTT-1.5.5-1]: minimum number of bytes, so no trailing zero continuation.
        if header_len > 1 && byte == 0 {
            return Err(DecodeError::MalformedRemainingLength);
        }
        remaining |= usize::from(byte & 0x7F) << (7 * (header_len - 1));
        header_len += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }
    let size = header_len + remaining;
    // At most 5 + 268,435,455 bytes, so the conversion cannot fail.
    let size_u32 = u32::try_from(size).unwrap_or(u32::MAX);
    if size_u32 > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size: size_u32,
            max: max_packet_size,
        });
    }
    Ok(Some(FixedHeader {
        packet_type,
        flags: first & 0x0F,
        header_len,
        remaining,
    }))
}

/// Packet type and the flags nibble (sections 2.1.2 and 2.1.3).
#[inline]
fn check_type_and_flags(first: u8, version: Version) -> Result<PacketType, DecodeError> {
    let raw_type = first >> 4;
    let flags = first & 0x0F;
    let packet_type =
        PacketType::from_u8(raw_type).ok_or(DecodeError::ReservedPacketType(raw_type))?;
    // Type 15 is reserved before MQTT 5.
    if packet_type == PacketType::Auth && !version.is_v5() {
        return Err(DecodeError::PacketNotInVersion {
            packet: packet_type,
            version,
        });
    }
    match packet_type.fixed_flags() {
        Some(expected) if flags != expected => Err(DecodeError::InvalidHeaderFlags {
            packet: packet_type,
            flags,
        }),
        Some(_) => Ok(packet_type),
        None => {
            let qos = (flags >> 1) & 0x03;
            if qos == 3 {
                return Err(DecodeError::InvalidQoS); // [MQTT-3.3.1-4]
            }
            if qos == 0 && flags & 0x08 != 0 {
                return Err(DecodeError::DupWithQoS0); // [MQTT-3.3.1-2]
            }
            Ok(packet_type)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = 268_435_460;

    #[test]
    fn incomplete_headers_are_none() {
        assert_eq!(parse(&[], Version::V5, MAX), Ok(None));
        assert_eq!(parse(&[0x30], Version::V5, MAX), Ok(None));
        assert_eq!(parse(&[0x30, 0x80], Version::V5, MAX), Ok(None));
        assert_eq!(parse(&[0x30, 0xFF, 0xFF, 0xFF], Version::V5, MAX), Ok(None));
    }

    #[test]
    fn remaining_length_five_bytes_mqtt_1_5_5_1() {
        let r = parse(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF], Version::V5, MAX);
        assert_eq!(r, Err(DecodeError::MalformedRemainingLength));
        let r = parse(&[0x30, 0x80, 0x00], Version::V5, MAX);
        assert_eq!(r, Err(DecodeError::MalformedRemainingLength));
    }

    #[test]
    fn largest_remaining_length() {
        let h = parse(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F], Version::V5, MAX)
            .unwrap()
            .unwrap();
        assert_eq!((h.header_len, h.remaining), (5, 268_435_455));
    }

    #[test]
    fn max_packet_size_is_checked_before_the_body_section_3_1_2_11_4() {
        let r = parse(&[0x30, 0x80, 0x01], Version::V5, 100);
        assert_eq!(
            r,
            Err(DecodeError::PacketTooLarge {
                size: 131,
                max: 100
            })
        );
        assert!(parse(&[0x30, 0x62], Version::V5, 100).unwrap().is_some());
    }

    #[test]
    fn reserved_flags_mqtt_2_1_3_1() {
        assert!(matches!(
            parse(&[0x62, 0x02], Version::V3_1_1, MAX),
            Ok(Some(FixedHeader {
                packet_type: PacketType::PubRel,
                ..
            }))
        ));
        assert_eq!(
            parse(&[0x60, 0x02], Version::V3_1_1, MAX),
            Err(DecodeError::InvalidHeaderFlags {
                packet: PacketType::PubRel,
                flags: 0
            })
        );
        assert_eq!(
            parse(&[0xC1, 0x00], Version::V3_1_1, MAX),
            Err(DecodeError::InvalidHeaderFlags {
                packet: PacketType::PingReq,
                flags: 1
            })
        );
        assert_eq!(
            parse(&[0x00, 0x00], Version::V5, MAX),
            Err(DecodeError::ReservedPacketType(0))
        );
        assert_eq!(
            parse(&[0x36, 0x00], Version::V5, MAX),
            Err(DecodeError::InvalidQoS)
        );
        assert_eq!(
            parse(&[0x38, 0x00], Version::V5, MAX),
            Err(DecodeError::DupWithQoS0)
        );
        assert!(matches!(
            parse(&[0xF0, 0x00], Version::V3_1_1, MAX),
            Err(DecodeError::PacketNotInVersion { .. })
        ));
    }
}
