//! PUBACK, PUBREC, PUBREL and PUBCOMP (sections 3.4-3.7): one struct, four packet types.

use bytes::Bytes;

use super::{PacketType, expect_end, read_pid, write_reason_tail};
use crate::error::{DecodeError, EncodeError};
use crate::properties::{AckProperties, PropertyBlock, Props};
use crate::reason::ReasonCode;
use crate::types::{Pid, Version};
use crate::wire::{Reader, Sink};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubResp {
    pub pid: Pid,
    /// Always `Success` in 3.x.
    pub reason: ReasonCode,
    pub properties: Props<AckProperties>,
}

impl PubResp {
    /// A successful acknowledgement without properties.
    pub fn new(pid: Pid) -> PubResp {
        PubResp {
            pid,
            reason: ReasonCode::Success,
            properties: Props::none(),
        }
    }

    pub(crate) fn decode(
        ty: PacketType,
        body: Bytes,
        version: Version,
    ) -> Result<PubResp, DecodeError> {
        let mut r = Reader::new(body);
        let pid = read_pid(&mut r)?;
        let mut out = PubResp::new(pid);
        // MQTT 5 short forms (section 3.4.2.1): remaining length 2 means Success without
        // properties, remaining length 3 means a reason code without properties.
        if version.is_v5() && !r.is_empty() {
            let code = r.u8("reason code")?;
            out.reason = ReasonCode::from_u8(code)
                .filter(|rc| rc.is_valid_for(ty))
                .ok_or(DecodeError::InvalidReasonCode { packet: ty, code })?;
            if !r.is_empty() {
                out.properties = AckProperties::decode(&mut r, ty)?.into();
            }
        }
        expect_end(&r, ty)?;
        Ok(out)
    }

    pub(crate) fn write<S: Sink>(
        &self,
        ty: PacketType,
        version: Version,
        s: &mut S,
    ) -> Result<(), EncodeError> {
        s.put_u16(self.pid.get());
        if version.is_v5() {
            return write_reason_tail(ty, self.reason, &self.properties, s);
        }
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Packet;
    use crate::packet::test_util::{assert_vector, decode_err};

    #[test]
    fn short_forms_section_3_4_2_1() {
        let pid = Pid::new(1).unwrap();
        assert_vector(
            Version::V5,
            "70 02 0001",
            Packet::PubComp(PubResp::new(pid)),
        );
        let nf = PubResp {
            reason: ReasonCode::PacketIdentifierNotFound,
            ..PubResp::new(pid)
        };
        assert_vector(Version::V5, "70 03 0001 92", Packet::PubComp(nf));
    }

    #[test]
    fn zero_packet_id_mqtt_2_3_1_1() {
        assert_eq!(
            decode_err(Version::V3_1_1, "50 02 0000"),
            DecodeError::ZeroPacketId
        );
    }
}
