//! UNSUBSCRIBE (section 3.10) and UNSUBACK (section 3.11).

use bytes::Bytes;

use super::{PacketType, expect_end, read_pid};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{AckProperties, PropertyBlock, Props, UnsubscribeProperties, write_block};
use crate::reason::ReasonCode;
use crate::topic::TopicFilter;
use crate::types::{Pid, Version};
use crate::wire::{Reader, Sink};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub pid: Pid,
    /// At least one ([MQTT-3.10.3-2]).
    pub filters: Vec<TopicFilter>,
    pub properties: Props<UnsubscribeProperties>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    pub pid: Pid,
    /// MQTT 5 only (one per filter); empty in 3.x, where UNSUBACK has no payload.
    pub reasons: Vec<ReasonCode>,
    pub properties: Props<AckProperties>,
}

impl Unsubscribe {
    pub(crate) fn decode(body: Bytes, version: Version) -> Result<Unsubscribe, DecodeError> {
        let mut r = Reader::new(body);
        let pid = read_pid(&mut r)?;
        let properties = if version.is_v5() {
            UnsubscribeProperties::decode(&mut r)?.into()
        } else {
            Props::none()
        };
        let mut filters = Vec::new();
        while !r.is_empty() {
            let raw = r.string("topic filter")?;
            filters.push(TopicFilter::new(raw).map_err(DecodeError::InvalidTopicFilter)?);
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyUnsubscribe); // [MQTT-3.10.3-2]
        }
        Ok(Unsubscribe {
            pid,
            filters,
            properties,
        })
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyPayload(PacketType::Unsubscribe));
        }
        s.put_u16(self.pid.get());
        if version.is_v5() {
            write_block(&self.properties, s)?;
        } else if !self.properties.is_empty() {
            return Err(EncodeError::PropertiesNotInVersion {
                packet: PacketType::Unsubscribe,
                version,
            });
        }
        for f in &self.filters {
            s.put_binary(f.as_bytes(), "topic filter")?;
        }
        Ok(())
    }
}

impl UnsubAck {
    pub(crate) fn decode(body: Bytes, version: Version) -> Result<UnsubAck, DecodeError> {
        let mut r = Reader::new(body);
        let pid = read_pid(&mut r)?;
        let mut out = UnsubAck {
            pid,
            reasons: Vec::new(),
            properties: Props::none(),
        };
        if version.is_v5() {
            out.properties = AckProperties::decode(&mut r, PacketType::UnsubAck)?.into();
            // The payload answers an UNSUBSCRIBE, which has at least one filter.
            out.reasons
                .push(decode_code(r.u8("UNSUBACK reason code")?)?);
            while !r.is_empty() {
                out.reasons
                    .push(decode_code(r.u8("UNSUBACK reason code")?)?);
            }
        }
        expect_end(&r, PacketType::UnsubAck)?;
        Ok(out)
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        s.put_u16(self.pid.get());
        if !version.is_v5() {
            if let Some(&reason) = self.reasons.first() {
                return Err(EncodeError::ReasonNotInVersion {
                    packet: PacketType::UnsubAck,
                    reason,
                    version,
                });
            }
            if !self.properties.is_empty() {
                return Err(EncodeError::PropertiesNotInVersion {
                    packet: PacketType::UnsubAck,
                    version,
                });
            }
            return Ok(());
        }
        if self.reasons.is_empty() {
            return Err(EncodeError::EmptyPayload(PacketType::UnsubAck));
        }
        write_block(&self.properties, s)?;
        for &reason in &self.reasons {
            if !reason.is_valid_for(PacketType::UnsubAck) {
                return Err(EncodeError::InvalidReasonCode {
                    packet: PacketType::UnsubAck,
                    reason,
                });
            }
            s.put_u8(reason.value());
        }
        Ok(())
    }
}

fn decode_code(code: u8) -> Result<ReasonCode, DecodeError> {
    ReasonCode::from_u8(code)
        .filter(|rc| rc.is_valid_for(PacketType::UnsubAck))
        .ok_or(DecodeError::InvalidReasonCode {
            packet: PacketType::UnsubAck,
            code,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn unsubscribe_and_unsuback_section_3_10_and_3_11() {
        let un = Unsubscribe {
            pid: Pid::new(3).unwrap(),
            filters: vec![TopicFilter::new("+").unwrap()],
            properties: Props::none(),
        };
        assert_vector(Version::V3_1_1, "A2 05 0003 0001 2B", un.into());
        let ack = UnsubAck {
            pid: Pid::new(3).unwrap(),
            reasons: vec![ReasonCode::NotAuthorized],
            properties: Props::none(),
        };
        assert_vector(Version::V5, "B0 04 0003 00 87", ack.into());
    }

    #[test]
    fn empty_unsubscribe_mqtt_3_10_3_2() {
        assert_eq!(
            decode_err(Version::V3_1_1, "A2 02 0003"),
            DecodeError::EmptyUnsubscribe
        );
    }
}
