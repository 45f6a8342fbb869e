//! PUBLISH (section 3.3). This is the hot path: the topic is validated in one pass over its
//! bytes and both topic and payload share the input buffer.

use bytes::Bytes;
use bytestring::ByteString;

use super::{PacketType, read_pid};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{PropertyBlock, Props, PublishProperties, write_block};
use crate::topic::{TopicError, TopicName};
use crate::types::{QoS, QosPid, Version};
use crate::wire::{Reader, Sink};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Must be false for QoS 0 ([MQTT-3.3.1-2]).
    pub dup: bool,
    pub qos_pid: QosPid,
    pub retain: bool,
    /// Empty only in MQTT 5 with a Topic Alias (see [`TopicName::empty`]).
    pub topic: TopicName,
    pub payload: Bytes,
    pub properties: Props<PublishProperties>,
}

const DUP: u8 = 0x08;
const RETAIN: u8 = 0x01;

impl Publish {
    /// A PUBLISH with DUP and RETAIN cleared and no properties.
    pub fn new(topic: TopicName, qos_pid: QosPid, payload: impl Into<Bytes>) -> Publish {
        Publish {
            dup: false,
            qos_pid,
            retain: false,
            topic,
            payload: payload.into(),
            properties: Props::none(),
        }
    }

    /// The low nibble of the fixed header: DUP, QoS, RETAIN (section 3.3.1).
    pub(crate) fn flags(&self) -> u8 {
        let mut f = (self.qos_pid.qos() as u8) << 1;
        if self.dup {
            f |= DUP;
        }
        if self.retain {
            f |= RETAIN;
        }
        f
    }

    #[inline(always)]
    pub(crate) fn decode(flags: u8, body: Bytes, version: Version) -> Result<Publish, DecodeError> {
        let qos = QoS::try_from((flags >> 1) & 0x03).map_err(|_| DecodeError::InvalidQoS)?;
        let dup = flags & DUP != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupWithQoS0); // [MQTT-3.3.1-2]
        }
        let mut r = Reader::new(body);
        let raw_topic = r.binary("topic name")?;
        let qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(read_pid(&mut r)?),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(read_pid(&mut r)?),
        };
        let properties = if version.is_v5() && !r.empty_properties() {
            PublishProperties::decode(&mut r)?.into()
        } else {
            Props::none()
        };
        let topic = if raw_topic.is_empty() {
            // MQTT 5 allows an empty topic only with a Topic Alias (section 3.3.2.3.4);
            // 3.x never ([MQTT-4.7.3-1]).
            match (version.is_v5(), properties.topic_alias.is_some()) {
                (true, true) => TopicName::empty(),
                (true, false) => return Err(DecodeError::EmptyTopicWithoutAlias),
                (false, _) => return Err(DecodeError::InvalidTopicName(TopicError::Empty)),
            }
        } else {
            decode_topic(raw_topic)?
        };
        Ok(Publish {
            dup,
            qos_pid,
            retain: flags & RETAIN != 0,
            topic,
            payload: r.rest(),
            properties,
        })
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        if self.dup && self.qos_pid == QosPid::AtMostOnce {
            return Err(EncodeError::DupWithQoS0);
        }
        let v5 = version.is_v5();
        if self.topic.is_empty() && !(v5 && self.properties.topic_alias.is_some()) {
            return Err(EncodeError::EmptyTopicWithoutAlias);
        }
        // The topic was validated when the TopicName was built: no U+0000 scan needed.
        s.put_binary(self.topic.as_bytes(), "topic name")?;
        if let Some(pid) = self.qos_pid.pid() {
            s.put_u16(pid.get());
        }
        if v5 {
            write_block(&*self.properties, s)?;
        } else if !self.properties.is_empty() {
            return Err(EncodeError::PropertiesNotInVersion {
                packet: PacketType::Publish,
                version,
            });
        }
        s.put_raw(&self.payload);
        Ok(())
    }
}

/// One pass for U+0000 ([MQTT-1.5.4-2]) and wildcards ([MQTT-3.3.2-2]), then UTF-8
/// validation in place ([MQTT-1.5.4-1]).
#[inline]
fn decode_topic(raw: Bytes) -> Result<TopicName, DecodeError> {
    if has_forbidden_byte(&raw) {
        let null = raw.contains(&0);
        return Err(if null {
            DecodeError::NullCharacter
        } else {
            DecodeError::InvalidTopicName(TopicError::WildcardInName)
        });
    }
    let s = ByteString::try_from(raw).map_err(|_| DecodeError::InvalidUtf8)?;
    Ok(TopicName::from_validated(s))
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `v` is zero (exact, the classic SWAR test).
#[inline(always)]
const fn has_zero_byte(v: u64) -> bool {
    v.wrapping_sub(LO) & !v & HI != 0
}

/// Whether `bytes` contains 0x00, '+' or '#', eight bytes at a time: topics are scanned on
/// every PUBLISH, and a byte loop with three comparisons was the largest decode cost.
#[inline]
fn has_forbidden_byte(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        if let Some(a) = chunk.first_chunk::<8>() {
            let v = u64::from_le_bytes(*a);
            if has_zero_byte(v)
                || has_zero_byte(v ^ (LO * b'+' as u64))
                || has_zero_byte(v ^ (LO * b'#' as u64))
            {
                return true;
            }
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b == 0 || b == b'+' || b == b'#')
}

#[cfg(test)]
mod scan_tests {
    use super::has_forbidden_byte;

    #[test]
    fn forbidden_bytes_found_at_every_position() {
        for len in 1..40 {
            let clean = vec![b'a'; len];
            assert!(!has_forbidden_byte(&clean));
            for pos in 0..len {
                for bad in [0u8, b'+', b'#'] {
                    let mut v = clean.clone();
                    v[pos] = bad;
                    assert!(has_forbidden_byte(&v), "len {len} pos {pos} byte {bad}");
                }
            }
        }
        // Bytes next to the forbidden values and high bytes are not false positives.
        assert!(!has_forbidden_byte("*,\"$\u{7f}é€😀/ab".as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};
    use crate::types::Pid;

    #[test]
    fn publish_qos1_section_3_3() {
        let p = Publish::new(
            TopicName::new("a/b").unwrap(),
            QosPid::AtLeastOnce(Pid::new(10).unwrap()),
            &b"x"[..],
        );
        assert_vector(
            Version::V3_1_1,
            "32 08 0003 612F62 000A 78",
            p.clone().into(),
        );
        assert_vector(Version::V5, "32 09 0003 612F62 000A 00 78", p.into());
    }

    #[test]
    fn wildcard_topic_mqtt_3_3_2_2() {
        let e = decode_err(Version::V3_1_1, "30 05 0003 612F23");
        assert_eq!(e, DecodeError::InvalidTopicName(TopicError::WildcardInName));
        assert_eq!(
            e.to_string(),
            "invalid topic name: [MQTT-3.3.2-2] topic name contains a wildcard"
        );
    }

    #[test]
    fn dup_on_qos0_is_refused_both_ways_mqtt_3_3_1_2() {
        let mut p = Publish::new(
            TopicName::new("t").unwrap(),
            QosPid::AtMostOnce,
            Bytes::new(),
        );
        p.dup = true;
        assert_eq!(
            crate::encoded_len(&p.into(), Version::V5),
            Err(EncodeError::DupWithQoS0)
        );
    }
}
