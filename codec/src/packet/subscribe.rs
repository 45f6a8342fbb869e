//! SUBSCRIBE (section 3.8) and SUBACK (section 3.9).

use bytes::Bytes;

use super::{PacketType, expect_end, read_pid};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{AckProperties, PropertyBlock, Props, SubscribeProperties, write_block};
use crate::reason::ReasonCode;
use crate::topic::TopicFilter;
use crate::types::{Pid, QoS, RetainHandling, SubscriptionOptions, Version};
use crate::wire::{Reader, Sink};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub pid: Pid,
    /// At least one ([MQTT-3.8.3-3]).
    pub filters: Vec<(TopicFilter, SubscriptionOptions)>,
    pub properties: Props<SubscribeProperties>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub pid: Pid,
    /// One per filter of the SUBSCRIBE. In 3.x only 0x00-0x02 and 0x80 exist; any MQTT 5 error
    /// code is written as 0x80 (decoded back as `UnspecifiedError`).
    pub reasons: Vec<ReasonCode>,
    pub properties: Props<AckProperties>,
}

impl Subscribe {
    pub(crate) fn decode(body: Bytes, version: Version) -> Result<Subscribe, DecodeError> {
        let mut r = Reader::new(body);
        let pid = read_pid(&mut r)?;
        let properties = if version.is_v5() {
            SubscribeProperties::decode(&mut r)?.into()
        } else {
            Props::none()
        };
        let mut filters = Vec::new();
        while !r.is_empty() {
            let raw = r.string("topic filter")?;
            let filter = TopicFilter::new(raw).map_err(DecodeError::InvalidTopicFilter)?;
            let opts = decode_options(r.u8("subscription options")?, version)?;
            // [MQTT-3.8.3-4]: No Local on a shared subscription is a Protocol Error.
            if opts.no_local && filter.shared().is_some() {
                return Err(DecodeError::NoLocalOnSharedSubscription);
            }
            filters.push((filter, opts));
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptySubscribe); // [MQTT-3.8.3-3]
        }
        Ok(Subscribe {
            pid,
            filters,
            properties,
        })
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyPayload(PacketType::Subscribe));
        }
        s.put_u16(self.pid.get());
        let v5 = version.is_v5();
        if v5 {
            write_block(&self.properties, s)?;
        } else if !self.properties.is_empty() {
            return Err(EncodeError::PropertiesNotInVersion {
                packet: PacketType::Subscribe,
                version,
            });
        }
        for (filter, opts) in &self.filters {
            if !v5 && !opts.is_v3_compatible() {
                return Err(EncodeError::SubscriptionOptionsNotInVersion {
                    packet: PacketType::Subscribe,
                    version,
                });
            }
            if opts.no_local && filter.shared().is_some() {
                return Err(EncodeError::NoLocalOnSharedSubscription);
            }
            s.put_binary(filter.as_bytes(), "topic filter")?;
            s.put_u8(opts.to_byte());
        }
        Ok(())
    }
}

/// Subscription options byte. 3.x: only the QoS bits, the rest reserved ([MQTT-3.8.3-4] of
/// 3.1.1). 5.0: bits 6-7 reserved ([MQTT-3.8.3-5]); QoS 3 is malformed and Retain Handling 3
/// a Protocol Error (section 3.8.3.1).
fn decode_options(b: u8, version: Version) -> Result<SubscriptionOptions, DecodeError> {
    let reserved = if version.is_v5() { 0xC0 } else { 0xFC };
    let bad = DecodeError::InvalidSubscriptionOptions(b);
    if b & reserved != 0 {
        return Err(bad);
    }
    let qos = QoS::try_from(b & 0x03).map_err(|_| bad.clone())?;
    let retain_handling = RetainHandling::try_from((b >> 4) & 0x03).map_err(|_| bad)?;
    Ok(SubscriptionOptions {
        qos,
        no_local: b & 0x04 != 0,
        retain_as_published: b & 0x08 != 0,
        retain_handling,
    })
}

impl SubAck {
    pub(crate) fn decode(body: Bytes, version: Version) -> Result<SubAck, DecodeError> {
        let mut r = Reader::new(body);
        let pid = read_pid(&mut r)?;
        let properties = if version.is_v5() {
            AckProperties::decode(&mut r, PacketType::SubAck)?.into()
        } else {
            Props::none()
        };
        // The payload answers a SUBSCRIBE, which has at least one filter.
        let mut reasons = vec![decode_code(r.u8("SUBACK reason code")?, version)?];
        while !r.is_empty() {
            reasons.push(decode_code(r.u8("SUBACK reason code")?, version)?);
        }
        expect_end(&r, PacketType::SubAck)?;
        Ok(SubAck {
            pid,
            reasons,
            properties,
        })
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        if self.reasons.is_empty() {
            return Err(EncodeError::EmptyPayload(PacketType::SubAck));
        }
        s.put_u16(self.pid.get());
        let v5 = version.is_v5();
        if v5 {
            write_block(&self.properties, s)?;
        } else if !self.properties.is_empty() {
            return Err(EncodeError::PropertiesNotInVersion {
                packet: PacketType::SubAck,
                version,
            });
        }
        for &reason in &self.reasons {
            if !reason.is_valid_for(PacketType::SubAck) {
                return Err(EncodeError::InvalidReasonCode {
                    packet: PacketType::SubAck,
                    reason,
                });
            }
            // 3.x has a single failure code, 0x80 ([MQTT-3.9.3-2]).
            let code = if !v5 && reason.is_error() {
                0x80
            } else {
                reason.value()
            };
            s.put_u8(code);
        }
        Ok(())
    }
}

/// [MQTT-3.9.3-2]: 3.x SUBACK return codes other than 0x00, 0x01, 0x02, 0x80 are reserved.
fn decode_code(code: u8, version: Version) -> Result<ReasonCode, DecodeError> {
    let err = DecodeError::InvalidReasonCode {
        packet: PacketType::SubAck,
        code,
    };
    let rc = ReasonCode::from_u8(code).ok_or(err.clone())?;
    let ok = if version.is_v5() {
        rc.is_valid_for(PacketType::SubAck)
    } else {
        matches!(code, 0x00 | 0x01 | 0x02 | 0x80)
    };
    if ok { Ok(rc) } else { Err(err) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn subscribe_and_suback_section_3_8_and_3_9() {
        let sub = Subscribe {
            pid: Pid::new(2).unwrap(),
            filters: vec![(
                TopicFilter::new("a/#").unwrap(),
                SubscriptionOptions::new(QoS::ExactlyOnce),
            )],
            properties: Props::none(),
        };
        assert_vector(Version::V3_1_1, "82 08 0002 0003 612F23 02", sub.into());
        let ack = SubAck {
            pid: Pid::new(2).unwrap(),
            reasons: vec![ReasonCode::GrantedQoS2],
            properties: Props::none(),
        };
        assert_vector(Version::V5, "90 04 0002 00 02", ack.into());
    }

    #[test]
    fn empty_subscribe_mqtt_3_8_3_3() {
        assert_eq!(
            decode_err(Version::V5, "82 03 0002 00"),
            DecodeError::EmptySubscribe
        );
    }
}
