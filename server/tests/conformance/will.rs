//! Will Messages (3.1.1 §3.1.2.5, 5.0 §3.1.2.5 and §3.1.3.2): published on every close that
//! is not a clean DISCONNECT, never after one; v5 Will Delay Interval and DISCONNECT 0x04.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_codec::{Connect, QoS, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

/// A watcher subscribed (QoS 2) to `will/<id>`, and a connected client with a will on it.
async fn setup(
    broker: &Broker,
    v: Version,
    id: &str,
    adjust: impl FnOnce(&mut Connect),
) -> (Client, Client) {
    let will_topic = format!("will/{id}");
    let mut watcher = Client::connected(broker.tcp, v, &format!("{id}-watcher")).await;
    watcher.subscribe(&will_topic, QoS::ExactlyOnce).await;
    let mut conn = connect_with_will(v, id, &will_topic, "gone", QoS::AtLeastOnce, false);
    adjust(&mut conn);
    let victim = Client::connect_with(broker.tcp, conn, id).await;
    (watcher, victim)
}

async fn expect_will(watcher: &mut Client, id: &str) {
    let p = watcher.recv_publish_acked().await;
    assert_eq!(p.topic.as_str(), format!("will/{id}"));
    assert_eq!(p.payload, Bytes::from_static(b"gone"));
    assert_eq!(
        p.qos_pid.qos(),
        QoS::AtLeastOnce,
        "will QoS 1 with a QoS 2 subscription"
    );
    assert!(
        !p.retain,
        "[MQTT-3.1.2-16] will retain 0 → published non-retained"
    );
}

/// 3.1.1 [MQTT-3.1.2-8] "If the Will Flag is set to 1 this indicates that, if the Connect
/// request is accepted, a Will Message MUST be stored on the Server and associated with the
/// Network Connection. The Will Message MUST be published when the Network Connection is
/// subsequently closed unless the Will Message has been deleted by the Server on receipt of
/// a DISCONNECT Packet." Case: the client's socket just goes away.
async fn will_on_drop(v: Version) {
    let broker = Broker::target().await;
    let (mut watcher, victim) = setup(&broker, v, "drop", |_| {}).await;
    victim.drop_connection();
    expect_will(&mut watcher, "drop").await;
}
per_version!(mqtt_3_1_2_8_will_published_when_socket_drops, will_on_drop);

/// [MQTT-3.1.2-8], situation "the Client fails to communicate within the Keep Alive time".
async fn will_on_keepalive(v: Version) {
    let broker = Broker::target().await;
    let (mut watcher, mut victim) = setup(&broker, v, "silent", |c| c.keep_alive = 1).await;
    expect_will(&mut watcher, "silent").await;
    let _ = victim.expect_closed().await;
}
per_version!(
    mqtt_3_1_2_8_will_published_on_keepalive_timeout,
    will_on_keepalive
);

/// [MQTT-3.1.2-8], situation "the Server closes the Network Connection because of a protocol
/// error" (here a PUBLISH with QoS 3, [MQTT-3.3.1-4]).
async fn will_on_protocol_error(v: Version) {
    let broker = Broker::target().await;
    let (mut watcher, mut victim) = setup(&broker, v, "rogue", |_| {}).await;
    let props = (v == Version::V5).then_some(&[][..]);
    victim
        .send_raw(&raw_publish(0x06, b"a/b", Some(1), props, b"x"))
        .await;
    let _ = victim.expect_closed().await;
    expect_will(&mut watcher, "rogue").await;
}
per_version!(
    mqtt_3_1_2_8_will_published_on_protocol_error,
    will_on_protocol_error
);

/// [MQTT-3.1.2-8] with [MQTT-3.1.4-2]: a takeover closes the old connection without a
/// DISCONNECT from that client, so its will is published (v5: Will Delay 0).
async fn will_on_takeover(v: Version) {
    let broker = Broker::target().await;
    let (mut watcher, mut victim) = setup(&broker, v, "taken", |_| {}).await;
    let _new = Client::connected(broker.tcp, v, "taken").await;
    let _ = victim.expect_closed().await;
    expect_will(&mut watcher, "taken").await;
}
per_version!(mqtt_3_1_2_8_will_published_on_takeover, will_on_takeover);

/// 3.1.1 [MQTT-3.1.2-10] "The Will Message MUST be removed from the stored Session state in
/// the Server once it has been published or the Server has received a DISCONNECT packet from
/// the Client." 5.0 [MQTT-3.14.4-3] "On receipt of DISCONNECT with a Reason Code of 0x00
/// (Success) the Server MUST discard any Will Message associated with the current Connection
/// without publishing it."
async fn no_will_on_disconnect(v: Version) {
    let broker = Broker::target().await;
    let (mut watcher, victim) = setup(&broker, v, "polite", |_| {}).await;
    victim.disconnect().await;
    watcher
        .expect_nothing("[MQTT-3.1.2-10] will after DISCONNECT")
        .await;
}
per_version!(
    mqtt_3_1_2_10_no_will_after_disconnect,
    no_will_on_disconnect
);

/// 3.1.1 [MQTT-3.1.2-12] "If the Will Flag is set to 0, a Will Message MUST NOT be published
/// when this Network Connection ends."
async fn no_will_flag(v: Version) {
    let broker = Broker::target().await;
    let mut watcher = Client::connected(broker.tcp, v, "nowill-watcher").await;
    watcher.subscribe("#", QoS::AtMostOnce).await;
    let victim = Client::connected(broker.tcp, v, "nowill").await;
    victim.drop_connection();
    watcher.expect_nothing("[MQTT-3.1.2-12]").await;
}
per_version!(mqtt_3_1_2_12_no_will_flag_no_will, no_will_flag);

/// 3.1.1 [MQTT-3.1.2-17] / 5.0 [MQTT-3.1.2-15] "If the Will Flag is set to 1 and If Will
/// Retain is set to 1, the Server MUST publish the Will Message as a retained message."
async fn will_retained(v: Version) {
    let broker = Broker::target().await;
    let conn = connect_with_will(v, "ret", "will/ret", "gone", QoS::AtMostOnce, true);
    let victim = Client::connect_with(broker.tcp, conn, "ret").await;
    let mut live = Client::connected(broker.tcp, v, "ret-live").await;
    live.subscribe("will/ret", QoS::AtMostOnce).await;
    victim.drop_connection();
    let p = live.recv_publish().await;
    assert_eq!(p.payload, Bytes::from_static(b"gone"));
    let mut late = Client::connected(broker.tcp, v, "ret-late").await;
    late.subscribe("will/ret", QoS::AtMostOnce).await;
    let p = late.recv_publish().await;
    assert!(p.retain, "[MQTT-3.1.2-17] will stored as retained");
    assert_eq!(p.payload, Bytes::from_static(b"gone"));
}
per_version!(mqtt_3_1_2_17_will_retain_publishes_retained, will_retained);

/// 5.0 §3.14.2.1 Reason Code 0x04 "Disconnect with Will Message: The Client wishes to
/// disconnect but requires that the Server also publishes its Will Message."
#[tokio::test]
async fn mqtt5_3_14_2_1_disconnect_0x04_publishes_will() {
    let broker = Broker::target().await;
    let (mut watcher, mut victim) = setup(&broker, Version::V5, "w04", |_| {}).await;
    victim
        .send(disconnect(ReasonCode::DisconnectWithWillMessage))
        .await;
    let _ = victim.expect_closed().await;
    expect_will(&mut watcher, "w04").await;
}

/// 5.0 [MQTT-3.1.3-10] "The Server MUST maintain the order of User Properties when
/// publishing the Will Message"; will properties (content type, response topic, correlation
/// data, payload format) travel like those of a PUBLISH ([MQTT-3.3.2-4], -15, -16, -20).
#[tokio::test]
async fn mqtt5_3_1_3_10_will_properties_forwarded_in_order() {
    let broker = Broker::target().await;
    let (mut watcher, victim) = setup(&broker, Version::V5, "wprops", |c| {
        let w = c.will.as_mut().expect("will");
        w.properties.user_properties = vec![
            ("k".into(), "2".into()),
            ("a".into(), "1".into()),
            ("k".into(), "1".into()),
        ];
        w.properties.content_type = Some("text/plain".into());
        w.properties.response_topic = Some(topic("reply/here"));
        w.properties.correlation_data = Some(Bytes::from_static(&[0, 1, 2]));
        w.properties.payload_format_indicator = Some(true);
    })
    .await;
    victim.drop_connection();
    let p = watcher.recv_publish_acked().await;
    let props = &p.properties;
    let users: Vec<(&str, &str)> = props
        .user_properties
        .iter()
        .map(|(k, v)| (&k[..], &v[..]))
        .collect();
    assert_eq!(
        users,
        [("k", "2"), ("a", "1"), ("k", "1")],
        "[MQTT-3.1.3-10]"
    );
    assert_eq!(props.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        props.response_topic.as_ref().map(|t| t.as_str()),
        Some("reply/here")
    );
    assert_eq!(props.correlation_data.as_deref(), Some(&[0u8, 1, 2][..]));
    assert_eq!(props.payload_format_indicator, Some(true));
}

fn with_delay(delay: u32, session_expiry: u32) -> impl FnOnce(&mut Connect) {
    move |c| {
        c.properties.session_expiry_interval = Some(session_expiry);
        c.will
            .as_mut()
            .expect("will")
            .properties
            .will_delay_interval = Some(delay);
    }
}

/// 5.0 §3.1.3.2.2 Will Delay Interval: "The Server delays publishing the Client's Will
/// Message until the Will Delay Interval has passed or the Session ends, whichever happens
/// first." Here the delay (1 s) ends first.
#[tokio::test]
async fn mqtt5_3_1_3_2_2_will_delay_interval_delays_the_will() {
    let broker = Broker::target().await;
    let (mut watcher, victim) = setup(&broker, Version::V5, "delayed", with_delay(1, 60)).await;
    let start = Instant::now();
    victim.drop_connection();
    expect_will(&mut watcher, "delayed").await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "will sent after {took:?}, before its delay"
    );
}

/// 5.0 §3.1.3.2.2, the other branch: the session (expiry 1 s) ends before the delay (60 s),
/// so the will is sent when the session ends.
#[tokio::test]
async fn mqtt5_3_1_3_2_2_will_sent_when_session_ends_first() {
    let broker = Broker::target().await;
    let (mut watcher, victim) = setup(&broker, Version::V5, "expiring", with_delay(60, 1)).await;
    let start = Instant::now();
    victim.drop_connection();
    expect_will(&mut watcher, "expiring").await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "will sent after {took:?}, before session end"
    );
}

/// 5.0 [MQTT-3.1.3-9] "If a new Network Connection to this Session is made before the Will
/// Delay Interval has passed, the Server MUST NOT send the Will Message." Proving absence
/// needs the delay (2 s) to pass, hence the one real-time wait.
#[tokio::test]
async fn mqtt5_3_1_3_9_reconnect_within_will_delay_cancels_will() {
    let broker = Broker::target().await;
    let (mut watcher, victim) = setup(&broker, Version::V5, "back", with_delay(2, 60)).await;
    victim.drop_connection();
    let mut again = connect_packet(Version::V5, "back", false);
    again.properties.session_expiry_interval = Some(60);
    let mut back = Client::connect_with(broker.tcp, again, "back-again").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    watcher
        .expect_nothing("[MQTT-3.1.3-9] will after reconnect")
        .await;
    back.expect_nothing("reconnected client").await;
}
