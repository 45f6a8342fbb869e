//! AUTH (section 3.15), MQTT 5 only.

use bytes::Bytes;

use super::{PacketType, expect_end, write_reason_tail};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{AuthProperties, Props};
use crate::reason::ReasonCode;
use crate::types::Version;
use crate::wire::{Reader, Sink};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Success, Continue authentication or Re-authenticate (section 3.15.2.1).
    pub reason: ReasonCode,
    pub properties: Props<AuthProperties>,
}

impl Auth {
    pub(crate) fn decode(body: Bytes, version: Version) -> Result<Auth, DecodeError> {
        if !version.is_v5() {
            // Packet type 15 is reserved before MQTT 5; the header check normally catches it.
            return Err(DecodeError::PacketNotInVersion {
                packet: PacketType::Auth,
                version,
            });
        }
        let mut r = Reader::new(body);
        let mut out = Auth::default();
        // Remaining length 0 means Success without properties (section 3.15.2.1).
        if !r.is_empty() {
            let code = r.u8("reason code")?;
            out.reason = ReasonCode::from_u8(code)
                .filter(|rc| rc.is_valid_for(PacketType::Auth))
                .ok_or(DecodeError::InvalidReasonCode {
                    packet: PacketType::Auth,
                    code,
                })?;
            if !r.is_empty() {
                out.properties = AuthProperties::decode(&mut r)?.into();
            }
        }
        expect_end(&r, PacketType::Auth)?;
        Ok(out)
    }

    pub(crate) fn write<S: Sink>(&self, version: Version, s: &mut S) -> Result<(), EncodeError> {
        if !version.is_v5() {
            return Err(EncodeError::PacketNotInVersion {
                packet: PacketType::Auth,
                version,
            });
        }
        write_reason_tail(PacketType::Auth, self.reason, &self.properties, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn reauthenticate_section_3_15() {
        let a = Auth {
            reason: ReasonCode::ReAuthenticate,
            properties: AuthProperties {
                authentication_method: Some("X".into()),
                authentication_data: Some(Bytes::from_static(b"d")),
                ..Default::default()
            }
            .into(),
        };
        assert_vector(Version::V5, "F0 0A 19 08 15 0001 58 16 0001 64", a.into());
    }

    #[test]
    fn auth_is_v5_only() {
        assert!(matches!(
            decode_err(Version::V3_1, "F0 00"),
            DecodeError::PacketNotInVersion { .. }
        ));
    }
}
