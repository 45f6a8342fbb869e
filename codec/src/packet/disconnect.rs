//! DISCONNECT (section 3.14).

use bytes::Bytes;

use super::{PacketType, expect_end, write_reason_tail};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{DisconnectProperties, PropertyBlock, Props};
use crate::reason::ReasonCode;
use crate::types::Version;
use crate::wire::{Reader, Sink};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// Always `NormalDisconnection` (0x00) in 3.x, where DISCONNECT has no body.
    pub reason: ReasonCode,
    pub properties: Props<DisconnectProperties>,
}

impl Disconnect {
    pub fn new(reason: ReasonCode) -> Disconnect {
        Disconnect {
            reason,
            properties: Props::none(),
        }
    }

    pub(crate) fn decode(body: Bytes, version: Version) -> Result<Disconnect, DecodeError> {
        let mut r = Reader::new(body);
        let mut out = Disconnect::default();
        // MQTT 5: remaining length 0 means Normal disconnection, 1 means no properties
        // (section 3.14.2.1 and 3.14.2.2.1). 3.x DISCONNECT has no variable header.
        if version.is_v5() && !r.is_empty() {
            let code = r.u8("reason code")?;
            out.reason = ReasonCode::from_u8(code)
                .filter(|rc| rc.is_valid_for(PacketType::Disconnect))
                .ok_or(DecodeError::InvalidReasonCode {
                    packet: PacketType::Disconnect,
                    code,
                })?;
            if !r.is_empty() {
                out.properties = DisconnectProperties::decode(&mut r)?.into();
            }
        }
        expect_end(&r, PacketType::Disconnect)?;
        Ok(out)
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        let ty = PacketType::Disconnect;
        if !version.is_v5() {
            if self.reason != ReasonCode::Success {
                return Err(EncodeError::ReasonNotInVersion {
                    packet: ty,
                    reason: self.reason,
                    version,
                });
            }
            if !self.properties.is_empty() {
                return Err(EncodeError::PropertiesNotInVersion {
                    packet: ty,
                    version,
                });
            }
            return Ok(());
        }
        write_reason_tail(ty, self.reason, &self.properties, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn disconnect_with_will_section_3_14_2_1() {
        assert_vector(
            Version::V5,
            "E0 01 04",
            Disconnect::new(ReasonCode::DisconnectWithWillMessage).into(),
        );
        assert_vector(Version::V3_1, "E0 00", Disconnect::default().into());
    }

    #[test]
    fn connack_only_code_is_invalid_section_3_14_2_1() {
        let e = decode_err(Version::V5, "E0 01 84");
        assert_eq!(
            e,
            DecodeError::InvalidReasonCode {
                packet: PacketType::Disconnect,
                code: 0x84
            }
        );
    }
}
