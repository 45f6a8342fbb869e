//! MQTT 5 reason codes (section 2.4) and the MQTT 3.x CONNACK return codes, with the table of
//! which packet may carry which code.

use std::fmt;

use crate::packet::PacketType;

macro_rules! reason_codes {
    ($($name:ident = $val:literal, $text:literal;)*) => {
        /// MQTT 5 reason code. `0x00` has three names in the specification (Success, Normal
        /// disconnection, Granted QoS 0); the enum variant is `Success` and the other two are
        /// associated constants, usable in expressions and patterns.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum ReasonCode {
            $($name = $val,)*
        }

        impl ReasonCode {
            /// Parses a reason code byte; `None` for values the specification does not define.
            pub const fn from_u8(v: u8) -> Option<ReasonCode> {
                match v {
                    $($val => Some(ReasonCode::$name),)*
                    _ => None,
                }
            }

            /// The description used by the specification's reason code table.
            pub const fn description(self) -> &'static str {
                match self {
                    $(ReasonCode::$name => $text,)*
                }
            }
        }
    };
}

reason_codes! {
    Success = 0x00, "success";
    GrantedQoS1 = 0x01, "granted QoS 1";
    GrantedQoS2 = 0x02, "granted QoS 2";
    DisconnectWithWillMessage = 0x04, "disconnect with will message";
    NoMatchingSubscribers = 0x10, "no matching subscribers";
    NoSubscriptionExisted = 0x11, "no subscription existed";
    ContinueAuthentication = 0x18, "continue authentication";
    ReAuthenticate = 0x19, "re-authenticate";
    UnspecifiedError = 0x80, "unspecified error";
    MalformedPacket = 0x81, "malformed packet";
    ProtocolError = 0x82, "protocol error";
    ImplementationSpecificError = 0x83, "implementation specific error";
    UnsupportedProtocolVersion = 0x84, "unsupported protocol version";
    ClientIdentifierNotValid = 0x85, "client identifier not valid";
    BadUserNameOrPassword = 0x86, "bad user name or password";
    NotAuthorized = 0x87, "not authorized";
    ServerUnavailable = 0x88, "server unavailable";
    ServerBusy = 0x89, "server busy";
    Banned = 0x8A, "banned";
    ServerShuttingDown = 0x8B, "server shutting down";
    BadAuthenticationMethod = 0x8C, "bad authentication method";
    KeepAliveTimeout = 0x8D, "keep alive timeout";
    SessionTakenOver = 0x8E, "session taken over";
    TopicFilterInvalid = 0x8F, "topic filter invalid";
    TopicNameInvalid = 0x90, "topic name invalid";
    PacketIdentifierInUse = 0x91, "packet identifier in use";
    PacketIdentifierNotFound = 0x92, "packet identifier not found";
    ReceiveMaximumExceeded = 0x93, "receive maximum exceeded";
    TopicAliasInvalid = 0x94, "topic alias invalid";
    PacketTooLarge = 0x95, "packet too large";
    MessageRateTooHigh = 0x96, "message rate too high";
    QuotaExceeded = 0x97, "quota exceeded";
    AdministrativeAction = 0x98, "administrative action";
    PayloadFormatInvalid = 0x99, "payload format invalid";
    RetainNotSupported = 0x9A, "retain not supported";
    QoSNotSupported = 0x9B, "QoS not supported";
    UseAnotherServer = 0x9C, "use another server";
    ServerMoved = 0x9D, "server moved";
    SharedSubscriptionsNotSupported = 0x9E, "shared subscriptions not supported";
    ConnectionRateExceeded = 0x9F, "connection rate exceeded";
    MaximumConnectTime = 0xA0, "maximum connect time";
    SubscriptionIdentifiersNotSupported = 0xA1, "subscription identifiers not supported";
    WildcardSubscriptionsNotSupported = 0xA2, "wildcard subscriptions not supported";
}

#[allow(non_upper_case_globals)]
impl ReasonCode {
    /// `0x00` as used by DISCONNECT.
    pub const NormalDisconnection: ReasonCode = ReasonCode::Success;
    /// `0x00` as used by SUBACK.
    pub const GrantedQoS0: ReasonCode = ReasonCode::Success;

    /// The byte written on the wire.
    pub const fn value(self) -> u8 {
        self as u8
    }

    /// Codes `0x80` and above indicate failure (section 2.4).
    pub const fn is_error(self) -> bool {
        (self as u8) >= 0x80
    }

    /// The SUBACK code granting `qos`.
    pub const fn granted(qos: crate::QoS) -> ReasonCode {
        match qos {
            crate::QoS::AtMostOnce => ReasonCode::Success,
            crate::QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
            crate::QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
        }
    }

    /// Whether the MQTT 5 specification allows this code in a packet of type `packet`
    /// (the "Packets" column of the reason code table, section 2.4, and each packet's
    /// reason code list). PINGREQ/PINGRESP/CONNECT carry no reason code.
    pub fn is_valid_for(self, packet: PacketType) -> bool {
        use ReasonCode as R;
        let v = self as u8;
        match packet {
            PacketType::ConnAck => matches!(
                self,
                R::Success
                    | R::UnspecifiedError
                    | R::MalformedPacket
                    | R::ProtocolError
                    | R::ImplementationSpecificError
                    | R::UnsupportedProtocolVersion
                    | R::ClientIdentifierNotValid
                    | R::BadUserNameOrPassword
                    | R::NotAuthorized
                    | R::ServerUnavailable
                    | R::ServerBusy
                    | R::Banned
                    | R::BadAuthenticationMethod
                    | R::TopicNameInvalid
                    | R::PacketTooLarge
                    | R::QuotaExceeded
                    | R::PayloadFormatInvalid
                    | R::RetainNotSupported
                    | R::QoSNotSupported
                    | R::UseAnotherServer
                    | R::ServerMoved
                    | R::ConnectionRateExceeded
            ),
            PacketType::PubAck | PacketType::PubRec => matches!(
                self,
                R::Success
                    | R::NoMatchingSubscribers
                    | R::UnspecifiedError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::TopicNameInvalid
                    | R::PacketIdentifierInUse
                    | R::QuotaExceeded
                    | R::PayloadFormatInvalid
            ),
            PacketType::PubRel | PacketType::PubComp => {
                matches!(self, R::Success | R::PacketIdentifierNotFound)
            }
            PacketType::SubAck => matches!(
                self,
                R::Success
                    | R::GrantedQoS1
                    | R::GrantedQoS2
                    | R::UnspecifiedError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::TopicFilterInvalid
                    | R::PacketIdentifierInUse
                    | R::QuotaExceeded
                    | R::SharedSubscriptionsNotSupported
                    | R::SubscriptionIdentifiersNotSupported
                    | R::WildcardSubscriptionsNotSupported
            ),
            PacketType::UnsubAck => matches!(
                self,
                R::Success
                    | R::NoSubscriptionExisted
                    | R::UnspecifiedError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::TopicFilterInvalid
                    | R::PacketIdentifierInUse
            ),
            // DISCONNECT allows 0x00, 0x04 and every error from 0x80 except the CONNACK-only ones.
            PacketType::Disconnect => {
                self == R::Success
                    || self == R::DisconnectWithWillMessage
                    || (v >= 0x80
                        && !matches!(
                            self,
                            R::UnsupportedProtocolVersion
                                | R::ClientIdentifierNotValid
                                | R::BadUserNameOrPassword
                                | R::ServerUnavailable
                                | R::Banned
                                | R::BadAuthenticationMethod
                                | R::PacketIdentifierInUse
                                | R::PacketIdentifierNotFound
                        ))
            }
            PacketType::Auth => {
                matches!(
                    self,
                    R::Success | R::ContinueAuthentication | R::ReAuthenticate
                )
            }
            PacketType::Connect
            | PacketType::Publish
            | PacketType::Subscribe
            | PacketType::Unsubscribe
            | PacketType::PingReq
            | PacketType::PingResp => false,
        }
    }
}

impl Default for ReasonCode {
    /// `Success` / `NormalDisconnection` / `GrantedQoS0`.
    fn default() -> ReasonCode {
        ReasonCode::Success
    }
}

impl TryFrom<u8> for ReasonCode {
    type Error = u8;

    fn try_from(v: u8) -> Result<Self, u8> {
        ReasonCode::from_u8(v).ok_or(v)
    }
}

impl From<ReasonCode> for u8 {
    fn from(r: ReasonCode) -> u8 {
        r as u8
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X} {}", *self as u8, self.description())
    }
}

/// MQTT 3.1 / 3.1.1 CONNACK return code (section 3.2.2.3 of 3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConnectReturnCode {
    Accepted = 0,
    UnacceptableProtocolVersion = 1,
    IdentifierRejected = 2,
    ServerUnavailable = 3,
    BadUserNameOrPassword = 4,
    NotAuthorized = 5,
}

impl TryFrom<u8> for ConnectReturnCode {
    type Error = u8;

    /// Values 6-255 are reserved (3.1.1 table 3.1); the raw value is returned.
    fn try_from(v: u8) -> Result<Self, u8> {
        Ok(match v {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUserNameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            other => return Err(other),
        })
    }
}

impl From<ConnectReturnCode> for ReasonCode {
    fn from(c: ConnectReturnCode) -> ReasonCode {
        match c {
            ConnectReturnCode::Accepted => ReasonCode::Success,
            ConnectReturnCode::UnacceptableProtocolVersion => {
                ReasonCode::UnsupportedProtocolVersion
            }
            ConnectReturnCode::IdentifierRejected => ReasonCode::ClientIdentifierNotValid,
            ConnectReturnCode::ServerUnavailable => ReasonCode::ServerUnavailable,
            ConnectReturnCode::BadUserNameOrPassword => ReasonCode::BadUserNameOrPassword,
            ConnectReturnCode::NotAuthorized => ReasonCode::NotAuthorized,
        }
    }
}

impl From<ReasonCode> for ConnectReturnCode {
    /// Lossy: every MQTT 5 code without a 3.x equivalent becomes `ServerUnavailable`, the
    /// closest generic refusal 3.x has.
    fn from(r: ReasonCode) -> ConnectReturnCode {
        match r {
            ReasonCode::Success => ConnectReturnCode::Accepted,
            ReasonCode::UnsupportedProtocolVersion => {
                ConnectReturnCode::UnacceptableProtocolVersion
            }
            ReasonCode::ClientIdentifierNotValid => ConnectReturnCode::IdentifierRejected,
            ReasonCode::BadUserNameOrPassword => ConnectReturnCode::BadUserNameOrPassword,
            ReasonCode::NotAuthorized => ConnectReturnCode::NotAuthorized,
            _ => ConnectReturnCode::ServerUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_code_round_trips() {
        let mut n = 0;
        for v in 0..=u8::MAX {
            if let Some(r) = ReasonCode::from_u8(v) {
                assert_eq!(r.value(), v);
                n += 1;
            }
        }
        assert_eq!(n, 43);
        assert_eq!(ReasonCode::from_u8(0x03), None);
    }

    #[test]
    fn aliases_are_success() {
        assert_eq!(ReasonCode::NormalDisconnection, ReasonCode::Success);
        assert!(matches!(ReasonCode::Success, ReasonCode::GrantedQoS0));
    }

    #[test]
    fn packet_tables() {
        assert!(ReasonCode::GrantedQoS2.is_valid_for(PacketType::SubAck));
        assert!(!ReasonCode::GrantedQoS2.is_valid_for(PacketType::PubAck));
        assert!(ReasonCode::PacketIdentifierNotFound.is_valid_for(PacketType::PubRel));
        assert!(!ReasonCode::NoMatchingSubscribers.is_valid_for(PacketType::PubComp));
        assert!(ReasonCode::SessionTakenOver.is_valid_for(PacketType::Disconnect));
        assert!(!ReasonCode::Banned.is_valid_for(PacketType::Disconnect));
        assert!(ReasonCode::ReAuthenticate.is_valid_for(PacketType::Auth));
        assert!(!ReasonCode::Success.is_valid_for(PacketType::PingReq));
    }

    #[test]
    fn v3_return_code_mapping() {
        assert_eq!(
            ConnectReturnCode::from(ReasonCode::QuotaExceeded),
            ConnectReturnCode::ServerUnavailable
        );
        for c in 0..=5u8 {
            let rc = ConnectReturnCode::try_from(c).unwrap();
            assert_eq!(ConnectReturnCode::from(ReasonCode::from(rc)), rc);
        }
        assert_eq!(ConnectReturnCode::try_from(6), Err(6));
    }
}
