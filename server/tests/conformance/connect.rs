//! CONNECT / CONNACK (3.1.1 §3.1–3.2, 5.0 §3.1–3.2): refusals and their codes, the first
//! packet, a second CONNECT, the CONNECT deadline, client identifier rules.

use tern_codec::{Connect, Packet, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

/// Connection is closed; anything before the close is one CONNACK (3.x or 5.0 layout) with a
/// non-zero code. Read as raw bytes: the server cannot know which layout the peer expects.
async fn expect_refused_without_success(c: &mut Client, rule: &str) {
    let bytes = c.recv_raw(64).await;
    assert!(c.closed(), "{rule}: connection not closed: {bytes:02x?}");
    if bytes.is_empty() {
        return;
    }
    assert!(
        bytes.len() >= 4 && bytes[0] == 0x20 && bytes[3] != 0,
        "{rule}: only a refusing CONNACK may precede the close: {bytes:02x?}"
    );
    assert!(
        bytes.len() == 2 + usize::from(bytes[1]),
        "{rule}: close after CONNACK: {bytes:02x?}"
    );
}

/// [MQTT-3.1.0-1] "After a Network Connection is established by a Client to a Server, the
/// first packet sent from the Client to the Server MUST be a CONNECT packet."
/// ([MQTT-4.8.0-1]: a protocol violation closes the connection.)
#[tokio::test]
async fn mqtt_3_1_0_1_first_packet_must_be_connect() {
    let broker = Broker::target().await;
    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "no-connect").await;
    c.send_raw(&frame(0xC0, &[])).await; // PINGREQ
    let got = c.expect_closed().await;
    assert!(got.is_empty(), "[MQTT-3.1.0-1] no answer expected: {got:?}");

    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "publish-first").await;
    c.send_raw(&raw_publish(0, b"a/b", None, None, b"x")).await;
    let got = c.expect_closed().await;
    assert!(got.is_empty(), "[MQTT-3.1.0-1] no answer expected: {got:?}");
}

/// [MQTT-3.1.0-2] "The Server MUST process a second CONNECT packet sent from a Client as a
/// Protocol Error and close the Network Connection" (5.0; 3.1.1 words it as a protocol
/// violation). MQTT 5 gets DISCONNECT 0x82 first.
async fn second_connect(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "twice").await;
    c.send(Packet::Connect(Box::new(Connect::new(v, "twice"))))
        .await;
    c.expect_disconnect(ReasonCode::ProtocolError, "[MQTT-3.1.0-2]")
        .await;
}
per_version!(
    mqtt_3_1_0_2_second_connect_is_a_protocol_error,
    second_connect
);

/// [MQTT-3.1.2-1] "If the protocol name is incorrect the Server MAY disconnect the Client, or
/// it MAY continue processing the CONNECT packet in accordance with some other
/// specification. In the latter case, the Server MUST NOT continue to process the CONNECT
/// packet in line with this specification." Tern speaks only MQTT: it must close, never
/// accept.
#[tokio::test]
async fn mqtt_3_1_2_1_wrong_protocol_name_is_not_accepted() {
    let broker = Broker::target().await;
    for (name, level) in [
        (&b"MQTX"[..], 4u8),
        (b"MQTT", 3),
        (b"MQIsdp", 4),
        (b"mqtt", 5),
    ] {
        let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "bad-name").await;
        c.send_raw(&raw_connect(name, level, 0x02, "bad-name", &[]))
            .await;
        expect_refused_without_success(&mut c, "[MQTT-3.1.2-1]").await;
    }
}

/// 3.1.1 [MQTT-3.1.2-2] "The Server MUST respond to the CONNECT Packet with a CONNACK return
/// code 0x01 (unacceptable protocol level) and then disconnect the Client if the Protocol
/// Level is not supported by the Server." 5.0 [MQTT-3.1.2-2] allows CONNACK 0x84 instead;
/// both then close. Checked byte-exact.
#[tokio::test]
async fn mqtt_3_1_2_2_unsupported_protocol_level_connack_0x01() {
    let broker = Broker::target().await;
    for level in [0u8, 2, 6, 255] {
        let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "bad-level").await;
        c.send_raw(&raw_connect(b"MQTT", level, 0x02, "bad-level", &[]))
            .await;
        let head = c.recv_raw(4).await;
        let v3 = [0x20, 0x02, 0x00, 0x01];
        let v5 = [0x20, 0x03, 0x00, 0x84];
        assert!(
            head == v3 || head == v5,
            "[MQTT-3.1.2-2] level {level}: expected CONNACK 0x01 (or 5.0's 0x84), got {head:02x?}"
        );
        if head == v5 {
            let _props_len = c.recv_raw(1).await;
        }
        let rest = c.recv_raw(64).await;
        assert!(
            rest.is_empty() && c.closed(),
            "[MQTT-3.2.2-5] close after CONNACK, got {rest:02x?}"
        );
    }
}

/// 3.1.1 [MQTT-3.1.2-3] "The Server MUST validate that the reserved flag in the CONNECT
/// Control Packet is set to zero and disconnect the Client if it is not zero."
/// [MQTT-3.1.4-1] (3.1.1): a non-conforming CONNECT is closed "without sending a CONNACK";
/// 5.0 allows a CONNACK ≥ 0x80 first.
#[tokio::test]
async fn mqtt_3_1_2_3_connect_reserved_flag_closes() {
    let broker = Broker::target().await;
    for level in [4u8, 5] {
        let v = if level == 5 {
            Version::V5
        } else {
            Version::V3_1_1
        };
        let mut c = Client::tcp(broker.tcp, v, "reserved").await;
        c.send_raw(&raw_connect(b"MQTT", level, 0x03, "reserved", &[]))
            .await;
        let got = c.expect_closed().await;
        check_malformed_connect_answer(v, &got, "[MQTT-3.1.2-3]");
    }
}

pub fn check_malformed_connect_answer(v: Version, got: &[Packet], rule: &str) {
    match v {
        Version::V5 => {
            for p in got {
                assert!(
                    matches!(p, Packet::ConnAck(a) if a.reason.is_error()),
                    "{rule}: only a refusing CONNACK may precede the close: {p:?}"
                );
            }
        }
        _ => assert!(
            got.is_empty(),
            "{rule} / [MQTT-3.1.4-1]: close without CONNACK, got {got:?}"
        ),
    }
}

/// Will flag combinations (3.1.1 numbering): [MQTT-3.1.2-13] "If the Will Flag is set to 0,
/// then the Will QoS MUST be set to 0", [MQTT-3.1.2-14] "… Will QoS … MUST NOT be 3",
/// [MQTT-3.1.2-15] "If the Will Flag is set to 0, then the Will Retain Flag MUST be set to
/// 0" (5.0: [MQTT-3.1.2-11], -12, -13). Violations are malformed: close.
#[tokio::test]
async fn mqtt_3_1_2_13_to_15_invalid_will_flags_close() {
    let broker = Broker::target().await;
    let will = [lp(b"w/t"), lp(b"bye")].concat();
    let cases: [(u8, &[u8], &str); 3] = [
        (
            0x02 | 0x08,
            &[],
            "will QoS 1 without will flag [MQTT-3.1.2-13]",
        ),
        (0x02 | 0x04 | 0x18, &will, "will QoS 3 [MQTT-3.1.2-14]"),
        (
            0x02 | 0x20,
            &[],
            "will retain without will flag [MQTT-3.1.2-15]",
        ),
    ];
    for level in [4u8, 5] {
        let v = if level == 5 {
            Version::V5
        } else {
            Version::V3_1_1
        };
        for (flags, rest, rule) in cases {
            let mut rest = rest.to_vec();
            if level == 5 && flags & 0x04 != 0 {
                rest.insert(0, 0); // empty will properties
            }
            let mut c = Client::tcp(broker.tcp, v, "will-flags").await;
            c.send_raw(&raw_connect(b"MQTT", level, flags, "will-flags", &rest))
                .await;
            let got = c.expect_closed().await;
            check_malformed_connect_answer(v, &got, rule);
        }
    }
}

/// 3.1.1 [MQTT-3.1.2-22] "If the User Name Flag is set to 0, the Password Flag MUST be set
/// to 0." (5.0 dropped this rule.)
#[tokio::test]
async fn mqtt_3_1_2_22_password_without_username_closes() {
    let broker = Broker::target().await;
    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "pw").await;
    c.send_raw(&raw_connect(b"MQTT", 4, 0x02 | 0x40, "pw", &lp(b"secret")))
        .await;
    let got = c.expect_closed().await;
    check_malformed_connect_answer(Version::V3_1_1, &got, "[MQTT-3.1.2-22]");
}

/// 3.1.1 [MQTT-3.1.4-4] / 5.0 [MQTT-3.1.4-5]: a valid CONNECT is acknowledged with a CONNACK
/// with a zero return code; byte-exact for 3.x: `20 02 00 00`. MQTT 3.1 (`MQIsdp`, level 3)
/// is accepted too.
async fn connack_success(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::tcp(broker.tcp, v, "hello").await;
    c.send(Packet::Connect(Box::new(Connect::new(v, "hello"))))
        .await;
    if v == Version::V5 {
        let ack = c.recv().await;
        assert!(
            matches!(&ack, Packet::ConnAck(a) if a.reason == ReasonCode::Success && !a.session_present),
            "{ack:?}"
        );
    } else {
        assert_eq!(c.recv_raw(4).await, [0x20, 0x02, 0x00, 0x00]);
    }
}
per_version!(
    mqtt_3_1_4_4_valid_connect_gets_connack_0,
    connack_success,
    with_v3_1
);

/// 3.1.1 [MQTT-3.1.4-5] "If the Server rejects the CONNECT, it MUST NOT process any data sent
/// by the Client after the CONNECT Packet." (5.0 [MQTT-3.1.4-6].) A retained PUBLISH
/// pipelined behind a refused CONNECT must not be stored.
#[tokio::test]
async fn mqtt_3_1_4_5_no_processing_after_refused_connect() {
    let broker = Broker::target().await;
    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "refused").await;
    let mut bytes = raw_connect(b"MQTT", 9, 0x02, "refused", &[]);
    bytes.extend(raw_publish(
        0x01,
        b"refused/r",
        None,
        None,
        b"must not be stored",
    ));
    c.send_raw(&bytes).await;
    let _ = c.expect_closed().await;

    let mut s = Client::connected(broker.tcp, Version::V3_1_1, "checker").await;
    s.subscribe("refused/#", tern_codec::QoS::AtMostOnce).await;
    s.expect_nothing("[MQTT-3.1.4-5] data after a refused CONNECT was processed")
        .await;
}

/// Issue #3 / 3.1.1 §3.1 "If the Server does not receive a CONNECT Packet within a reasonable
/// amount of time after the Network Connection is established, the Server SHOULD close the
/// connection." Tern: `connect_timeout` (0.3 s here; the config file counts whole seconds).
#[tokio::test]
async fn tern_connect_deadline_closes_silent_connections() {
    if tern_only("connect_timeout") {
        return;
    }
    let broker =
        Broker::target_with(|c| c.connect_timeout = std::time::Duration::from_millis(300)).await;
    let start = std::time::Instant::now();
    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "silent").await;
    let got = c.expect_closed().await;
    assert!(got.is_empty(), "{got:?}");
    let took = start.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(250),
        "closed too early: {took:?}"
    );
    // A half-sent CONNECT does not extend the deadline either.
    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "partial").await;
    c.send_raw(&[0x10, 0x20, 0x00]).await;
    let got = c.expect_closed().await;
    assert!(got.is_empty(), "{got:?}");
}

/// 5.0 [MQTT-3.2.2-21] "If the Server sends a Server Keep Alive on the CONNACK packet, the
/// Client MUST use this value instead of the Keep Alive value the Client sent." Tern (like
/// Mosquitto's `max_keepalive`) sends it when the client asks for more than allowed.
#[tokio::test]
async fn mqtt_3_2_2_21_server_keep_alive_caps_the_client() {
    let broker = Broker::target_with(|c| c.max_keepalive = 10).await;
    let c = Client::connect_with(
        broker.tcp,
        Connect {
            keep_alive: 600,
            ..connect_packet(Version::V5, "ka", true)
        },
        "ka",
    )
    .await;
    let ack = c.connack.as_ref().expect("connack");
    assert_eq!(ack.properties.server_keep_alive, Some(10), "{ack:?}");
    let c = Client::connect_with(
        broker.tcp,
        Connect {
            keep_alive: 5,
            ..connect_packet(Version::V5, "ka2", true)
        },
        "ka2",
    )
    .await;
    let ack = c.connack.as_ref().expect("connack");
    assert!(
        matches!(ack.properties.server_keep_alive, None | Some(5)),
        "keep alive within the limit is kept: {ack:?}"
    );
}

/// 5.0 [MQTT-4.12.0-1] "If the Server does not support the Authentication Method supplied by
/// the Client, it MAY send a CONNACK with a Reason Code of 0x8C (Bad authentication method)
/// or 0x87 (Not Authorized) … and MUST close the Network Connection."
#[tokio::test]
async fn mqtt_4_12_0_1_unsupported_authentication_method_closes() {
    let broker = Broker::target().await;
    let mut conn = Connect::new(Version::V5, "auth");
    conn.properties.authentication_method = Some("SCRAM-SHA-1".into());
    let mut c = Client::tcp(broker.tcp, Version::V5, "auth").await;
    c.send(Packet::Connect(Box::new(conn))).await;
    let got = c.expect_closed().await;
    for p in &got {
        assert!(
            matches!(p, Packet::ConnAck(a) if matches!(a.reason,
                ReasonCode::BadAuthenticationMethod | ReasonCode::NotAuthorized)),
            "[MQTT-4.12.0-1] {p:?}"
        );
    }
}

/// 5.0 [MQTT-3.2.0-2] "The Server MUST NOT send more than one CONNACK in a Network
/// Connection", and [MQTT-4.12.0-6]: without an Authentication Method in CONNECT the Server
/// "MUST NOT send an Authentication Method in the CONNACK packet".
#[tokio::test]
async fn mqtt_3_2_0_2_one_connack_and_no_auth_method() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, Version::V5, "one-connack").await;
    let ack = c.connack.clone().expect("connack");
    assert_eq!(
        ack.properties.authentication_method, None,
        "[MQTT-4.12.0-6]"
    );
    let got = c.ping().await;
    assert!(
        !got.iter().any(|p| matches!(p, Packet::ConnAck(_))),
        "[MQTT-3.2.0-2] {got:?}"
    );
}
