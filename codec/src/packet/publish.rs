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
            write_block(&self.properties, s)?;
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

/// Whether any byte of the word `v` is 0x00, '+' (0x2B) or '#' (0x23). The two wildcards
/// differ only in bit 3, so `v | 0x08` turns both into 0x2B and one comparison covers them;
/// each half is the classic exact "has a zero byte" test, and one branch judges both.
#[inline(always)]
const fn word_has_forbidden(v: u64) -> bool {
    let w = (v | (LO * 0x08)) ^ (LO * b'+' as u64);
    ((v.wrapping_sub(LO) & !v) | (w.wrapping_sub(LO) & !w)) & HI != 0
}

/// Whether `bytes` contains 0x00, '+' or '#', eight bytes at a time: topics are scanned on
/// every PUBLISH, and a byte loop with three comparisons was the largest decode cost. The
/// tail is checked as the last eight bytes (overlapping the previous word) and a topic
/// shorter than a word is padded with 'a', so there is no byte-by-byte loop at all.
#[inline]
fn has_forbidden_byte(bytes: &[u8]) -> bool {
    let word = |b: &[u8; 8]| word_has_forbidden(u64::from_le_bytes(*b));
    match bytes.last_chunk::<8>() {
        None => {
            let mut padded = [b'a'; 8];
            padded[..bytes.len()].copy_from_slice(bytes);
            word(&padded)
        }
        Some(last) => {
            let mut chunks = bytes.chunks_exact(8);
            chunks.any(|c| c.first_chunk::<8>().is_some_and(word)) || word(last)
        }
    }
}

#[cfg(test)]
mod scan_tests {
    use super::has_forbidden_byte;

    #[test]
    fn forbidden_bytes_found_at_every_position() {
        // Every byte value at every position of every length up to three words, against
        // the plain definition: 0x00 ([MQTT-1.5.4-2]), '+' or '#' ([MQTT-3.3.2-2]).
        for len in 0..25 {
            let clean = vec![b'a'; len];
            assert!(!has_forbidden_byte(&clean), "len {len}");
            for pos in 0..len {
                for byte in 0..=255u8 {
                    let mut v = clean.clone();
                    v[pos] = byte;
                    let expected = matches!(byte, 0 | b'+' | b'#');
                    assert_eq!(
                        has_forbidden_byte(&v),
                        expected,
                        "len {len} pos {pos} {byte:#x}"
                    );
                }
            }
        }
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
