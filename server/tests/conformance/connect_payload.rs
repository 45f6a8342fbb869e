//! Ill-formed CONNECT payloads and properties (3.1.1 §3.1.3, 5.0 §3.1.2.11 and §3.1.3): the
//! connection is closed — 3.1.1 without a CONNACK ([MQTT-3.1.4-1]), 5.0 optionally after a
//! CONNACK with a reason code ≥ 0x80 ([MQTT-3.1.4-1], §4.13).

use tern_codec::Version;

use crate::connect::check_malformed_connect_answer;
use crate::support::*;

/// Sends a raw CONNECT and checks it is refused as malformed.
async fn refused(broker: &Broker, level: u8, bytes: Vec<u8>, rule: &str) {
    let v = if level == 5 {
        Version::V5
    } else {
        Version::V3_1_1
    };
    let mut c = Client::tcp(broker.tcp, v, "bad-connect").await;
    c.send_raw(&bytes).await;
    let got = c.expect_closed().await;
    check_malformed_connect_answer(v, &got, rule);
}

/// A v5 CONNECT with the given property bytes, clean start, client id "p".
fn connect_v5_props(props: &[u8]) -> Vec<u8> {
    let mut body = lp(b"MQTT");
    body.extend_from_slice(&[5, 0x02, 0, 60]);
    body.extend(varint(props.len()));
    body.extend_from_slice(props);
    body.extend(lp(b"p"));
    frame(0x10, &body)
}

/// 3.1.1 [MQTT-3.1.2-19] "If the User Name Flag is set to 1, a user name MUST be present in
/// the payload"; [MQTT-3.1.2-21] the same for the password; [MQTT-3.1.2-9] "If the Will
/// Flag is set to 1 … the Will Topic and Will Message fields MUST be present in the payload."
/// (5.0 [MQTT-3.1.2-17], [MQTT-3.1.2-19], [MQTT-3.1.2-9].)
#[tokio::test]
async fn mqtt_3_1_2_19_flagged_fields_must_be_present() {
    let broker = Broker::target().await;
    for level in [4u8, 5] {
        let no_will_props: &[u8] = if level == 5 { &[0] } else { &[] };
        refused(
            &broker,
            level,
            raw_connect(b"MQTT", level, 0x82, "u", &[]),
            "[MQTT-3.1.2-19]",
        )
        .await;
        let user_only = lp(b"user");
        refused(
            &broker,
            level,
            raw_connect(b"MQTT", level, 0xC2, "u", &user_only),
            "[MQTT-3.1.2-21]",
        )
        .await;
        let topic_only = [no_will_props, &lp(b"w/t")].concat();
        refused(
            &broker,
            level,
            raw_connect(b"MQTT", level, 0x06, "u", &topic_only),
            "[MQTT-3.1.2-9]",
        )
        .await;
    }
}

/// [MQTT-3.1.3-4] "The ClientId MUST be a UTF-8 encoded string"; [MQTT-3.1.3-10] "The Will
/// Topic MUST be a UTF-8 encoded string"; [MQTT-3.1.3-11] "The User Name MUST be a UTF-8
/// encoded string"; with [MQTT-1.5.3-1] ill-formed UTF-8 closes the connection. A will topic
/// with a wildcard is not a valid Topic Name ([MQTT-4.7.1-1]).
#[tokio::test]
async fn mqtt_3_1_3_4_connect_strings_must_be_valid_utf8() {
    let broker = Broker::target().await;
    for level in [4u8, 5] {
        let wp: &[u8] = if level == 5 { &[0] } else { &[] };
        let mut bad_id = raw_connect(b"MQTT", level, 0x02, "ab", &[]);
        let n = bad_id.len();
        bad_id[n - 1] = 0xFF; // client id "a\xFF"
        refused(&broker, level, bad_id, "[MQTT-3.1.3-4]").await;
        let will = [wp, &lp(&[b'w', 0xC0, 0x80]), &lp(b"m")].concat();
        refused(
            &broker,
            level,
            raw_connect(b"MQTT", level, 0x06, "w", &will),
            "[MQTT-3.1.3-10]",
        )
        .await;
        let will = [wp, &lp(b"w/#"), &lp(b"m")].concat();
        refused(
            &broker,
            level,
            raw_connect(b"MQTT", level, 0x06, "w", &will),
            "[MQTT-4.7.1-1]",
        )
        .await;
        let user = lp(&[0xED, 0xBF, 0xBF]);
        refused(
            &broker,
            level,
            raw_connect(b"MQTT", level, 0x82, "u", &user),
            "[MQTT-3.1.3-11]",
        )
        .await;
    }
}

/// 5.0 §3.1.2.11: "It is a Protocol Error to include the Receive Maximum value more than once
/// or for it to have the value 0"; the same for Maximum Packet Size 0; Request Problem /
/// Response Information other than 0 or 1; any property included twice; and a property not
/// allowed in CONNECT (here Topic Alias, 0x23) or an unknown identifier is malformed.
#[tokio::test]
async fn mqtt5_3_1_2_11_invalid_connect_properties_refused() {
    let broker = Broker::target().await;
    let cases: [(&[u8], &str); 7] = [
        (&[0x21, 0x00, 0x00], "Receive Maximum 0"),
        (&[0x27, 0, 0, 0, 0], "Maximum Packet Size 0"),
        (&[0x17, 0x02], "Request Problem Information 2"),
        (&[0x19, 0x07], "Request Response Information 7"),
        (
            &[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2],
            "Session Expiry Interval twice",
        ),
        (&[0x23, 0x00, 0x01], "Topic Alias in CONNECT"),
        (&[0x7E, 0x00], "unknown property 0x7E"),
    ];
    for (props, rule) in cases {
        refused(&broker, 5, connect_v5_props(props), rule).await;
    }
    // Control: the same builder with valid properties is accepted.
    let mut c = Client::tcp(broker.tcp, Version::V5, "good-props").await;
    c.send_raw(&connect_v5_props(&[0x21, 0x00, 0x0A, 0x27, 0, 0, 4, 0]))
        .await;
    assert!(matches!(c.recv().await, tern_codec::Packet::ConnAck(a) if !a.reason.is_error()));
}
