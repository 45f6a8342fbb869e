//! Decode and encode errors. Every decode error message cites the normative statement it
//! enforces, and [`DecodeError::reason_code`] gives the MQTT 5 reason code a receiver should
//! use when it closes the connection (section 4.13).

use crate::packet::PacketType;
use crate::properties::PropertyId;
use crate::reason::ReasonCode;
use crate::topic::TopicError;
use crate::types::Version;

/// Why the input is not a valid MQTT packet. After any error the connection must be closed
/// ([MQTT-4.8.0-1] in 3.1.1, section 4.13 in 5.0); the buffer content is unspecified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    // ---- fixed header --------------------------------------------------------------------
    #[error("packet type {0} is reserved (section 2.1.2)")]
    ReservedPacketType(u8),
    #[error("[MQTT-2.1.3-1] invalid fixed header flags {flags:#06b} for {packet}")]
    InvalidHeaderFlags { packet: PacketType, flags: u8 },
    #[error("[MQTT-1.5.5-1] remaining length is longer than 4 bytes or not minimally encoded")]
    MalformedRemainingLength,
    #[error("[MQTT-3.2.2-15] packet of {size} bytes exceeds the maximum packet size {max}")]
    PacketTooLarge { size: u32, max: u32 },

    // ---- generic field errors --------------------------------------------------------------
    #[error("packet ends inside {0}: malformed remaining length (section 2.1.4)")]
    UnexpectedEof(&'static str),
    #[error(
        "{packet} has {count} bytes after its last field: malformed remaining length (section 2.1.4)"
    )]
    TrailingBytes { packet: PacketType, count: usize },
    #[error("[MQTT-1.5.5-1] variable byte integer is longer than 4 bytes or not minimally encoded")]
    MalformedVarInt,
    #[error("[MQTT-1.5.4-1] string is not well-formed UTF-8")]
    InvalidUtf8,
    #[error("[MQTT-1.5.4-2] string contains U+0000")]
    NullCharacter,
    #[error("[MQTT-2.3.1-1] / [MQTT-2.2.1-3] packet identifier is 0")]
    ZeroPacketId,

    // ---- CONNECT / CONNACK ----------------------------------------------------------------
    #[error("[MQTT-3.1.2-1] protocol name is not \"MQTT\" or \"MQIsdp\"")]
    InvalidProtocolName,
    #[error("[MQTT-3.1.2-2] unsupported protocol level {level}")]
    UnsupportedProtocolVersion { level: u8 },
    #[error("[MQTT-3.1.2-3] CONNECT reserved flag is set")]
    ConnectReservedFlag,
    #[error("[MQTT-3.1.2-11] will QoS or will retain set without the will flag")]
    WillFlagsWithoutWill,
    #[error("[MQTT-3.1.2-14] will QoS is 3")]
    InvalidWillQoS,
    #[error("[MQTT-3.1.2-22] password flag set without the user name flag")]
    PasswordWithoutUsername,
    #[error("[MQTT-3.2.2-1] CONNACK acknowledge flags {0:#04x} have reserved bits set")]
    ConnAckReservedFlags(u8),
    #[error("[MQTT-3.2.2-4] session present set on a refused connection")]
    SessionPresentOnError,
    #[error("CONNACK return code {0} is reserved (3.1.1 section 3.2.2.3)")]
    InvalidConnectReturnCode(u8),

    // ---- PUBLISH -----------------------------------------------------------------------------
    #[error("[MQTT-3.3.1-4] QoS 3 in PUBLISH")]
    InvalidQoS,
    #[error("[MQTT-3.3.1-2] DUP flag set on a QoS 0 PUBLISH")]
    DupWithQoS0,
    #[error("invalid topic name: {0}")]
    InvalidTopicName(TopicError),
    #[error("zero-length topic name without a Topic Alias (section 3.3.2.3.4)")]
    EmptyTopicWithoutAlias,

    // ---- SUBSCRIBE / UNSUBSCRIBE / acks --------------------------------------------------------
    #[error("invalid topic filter: {0}")]
    InvalidTopicFilter(TopicError),
    #[error("[MQTT-3.8.3-3] SUBSCRIBE contains no topic filter")]
    EmptySubscribe,
    #[error("[MQTT-3.10.3-2] UNSUBSCRIBE contains no topic filter")]
    EmptyUnsubscribe,
    #[error(
        "[MQTT-3-8.3-4] / [MQTT-3.8.3-5] subscription options {0:#04x} have reserved bits set or QoS/Retain Handling 3"
    )]
    InvalidSubscriptionOptions(u8),
    #[error("[MQTT-3.8.3-4] No Local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    #[error(
        "{packet} carries reason code {code:#04x}, which is not allowed there (section 2.4, [MQTT-3.9.3-2])"
    )]
    InvalidReasonCode { packet: PacketType, code: u8 },

    // ---- MQTT 5 properties ---------------------------------------------------------------
    #[error("unknown property identifier {0:#04x} (section 2.2.2.2)")]
    UnknownProperty(u32),
    #[error("property {property} is not allowed in {packet} (section 2.2.2.2)")]
    PropertyNotAllowed {
        property: PropertyId,
        packet: PacketType,
    },
    #[error("property {0} appears more than once (section 2.2.2.2)")]
    DuplicateProperty(PropertyId),
    #[error("property {0} has an invalid value (section 3, property definitions)")]
    InvalidPropertyValue(PropertyId),
    #[error("Authentication Data without Authentication Method (section 3.1.2.11.10)")]
    AuthDataWithoutMethod,

    // ---- version ------------------------------------------------------------------------------
    #[error("{packet} does not exist in MQTT {version} (section 2.1.2)")]
    PacketNotInVersion {
        packet: PacketType,
        version: Version,
    },
}

impl DecodeError {
    /// The MQTT 5 reason code to send in CONNACK or DISCONNECT when closing the connection
    /// because of this error (0x81 malformed packet, 0x82 protocol error, 0x84 unsupported
    /// protocol version, 0x8F/0x90 invalid topic filter/name, 0x95 packet too large).
    pub fn reason_code(&self) -> ReasonCode {
        use DecodeError as E;
        match self {
            E::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            E::UnsupportedProtocolVersion { .. } | E::InvalidProtocolName => {
                ReasonCode::UnsupportedProtocolVersion
            }
            E::InvalidTopicName(_) | E::EmptyTopicWithoutAlias => ReasonCode::TopicNameInvalid,
            // [MQTT-3.3.2-8]: a Topic Alias of 0 is answered like an alias above the maximum.
            E::InvalidPropertyValue(PropertyId::TopicAlias) => ReasonCode::TopicAliasInvalid,
            E::InvalidTopicFilter(_) => ReasonCode::TopicFilterInvalid,
            E::ZeroPacketId
            | E::DupWithQoS0
            | E::EmptySubscribe
            | E::EmptyUnsubscribe
            | E::NoLocalOnSharedSubscription
            | E::DuplicateProperty(_)
            | E::InvalidPropertyValue(_)
            | E::AuthDataWithoutMethod
            | E::PasswordWithoutUsername
            | E::SessionPresentOnError => ReasonCode::ProtocolError,
            E::ReservedPacketType(_)
            | E::InvalidHeaderFlags { .. }
            | E::MalformedRemainingLength
            | E::UnexpectedEof(_)
            | E::TrailingBytes { .. }
            | E::MalformedVarInt
            | E::InvalidUtf8
            | E::NullCharacter
            | E::ConnectReservedFlag
            | E::WillFlagsWithoutWill
            | E::InvalidWillQoS
            | E::ConnAckReservedFlags(_)
            | E::InvalidConnectReturnCode(_)
            | E::InvalidQoS
            | E::InvalidSubscriptionOptions(_)
            | E::InvalidReasonCode { .. }
            | E::UnknownProperty(_)
            | E::PropertyNotAllowed { .. }
            | E::PacketNotInVersion { .. } => ReasonCode::MalformedPacket,
        }
    }
}

/// Why a packet cannot be written for the requested protocol version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("{0} is longer than 65535 bytes (section 1.5.4)")]
    FieldTooLong(&'static str),
    #[error("[MQTT-1.5.4-2] {0} contains U+0000")]
    NullCharacter(&'static str),
    #[error("remaining length {0} exceeds 268435455 (section 1.5.5)")]
    PacketTooLarge(usize),
    #[error("variable byte integer {0} exceeds 268435455 (section 1.5.5)")]
    VarIntTooLarge(u32),
    #[error("{packet} does not exist in MQTT {version}")]
    PacketNotInVersion {
        packet: PacketType,
        version: Version,
    },
    #[error("{packet} has MQTT 5 properties, which MQTT {version} cannot carry")]
    PropertiesNotInVersion {
        packet: PacketType,
        version: Version,
    },
    #[error("{packet} has reason code {reason}, which MQTT {version} cannot carry")]
    ReasonNotInVersion {
        packet: PacketType,
        reason: ReasonCode,
        version: Version,
    },
    #[error("{packet} has subscription options that MQTT {version} cannot carry")]
    SubscriptionOptionsNotInVersion {
        packet: PacketType,
        version: Version,
    },
    #[error("reason code {reason} is not allowed in {packet}")]
    InvalidReasonCode {
        packet: PacketType,
        reason: ReasonCode,
    },
    #[error("property {0} has a value that cannot be encoded")]
    InvalidPropertyValue(PropertyId),
    #[error("[MQTT-3.3.1-2] DUP flag set on a QoS 0 PUBLISH")]
    DupWithQoS0,
    #[error("zero-length topic name without a Topic Alias (section 3.3.2.3.4)")]
    EmptyTopicWithoutAlias,
    #[error("[MQTT-3.8.3-3] {0} needs at least one topic filter or reason code")]
    EmptyPayload(PacketType),
    #[error("[MQTT-3.2.2-4] session present set on a refused connection")]
    SessionPresentOnError,
    #[error("[MQTT-3.1.2-22] password without user name")]
    PasswordWithoutUsername,
    #[error("[MQTT-3.8.3-4] No Local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    #[error("Authentication Data without Authentication Method (section 3.1.2.11.10)")]
    AuthDataWithoutMethod,
}
