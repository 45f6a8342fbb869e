//! Small value types shared by every packet: protocol version, QoS, packet identifiers and
//! subscription options. Each type makes an invalid wire state unrepresentable.

use std::fmt;
use std::num::NonZeroU16;

use bytestring::ByteString;

/// User Property list (MQTT 5 property 0x26). Order is significant and names may repeat
/// ([MQTT-3.3.2-18]), hence a `Vec` of pairs rather than a map.
pub type UserProperties = Vec<(ByteString, ByteString)>;

/// Protocol version, from the Protocol Level byte of CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// MQTT 3.1, protocol name `MQIsdp`, level 3.
    V3_1,
    /// MQTT 3.1.1, protocol name `MQTT`, level 4.
    V3_1_1,
    /// MQTT 5.0, protocol name `MQTT`, level 5.
    V5,
}

impl Version {
    /// The Protocol Level byte written in CONNECT.
    pub const fn level(self) -> u8 {
        match self {
            Version::V3_1 => 3,
            Version::V3_1_1 => 4,
            Version::V5 => 5,
        }
    }

    /// Maps a Protocol Level byte to a version; `None` for levels this codec does not speak.
    pub const fn from_level(level: u8) -> Option<Version> {
        match level {
            3 => Some(Version::V3_1),
            4 => Some(Version::V3_1_1),
            5 => Some(Version::V5),
            _ => None,
        }
    }

    /// The Protocol Name that goes with this level ([MQTT-3.1.2-1]).
    pub const fn protocol_name(self) -> &'static str {
        match self {
            Version::V3_1 => "MQIsdp",
            Version::V3_1_1 | Version::V5 => "MQTT",
        }
    }

    /// `true` for MQTT 5, the only version with properties and reason codes.
    pub const fn is_v5(self) -> bool {
        matches!(self, Version::V5)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V3_1 => "3.1",
            Version::V3_1_1 => "3.1.1",
            Version::V5 => "5.0",
        })
    }
}

/// Quality of service. Ordered, so `a.min(b)` gives the QoS granted to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum QoS {
    #[default]
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

/// Returned when a QoS byte is 3 or more ([MQTT-3.3.1-4]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("[MQTT-3.3.1-4] invalid QoS value {0}")]
pub struct InvalidQoS(pub u8);

impl TryFrom<u8> for QoS {
    type Error = InvalidQoS;

    fn try_from(v: u8) -> Result<Self, InvalidQoS> {
        match v {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            other => Err(InvalidQoS(other)),
        }
    }
}

impl From<QoS> for u8 {
    fn from(q: QoS) -> u8 {
        q as u8
    }
}

/// Packet identifier. Zero is not a valid identifier ([MQTT-2.3.1-1], [MQTT-2.2.1-3]), so the
/// type wraps a `NonZeroU16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(NonZeroU16);

impl Pid {
    /// `None` for 0.
    pub const fn new(v: u16) -> Option<Pid> {
        match NonZeroU16::new(v) {
            Some(n) => Some(Pid(n)),
            None => None,
        }
    }

    /// The identifier as a plain integer (never 0).
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    /// The next identifier, wrapping from 65535 to 1 (0 is skipped).
    pub const fn next(self) -> Pid {
        match NonZeroU16::new(self.0.get().wrapping_add(1)) {
            Some(n) => Pid(n),
            None => Pid(NonZeroU16::MIN),
        }
    }
}

impl From<NonZeroU16> for Pid {
    fn from(v: NonZeroU16) -> Pid {
        Pid(v)
    }
}

impl From<Pid> for NonZeroU16 {
    fn from(p: Pid) -> NonZeroU16 {
        p.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// QoS of a PUBLISH together with its packet identifier: a QoS 0 message has no identifier and
/// QoS 1/2 messages always have one ([MQTT-2.3.1-5], [MQTT-2.2.1-2]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPid {
    AtMostOnce,
    AtLeastOnce(Pid),
    ExactlyOnce(Pid),
}

impl QosPid {
    pub const fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    pub const fn pid(self) -> Option<Pid> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(p) | QosPid::ExactlyOnce(p) => Some(p),
        }
    }

    /// Combines a QoS and an identifier; `None` when they disagree (QoS 0 with an identifier,
    /// or QoS 1/2 without one).
    pub const fn from_parts(qos: QoS, pid: Option<Pid>) -> Option<QosPid> {
        match (qos, pid) {
            (QoS::AtMostOnce, None) => Some(QosPid::AtMostOnce),
            (QoS::AtLeastOnce, Some(p)) => Some(QosPid::AtLeastOnce(p)),
            (QoS::ExactlyOnce, Some(p)) => Some(QosPid::ExactlyOnce(p)),
            _ => None,
        }
    }
}

/// MQTT 5 Retain Handling subscription option (bits 4-5 of the options byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    #[default]
    SendAtSubscribe = 0,
    SendIfNewSubscription = 1,
    DoNotSend = 2,
}

impl TryFrom<u8> for RetainHandling {
    type Error = u8;

    /// 3 is a Protocol Error (section 3.8.3.1); the raw value is returned.
    fn try_from(v: u8) -> Result<Self, u8> {
        match v {
            0 => Ok(RetainHandling::SendAtSubscribe),
            1 => Ok(RetainHandling::SendIfNewSubscription),
            2 => Ok(RetainHandling::DoNotSend),
            other => Err(other),
        }
    }
}

/// Per-filter options of SUBSCRIBE. In 3.1/3.1.1 only `qos` exists on the wire; the other
/// fields must keep their defaults to be encodable there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options with the given maximum QoS and every MQTT 5 flag at its default.
    pub fn new(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            ..Default::default()
        }
    }

    /// `true` when only the QoS is set, i.e. the options can be written in 3.1/3.1.1.
    pub fn is_v3_compatible(&self) -> bool {
        !self.no_local
            && !self.retain_as_published
            && self.retain_handling == RetainHandling::SendAtSubscribe
    }

    /// The options byte as sent on the wire (bits 0-5; bits 6-7 reserved, [MQTT-3.8.3-5]).
    pub fn to_byte(&self) -> u8 {
        (self.qos as u8)
            | (u8::from(self.no_local) << 2)
            | (u8::from(self.retain_as_published) << 3)
            | ((self.retain_handling as u8) << 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_zero_is_rejected_mqtt_2_3_1_1() {
        assert!(Pid::new(0).is_none());
        assert_eq!(Pid::new(7).map(Pid::get), Some(7));
    }

    #[test]
    fn pid_next_wraps_and_skips_zero() {
        let last = Pid::new(u16::MAX).unwrap();
        assert_eq!(last.next().get(), 1);
        assert_eq!(Pid::new(1).unwrap().next().get(), 2);
    }

    #[test]
    fn qos_try_from_rejects_3_mqtt_3_3_1_4() {
        assert_eq!(QoS::try_from(2), Ok(QoS::ExactlyOnce));
        assert_eq!(QoS::try_from(3), Err(InvalidQoS(3)));
        assert_eq!(QoS::ExactlyOnce.min(QoS::AtLeastOnce), QoS::AtLeastOnce);
    }

    #[test]
    fn qospid_from_parts_rejects_mismatch() {
        let p = Pid::new(5);
        assert_eq!(QosPid::from_parts(QoS::AtMostOnce, p), None);
        assert_eq!(QosPid::from_parts(QoS::AtLeastOnce, None), None);
        let qp = QosPid::from_parts(QoS::ExactlyOnce, p).unwrap();
        assert_eq!((qp.qos(), qp.pid()), (QoS::ExactlyOnce, p));
    }

    #[test]
    fn version_levels() {
        for v in [Version::V3_1, Version::V3_1_1, Version::V5] {
            assert_eq!(Version::from_level(v.level()), Some(v));
        }
        assert_eq!(Version::from_level(6), None);
        assert_eq!(Version::V3_1.protocol_name(), "MQIsdp");
    }

    #[test]
    fn subscription_options_byte() {
        let o = SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        };
        assert_eq!(o.to_byte(), 0b0010_1101);
        assert!(!o.is_v3_compatible());
        assert!(SubscriptionOptions::new(QoS::ExactlyOnce).is_v3_compatible());
    }
}
