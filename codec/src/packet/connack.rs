//! CONNACK (section 3.2).

use bytes::Bytes;

use super::{PacketType, expect_end};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{ConnAckProperties, PropertyBlock, Props, write_block};
use crate::reason::{ConnectReturnCode, ReasonCode};
use crate::types::Version;
use crate::wire::{Reader, Sink};

/// CONNACK. In 3.x the reason is carried as a [`ConnectReturnCode`]: Success→0,
/// UnsupportedProtocolVersion→1, ClientIdentifierNotValid→2, BadUserNameOrPassword→4,
/// NotAuthorized→5 and any other code→3 (Server unavailable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    pub reason: ReasonCode,
    pub properties: Props<ConnAckProperties>,
}

impl ConnAck {
    /// A CONNACK with the given outcome and no properties.
    pub fn new(session_present: bool, reason: ReasonCode) -> ConnAck {
        ConnAck {
            session_present,
            reason,
            properties: Props::none(),
        }
    }

    pub(crate) fn decode(body: Bytes, version: Version) -> Result<ConnAck, DecodeError> {
        let mut r = Reader::new(body);
        let flags = r.u8("connect acknowledge flags")?;
        // [MQTT-3.2.2-1]: bits 7-1 are reserved and must be 0.
        if flags & 0xFE != 0 {
            return Err(DecodeError::ConnAckReservedFlags(flags));
        }
        let session_present = flags & 0x01 != 0;
        let code = r.u8("connect reason code")?;
        let reason = if version.is_v5() {
            ReasonCode::from_u8(code)
                .filter(|rc| rc.is_valid_for(PacketType::ConnAck))
                .ok_or(DecodeError::InvalidReasonCode {
                    packet: PacketType::ConnAck,
                    code,
                })?
        } else {
            ConnectReturnCode::try_from(code)
                .map_err(DecodeError::InvalidConnectReturnCode)?
                .into()
        };
        // [MQTT-3.2.2-4] (3.1.1) / [MQTT-3.2.2-6] (5.0): a refused connection has no session.
        if session_present && reason.is_error() {
            return Err(DecodeError::SessionPresentOnError);
        }
        let properties = if version.is_v5() {
            ConnAckProperties::decode(&mut r)?.into()
        } else {
            Props::none()
        };
        expect_end(&r, PacketType::ConnAck)?;
        Ok(ConnAck {
            session_present,
            reason,
            properties,
        })
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        let code = if version.is_v5() {
            if !self.reason.is_valid_for(PacketType::ConnAck) {
                return Err(EncodeError::InvalidReasonCode {
                    packet: PacketType::ConnAck,
                    reason: self.reason,
                });
            }
            self.reason.value()
        } else {
            if !self.properties.is_empty() {
                return Err(EncodeError::PropertiesNotInVersion {
                    packet: PacketType::ConnAck,
                    version,
                });
            }
            ConnectReturnCode::from(self.reason) as u8
        };
        if self.session_present && code != 0 {
            return Err(EncodeError::SessionPresentOnError);
        }
        s.put_u8(u8::from(self.session_present));
        s.put_u8(code);
        if version.is_v5() {
            write_block(&self.properties, s)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn connack_v3_return_codes_section_3_2_2_3() {
        let refused = ConnAck::new(false, ReasonCode::BadUserNameOrPassword);
        assert_vector(Version::V3_1_1, "20 02 00 04", refused.into());
        assert_vector(
            Version::V3_1,
            "20 02 00 02",
            ConnAck::new(false, ReasonCode::ClientIdentifierNotValid).into(),
        );
    }

    #[test]
    fn connack_v5_with_assigned_client_id_section_3_2_2_3_7() {
        let ack = ConnAck {
            properties: ConnAckProperties {
                assigned_client_identifier: Some("id".into()),
                ..Default::default()
            }
            .into(),
            ..ConnAck::new(false, ReasonCode::Success)
        };
        assert_vector(Version::V5, "20 08 00 00 05 12 0002 6964", ack.into());
    }

    #[test]
    fn session_present_on_refusal_mqtt_3_2_2_4() {
        assert_eq!(
            decode_err(Version::V5, "20 03 01 80 00"),
            DecodeError::SessionPresentOnError
        );
    }
}
