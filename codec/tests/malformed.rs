//! Malformed input table: each case names the rule it breaks, and asserts the exact error,
//! the MQTT 5 reason code a receiver would close with, and that no prefix of the input
//! panics or decodes to a packet.

mod common;

use bytes::BytesMut;
use common::hex;
use tern_codec::*;

use DecodeError as E;
use PacketType as T;
use PropertyId as P;
use ReasonCode as R;
use Version::{V3_1, V3_1_1, V5};

struct Case {
    name: &'static str,
    version: Version,
    max: u32,
    bytes: &'static str,
    error: DecodeError,
    reason: ReasonCode,
}

const ANY: u32 = 268_435_455;

fn c(
    name: &'static str,
    version: Version,
    bytes: &'static str,
    error: DecodeError,
    reason: ReasonCode,
) -> Case {
    Case {
        name,
        version,
        max: ANY,
        bytes,
        error,
        reason,
    }
}

fn flags(packet: PacketType, flags: u8) -> DecodeError {
    E::InvalidHeaderFlags { packet, flags }
}

// One case per line reads as the table it is.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let malformed = R::MalformedPacket;
    let protocol = R::ProtocolError;
    vec![
        // ---- fixed header ----
        c("reserved packet type 0 (section 2.1.2)", V3_1_1, "00 00", E::ReservedPacketType(0), malformed),
        c("PUBREL flags 0000 [MQTT-3.6.1-1]", V3_1_1, "60 02 0001", flags(T::PubRel, 0), malformed),
        c("SUBSCRIBE flags 0000 [MQTT-3.8.1-1]", V3_1_1, "80 06 0001 0001 61 00", flags(T::Subscribe, 0), malformed),
        c("UNSUBSCRIBE flags 0000 [MQTT-3.10.1-1]", V3_1_1, "A0 05 0001 0001 61", flags(T::Unsubscribe, 0), malformed),
        c("PINGREQ flag bit set [MQTT-2.1.3-1]", V3_1_1, "C1 00", flags(T::PingReq, 1), malformed),
        c("CONNECT flags 0010 [MQTT-2.1.3-1]", V5, "12 00", flags(T::Connect, 2), malformed),
        c("PUBACK flags 0010 [MQTT-2.1.3-1]", V5, "42 02 0001", flags(T::PubAck, 2), malformed),
        c("5-byte remaining length [MQTT-1.5.5-1]", V3_1_1, "30 FFFFFFFF 01", E::MalformedRemainingLength, malformed),
        c("non-minimal remaining length [MQTT-1.5.5-1]", V3_1_1, "30 80 00", E::MalformedRemainingLength, malformed),
        c("remaining length too short for the packet id", V3_1_1, "40 01 00", E::UnexpectedEof("packet identifier"), malformed),
        c("PINGREQ with a body [MQTT-3.12.1]", V3_1_1, "C0 01 00", E::TrailingBytes { packet: T::PingReq, count: 1 }, malformed),
        c("3.1.1 PUBACK with an extra byte", V3_1_1, "40 03 0001 00", E::TrailingBytes { packet: T::PubAck, count: 1 }, malformed),
        c("3.1.1 DISCONNECT with a body", V3_1_1, "E0 01 00", E::TrailingBytes { packet: T::Disconnect, count: 1 }, malformed),
        c("AUTH in 3.1.1 (reserved type 15)", V3_1_1, "F0 00", E::PacketNotInVersion { packet: T::Auth, version: V3_1_1 }, malformed),
        Case { max: 64, ..c("oversized packet rejected from the header alone [MQTT-3.2.2-15]", V5, "30 64", E::PacketTooLarge { size: 102, max: 64 }, R::PacketTooLarge) },
        // ---- CONNECT ----
        c("protocol name MQTX [MQTT-3.1.2-1]", V3_1_1, "10 0E 0004 4D515458 04 02 003C 0002 6331", E::InvalidProtocolName, R::UnsupportedProtocolVersion),
        c("protocol level 6 [MQTT-3.1.2-2]", V3_1_1, "10 0E 0004 4D515454 06 02 003C 0002 6331", E::UnsupportedProtocolVersion { level: 6 }, R::UnsupportedProtocolVersion),
        c("MQIsdp with level 4 [MQTT-3.1.2-2]", V3_1_1, "10 10 0006 4D5149736470 04 02 003C 0002 6331", E::UnsupportedProtocolVersion { level: 4 }, R::UnsupportedProtocolVersion),
        c("CONNECT reserved flag [MQTT-3.1.2-3]", V3_1_1, "10 0E 0004 4D515454 04 03 003C 0002 6331", E::ConnectReservedFlag, malformed),
        c("will QoS 3 [MQTT-3.1.2-14]", V3_1_1, "10 0E 0004 4D515454 04 1E 003C 0002 6331", E::InvalidWillQoS, malformed),
        c("will retain without will [MQTT-3.1.2-15]", V3_1_1, "10 0E 0004 4D515454 04 22 003C 0002 6331", E::WillFlagsWithoutWill, malformed),
        c("will QoS without will [MQTT-3.1.2-13]", V5, "10 0F 0004 4D515454 05 0A 003C 00 0002 6331", E::WillFlagsWithoutWill, malformed),
        c("password without user name in 3.1.1 [MQTT-3.1.2-22]", V3_1_1, "10 12 0004 4D515454 04 42 003C 0002 6331 0002 7077", E::PasswordWithoutUsername, protocol),
        c("password without user name in 3.1 [MQTT-3.1.2-22]", V3_1, "10 14 0006 4D5149736470 03 42 003C 0002 6331 0002 7077", E::PasswordWithoutUsername, protocol),
        c("will topic with a wildcard [MQTT-4.7.1-1]", V3_1_1, "10 12 0004 4D515454 04 06 003C 0001 63 0001 23 0000", E::InvalidTopicName(TopicError::WildcardInName), R::TopicNameInvalid),
        c("client id not UTF-8 [MQTT-1.5.4-1]", V3_1_1, "10 0E 0004 4D515454 04 02 003C 0002 C328", E::InvalidUtf8, malformed),
        c("client id with U+0000 [MQTT-1.5.4-2]", V3_1_1, "10 0E 0004 4D515454 04 02 003C 0002 6300", E::NullCharacter, malformed),
        c("CONNECT without client id", V3_1_1, "10 0A 0004 4D515454 04 02 003C", E::UnexpectedEof("client identifier"), malformed),
        c("CONNECT 5 auth data without method (3.1.2.11.10)", V5, "10 12 0004 4D515454 05 02 003C 04 16000178 0001 63", E::AuthDataWithoutMethod, protocol),
        c("CONNECT 5 receive maximum 0 (3.1.2.11.3)", V5, "10 11 0004 4D515454 05 02 003C 03 210000 0001 63", E::InvalidPropertyValue(P::ReceiveMaximum), protocol),
        // ---- CONNACK ----
        c("CONNACK reserved flag bits [MQTT-3.2.2-1]", V3_1_1, "20 02 02 00", E::ConnAckReservedFlags(2), malformed),
        c("CONNACK 3.1.1 return code 6", V3_1_1, "20 02 00 06", E::InvalidConnectReturnCode(6), malformed),
        c("CONNACK session present on refusal [MQTT-3.2.2-4]", V3_1_1, "20 02 01 05", E::SessionPresentOnError, protocol),
        c("CONNACK 5 maximum QoS 2 (3.2.2.3.4)", V5, "20 05 00 00 02 2402", E::InvalidPropertyValue(P::MaximumQoS), protocol),
        c("CONNACK 5 duplicate maximum QoS", V5, "20 07 00 00 04 2400 2401", E::DuplicateProperty(P::MaximumQoS), protocol),
        c("CONNACK 5 reason 0x10 (PUBACK-only)", V5, "20 03 00 10 00", E::InvalidReasonCode { packet: T::ConnAck, code: 0x10 }, malformed),
        // ---- PUBLISH ----
        c("PUBLISH QoS 3 [MQTT-3.3.1-4]", V3_1_1, "36 07 0003 612F62 6869", E::InvalidQoS, malformed),
        c("PUBLISH DUP on QoS 0 [MQTT-3.3.1-2]", V5, "38 07 0003 612F62 6869", E::DupWithQoS0, protocol),
        c("PUBLISH packet id 0 [MQTT-2.3.1-1]", V3_1_1, "32 07 0003 612F62 0000", E::ZeroPacketId, protocol),
        c("PUBLISH topic with + [MQTT-3.3.2-2]", V3_1_1, "30 05 0003 612F2B", E::InvalidTopicName(TopicError::WildcardInName), R::TopicNameInvalid),
        c("PUBLISH topic # [MQTT-3.3.2-2]", V5, "30 04 0001 23 00", E::InvalidTopicName(TopicError::WildcardInName), R::TopicNameInvalid),
        c("PUBLISH empty topic in 3.1.1 [MQTT-4.7.3-1]", V3_1_1, "30 04 0000 6869", E::InvalidTopicName(TopicError::Empty), R::TopicNameInvalid),
        c("PUBLISH 5 empty topic without alias (3.3.2.3.4)", V5, "30 05 0000 00 6869", E::EmptyTopicWithoutAlias, R::TopicNameInvalid),
        c("PUBLISH topic with a surrogate [MQTT-1.5.4-1]", V3_1_1, "30 05 0003 EDA080", E::InvalidUtf8, malformed),
        c("PUBLISH topic with U+0000 [MQTT-1.5.4-2]", V3_1_1, "30 05 0003 610062", E::NullCharacter, malformed),
        c("PUBLISH topic length past the packet", V3_1_1, "30 03 0005 61", E::UnexpectedEof("topic name"), malformed),
        c("PUBLISH 5 duplicate message expiry", V5, "30 0E 0001 74 0A 0200000001 0200000002", E::DuplicateProperty(P::MessageExpiryInterval), protocol),
        c("PUBLISH 5 session expiry is CONNECT-only (2.2.2.2)", V5, "30 09 0001 74 05 1100000001", E::PropertyNotAllowed { property: P::SessionExpiryInterval, packet: T::Publish }, malformed),
        c("PUBLISH 5 unknown property 0x05", V5, "30 06 0001 74 02 0500", E::UnknownProperty(5), malformed),
        c("PUBLISH 5 property length past the packet", V5, "30 04 0001 74 09", E::UnexpectedEof("properties"), malformed),
        c("PUBLISH 5 topic alias 0 [MQTT-3.3.2-8]", V5, "30 07 0001 74 03 230000", E::InvalidPropertyValue(P::TopicAlias), R::TopicAliasInvalid),
        c("PUBLISH 5 payload format indicator 2", V5, "30 06 0001 74 02 0102", E::InvalidPropertyValue(P::PayloadFormatIndicator), protocol),
        c("PUBLISH 5 subscription identifier 0", V5, "30 06 0001 74 02 0B00", E::InvalidPropertyValue(P::SubscriptionIdentifier), protocol),
        c("PUBLISH 5 user property not UTF-8", V5, "30 0B 0001 74 07 260001FF000161", E::InvalidUtf8, malformed),
        c("PUBLISH 5 5-byte property identifier [MQTT-1.5.5-1]", V5, "30 09 0001 74 05 FFFFFFFF01", E::MalformedVarInt, malformed),
        c("PUBLISH 5 response topic with wildcard [MQTT-3.3.2-14]", V5, "30 08 0001 74 04 08000123", E::InvalidTopicName(TopicError::WildcardInName), R::TopicNameInvalid),
        // ---- acknowledgements ----
        c("PUBACK 5 reason 0x92 is PUBREL/PUBCOMP-only", V5, "40 03 0001 92", E::InvalidReasonCode { packet: T::PubAck, code: 0x92 }, malformed),
        c("PUBREL packet id 0 [MQTT-2.2.1-3]", V5, "62 02 0000", E::ZeroPacketId, protocol),
        c("DISCONNECT 5 undefined reason 0x03", V5, "E0 01 03", E::InvalidReasonCode { packet: T::Disconnect, code: 3 }, malformed),
        c("SUBACK 3.1.1 return code 3 [MQTT-3.9.3-2]", V3_1_1, "90 03 0001 03", E::InvalidReasonCode { packet: T::SubAck, code: 3 }, malformed),
        c("SUBACK 3.1.1 MQTT 5-only code 0x87 [MQTT-3.9.3-2]", V3_1_1, "90 03 0001 87", E::InvalidReasonCode { packet: T::SubAck, code: 0x87 }, malformed),
        c("UNSUBACK 5 without reason codes", V5, "B0 03 0001 00", E::UnexpectedEof("UNSUBACK reason code"), malformed),
        c("UNSUBACK 3.1.1 with a payload", V3_1_1, "B0 03 0001 00", E::TrailingBytes { packet: T::UnsubAck, count: 1 }, malformed),
        // ---- SUBSCRIBE / UNSUBSCRIBE ----
        c("SUBSCRIBE without filters [MQTT-3.8.3-3]", V3_1_1, "82 02 0001", E::EmptySubscribe, protocol),
        c("SUBSCRIBE 3.1.1 reserved option bits [MQTT-3-8.3-4]", V3_1_1, "82 06 0001 0001 61 04", E::InvalidSubscriptionOptions(0x04), malformed),
        c("SUBSCRIBE QoS 3 [MQTT-3-8.3-4]", V3_1, "82 06 0001 0001 61 03", E::InvalidSubscriptionOptions(0x03), malformed),
        c("SUBSCRIBE 5 retain handling 3 (3.8.3.1)", V5, "82 07 0001 00 0001 61 30", E::InvalidSubscriptionOptions(0x30), malformed),
        c("SUBSCRIBE 5 reserved bit 6 [MQTT-3.8.3-5]", V5, "82 07 0001 00 0001 61 40", E::InvalidSubscriptionOptions(0x40), malformed),
        c("SUBSCRIBE 5 No Local on a shared subscription [MQTT-3.8.3-4]", V5, "82 10 0001 00 000A 2473686172652F672F61 04", E::NoLocalOnSharedSubscription, protocol),
        c("SUBSCRIBE filter a/#/b [MQTT-4.7.1-2]", V3_1_1, "82 0A 0001 0005 612F232F62 00", E::InvalidTopicFilter(TopicError::MultiLevelWildcard), R::TopicFilterInvalid),
        c("SUBSCRIBE filter a+ [MQTT-4.7.1-3]", V3_1_1, "82 07 0001 0002 612B 00", E::InvalidTopicFilter(TopicError::SingleLevelWildcard), R::TopicFilterInvalid),
        c("SUBSCRIBE empty filter [MQTT-4.7.3-1]", V3_1_1, "82 05 0001 0000 00", E::InvalidTopicFilter(TopicError::Empty), R::TopicFilterInvalid),
        c("SUBSCRIBE share name missing [MQTT-4.8.2-2]", V5, "82 0E 0001 00 0008 247368617265 2F2F 00", E::InvalidTopicFilter(TopicError::InvalidShare), R::TopicFilterInvalid),
        c("SUBSCRIBE packet id 0 [MQTT-2.3.1-1]", V3_1_1, "82 06 0000 0001 61 00", E::ZeroPacketId, protocol),
        c("SUBSCRIBE 5 subscription identifier 0", V5, "82 09 0001 02 0B00 0001 61 00", E::InvalidPropertyValue(P::SubscriptionIdentifier), protocol),
        c("SUBSCRIBE 5 two subscription identifiers", V5, "82 0B 0001 04 0B01 0B02 0001 61 00", E::DuplicateProperty(P::SubscriptionIdentifier), protocol),
        c("UNSUBSCRIBE without filters [MQTT-3.10.3-2]", V3_1_1, "A2 02 0001", E::EmptyUnsubscribe, protocol),
        c("UNSUBSCRIBE 5 reason string is not allowed", V5, "A2 0A 0001 04 1F000178 0001 61", E::PropertyNotAllowed { property: P::ReasonString, packet: T::Unsubscribe }, malformed),
    ]
}

#[test]
fn malformed_table_has_at_least_40_distinct_cases() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "duplicate case names");
}

#[test]
fn malformed_inputs_give_the_expected_error_and_reason_code() {
    let mut failures = Vec::new();
    for case in cases() {
        let bytes = hex(case.bytes);
        let cfg = DecodeConfig {
            version: case.version,
            max_packet_size: case.max,
        };
        let got = decode(&mut BytesMut::from(&bytes[..]), &cfg);
        if got != Err(case.error.clone()) {
            failures.push(format!(
                "{}: expected {:?}, got {got:?}",
                case.name, case.error
            ));
            continue;
        }
        if case.error.reason_code() != case.reason {
            failures.push(format!(
                "{}: reason {} instead of {}",
                case.name,
                case.error.reason_code(),
                case.reason
            ));
        }
        let msg = case.error.to_string();
        if !msg.contains("[MQTT-") && !msg.contains("section") {
            failures.push(format!("{}: message cites no rule: {msg}", case.name));
        }
        // No prefix panics or yields a packet: it is incomplete or already the same error.
        for at in 0..bytes.len() {
            let got = decode(&mut BytesMut::from(&bytes[..at]), &cfg);
            if got != Ok(None) && got != Err(case.error.clone()) {
                failures.push(format!("{}: prefix {at} gave {got:?}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
