//! Client Identifier rules (3.1.1 §3.1.3.1, 5.0 §3.1.3.1, MQTT 3.1 CONNECT).

use tern_codec::{Connect, Packet, Version};

use crate::per_version;
use crate::support::*;

/// [MQTT-3.1.3-5] "The Server MUST allow ClientIds which are between 1 and 23 UTF-8 encoded
/// bytes in length, and that contain only the characters
/// 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ."
async fn client_id_23_chars(v: Version) {
    let broker = Broker::target().await;
    for id in ["a", "0123456789abcdefghijklm", "NOPQRSTUVWXYZ0123456789"] {
        let _c = Client::connected(broker.tcp, v, id).await;
    }
}
per_version!(
    mqtt_3_1_3_5_client_ids_of_1_to_23_alphanumerics_allowed,
    client_id_23_chars
);

/// 3.1.1 [MQTT-3.1.3-6] "A Server MAY allow a Client to supply a ClientId that has a length
/// of zero bytes, however if it does so the Server MUST treat this as a special case and
/// assign a unique ClientId to that Client." Two such clients must not take each other over.
/// 5.0 [MQTT-3.2.2-16]: "If the Client connects using a zero length Client Identifier, the
/// Server MUST respond with a CONNACK containing an Assigned Client Identifier."
async fn empty_client_id(v: Version) {
    let broker = Broker::target().await;
    let mut a = Client::connect_with(broker.tcp, connect_packet(v, "", true), "anon-a").await;
    let mut b = Client::connect_with(broker.tcp, connect_packet(v, "", true), "anon-b").await;
    if v == Version::V5 {
        let id_a = a
            .connack
            .as_ref()
            .and_then(|c| c.properties.assigned_client_identifier.clone());
        let id_b = b
            .connack
            .as_ref()
            .and_then(|c| c.properties.assigned_client_identifier.clone());
        let (id_a, id_b) = (
            id_a.expect("[MQTT-3.2.2-16] Assigned Client Identifier"),
            id_b.expect("[MQTT-3.2.2-16] Assigned Client Identifier"),
        );
        assert!(!id_a.is_empty());
        assert_ne!(id_a, id_b, "[MQTT-3.1.3-6] assigned ids must be unique");
    }
    // Both stay connected: neither took the other over.
    a.expect_nothing("first anonymous client").await;
    b.expect_nothing("second anonymous client").await;
}
per_version!(
    mqtt_3_1_3_6_empty_client_id_gets_a_unique_id,
    empty_client_id
);

/// 3.1.1 [MQTT-3.1.3-8] "If the Client supplies a zero-byte ClientId with CleanSession set to
/// 0, the Server MUST respond to the CONNECT Packet with a CONNACK return code 0x02
/// (Identifier rejected) and then close the Network Connection." Byte-exact; also
/// [MQTT-3.2.2-4]: Session Present is 0 with a non-zero return code.
#[tokio::test]
async fn mqtt_3_1_3_8_empty_client_id_with_persistent_session_rejected() {
    let broker = Broker::target().await;
    let mut c = Client::tcp(broker.tcp, Version::V3_1_1, "empty-persistent").await;
    c.send(Packet::Connect(Box::new(connect_packet(
        Version::V3_1_1,
        "",
        false,
    ))))
    .await;
    assert_eq!(
        c.recv_raw(4).await,
        [0x20, 0x02, 0x00, 0x02],
        "[MQTT-3.1.3-8]"
    );
    let rest = c.recv_raw(16).await;
    assert!(
        rest.is_empty() && c.closed(),
        "[MQTT-3.2.2-5] close after refusal: {rest:02x?}"
    );
}

/// MQTT 3.1 (protocol `MQIsdp`, level 3), CONNECT variable header: "If the Client ID contains
/// more than 23 characters, the server responds to the CONNECT message with a CONNACK return
/// code 2: Identifier Rejected." (3.1.1 lifted this limit.)
#[tokio::test]
async fn mqtt3_1_client_id_longer_than_23_rejected() {
    let broker = Broker::target().await;
    let mut c = Client::tcp(broker.tcp, Version::V3_1, "long-id").await;
    c.send(Packet::Connect(Box::new(Connect::new(
        Version::V3_1,
        "a".repeat(24),
    ))))
    .await;
    assert_eq!(c.recv_raw(4).await, [0x20, 0x02, 0x00, 0x02], "CONNACK 2");
    let rest = c.recv_raw(16).await;
    assert!(
        rest.is_empty() && c.closed(),
        "closed after refusal: {rest:02x?}"
    );
    let _ok = Client::connected(broker.tcp, Version::V3_1, &"b".repeat(23)).await;
}
