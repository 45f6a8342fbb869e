//! Retained messages (3.1.1 §3.3.1.3, 5.0 §3.3.1.3): stored, replaced, deleted by an empty
//! payload, delivered on subscribe with RETAIN 1, forwarded live with RETAIN 0.

use bytes::Bytes;
use tern_codec::{Packet, QoS, Version};

use crate::per_version;
use crate::support::*;

/// 3.1.1 [MQTT-3.3.1-5] "If the RETAIN flag is set to 1, in a PUBLISH Packet sent by a Client
/// to a Server, the Server MUST store the Application Message and its QoS, so that it can be
/// delivered to future subscribers whose subscriptions match its topic name";
/// [MQTT-3.3.1-6] "When a new subscription is established, the last retained message, if
/// any, on each matching topic name MUST be sent to the subscriber"; [MQTT-3.3.1-8] "…the
/// Server MUST set the RETAIN flag to 1 if a message is sent as a result of a new
/// subscription". Delivered QoS = min(stored QoS, granted QoS).
async fn stored_and_delivered(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "r-pub").await;
    c.publish_simple("r/a", QoS::AtLeastOnce, "A", true).await;
    c.publish_simple("r/b/c", QoS::ExactlyOnce, "BC", true)
        .await;
    c.publish_simple("other", QoS::AtLeastOnce, "O", true).await;
    c.disconnect().await;

    let mut s = Client::connected(broker.tcp, v, "r-sub").await;
    s.subscribe("r/#", QoS::ExactlyOnce).await;
    let mut got = [s.recv_publish_acked().await, s.recv_publish_acked().await];
    got.sort_by(|a, b| a.topic.as_str().cmp(b.topic.as_str()));
    assert_eq!(got[0].topic.as_str(), "r/a");
    assert_eq!(got[0].payload, Bytes::from_static(b"A"));
    assert_eq!(
        got[0].qos_pid.qos(),
        QoS::AtLeastOnce,
        "[MQTT-3.3.1-5] QoS stored"
    );
    assert_eq!(got[1].topic.as_str(), "r/b/c");
    assert_eq!(got[1].qos_pid.qos(), QoS::ExactlyOnce);
    assert!(
        got.iter().all(|m| m.retain),
        "[MQTT-3.3.1-8] RETAIN 1 on subscribe"
    );
    s.expect_nothing("only matching retained messages").await;

    let mut low = Client::connected(broker.tcp, v, "r-low").await;
    low.subscribe("r/b/c", QoS::AtMostOnce).await;
    assert_eq!(
        low.recv_publish().await.qos_pid.qos(),
        QoS::AtMostOnce,
        "min with granted"
    );
}
per_version!(
    mqtt_3_3_1_5_retained_message_stored_and_sent_on_subscribe,
    stored_and_delivered
);

/// 3.1.1 [MQTT-3.3.1-9] "It MUST set the RETAIN flag to 0 when a PUBLISH Packet is sent to a
/// Client because it matches an established subscription regardless of how the flag was set
/// in the message it received." (5.0: [MQTT-3.3.1-12], Retain As Published = 0 default.)
async fn live_retain_zero(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "live").await;
    s.subscribe("live/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, v, "live-pub").await;
    c.publish_simple("live/t", QoS::AtLeastOnce, "x", true)
        .await;
    let m = s.recv_publish_acked().await;
    assert!(!m.retain, "[MQTT-3.3.1-9] live delivery has RETAIN 0");
}
per_version!(
    mqtt_3_3_1_9_live_messages_forwarded_with_retain_0,
    live_retain_zero
);

/// 3.1.1 [MQTT-3.3.1-7] a new retained message on a topic replaces the old one (for QoS 0
/// too: "it MUST discard any message previously retained for that topic"); 5.0
/// [MQTT-3.3.1-5] "the Server MUST replace any existing retained message for this topic".
async fn replaced(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "rep-pub").await;
    c.publish_simple("rep/t", QoS::AtLeastOnce, "old", true)
        .await;
    c.publish_simple("rep/t", QoS::AtMostOnce, "new", true)
        .await;
    c.ping().await;
    let mut s = Client::connected(broker.tcp, v, "rep-sub").await;
    s.subscribe("rep/t", QoS::AtLeastOnce).await;
    let m = s.recv_publish_acked().await;
    assert_eq!(m.payload, Bytes::from_static(b"new"), "[MQTT-3.3.1-7]");
    s.expect_nothing("one retained message per topic").await;
}
per_version!(mqtt_3_3_1_7_retained_message_replaced, replaced);

/// 3.1.1 [MQTT-3.3.1-10] "A PUBLISH Packet with a RETAIN flag set to 1 and a payload
/// containing zero bytes will be processed as normal by the Server and sent to Clients with a
/// subscription matching the topic name. Additionally any existing retained message with the
/// same topic name MUST be removed"; [MQTT-3.3.1-11] "A zero byte retained message MUST NOT
/// be stored as a retained message on the Server."
async fn deleted(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "del-pub").await;
    c.publish_simple("del/t", QoS::AtLeastOnce, "keep me?", true)
        .await;
    let mut live = Client::connected(broker.tcp, v, "del-live").await;
    live.subscribe("del/#", QoS::AtLeastOnce).await;
    assert!(live.recv_publish_acked().await.retain);
    c.publish_simple("del/t", QoS::AtLeastOnce, "", true).await;
    let m = live.recv_publish_acked().await;
    assert!(m.payload.is_empty(), "[MQTT-3.3.1-10] processed as normal");
    c.publish_simple("del/empty", QoS::AtLeastOnce, "", true)
        .await;
    assert!(live.recv_publish_acked().await.payload.is_empty());

    let mut late = Client::connected(broker.tcp, v, "del-late").await;
    late.subscribe("del/#", QoS::AtLeastOnce).await;
    late.expect_nothing("[MQTT-3.3.1-10]/[MQTT-3.3.1-11] nothing retained")
        .await;
}
per_version!(mqtt_3_3_1_10_empty_retained_payload_deletes, deleted);

/// 3.1.1 [MQTT-3.3.1-12] "If the RETAIN flag is 0, in a PUBLISH Packet sent by a Client to a
/// Server, the Server MUST NOT store the message and MUST NOT remove or replace any existing
/// retained message." (5.0 [MQTT-3.3.1-8].)
async fn non_retained_leaves_store(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "nr-pub").await;
    c.publish_simple("nr/t", QoS::AtLeastOnce, "retained", true)
        .await;
    c.publish_simple("nr/t", QoS::AtLeastOnce, "plain", false)
        .await;
    c.publish_simple("nr/t", QoS::AtLeastOnce, "", false).await;
    c.publish_simple("nr/u", QoS::AtLeastOnce, "plain", false)
        .await;
    let mut s = Client::connected(broker.tcp, v, "nr-sub").await;
    s.subscribe("nr/#", QoS::AtLeastOnce).await;
    let m = s.recv_publish_acked().await;
    assert_eq!(
        (m.topic.as_str(), &m.payload[..]),
        ("nr/t", &b"retained"[..])
    );
    s.expect_nothing("[MQTT-3.3.1-12] non-retained messages are not stored")
        .await;
}
per_version!(
    mqtt_3_3_1_12_non_retained_publish_leaves_retained_store,
    non_retained_leaves_store
);

/// [MQTT-4.7.2-1] applies to retained messages too: subscribing to `#` does not deliver
/// retained `$`-topics (including the broker's retained `$SYS` topics).
async fn retained_dollar(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "rd-pub").await;
    c.publish_simple("$rd/t", QoS::AtLeastOnce, "hidden", true)
        .await;
    c.publish_simple("rd/t", QoS::AtLeastOnce, "seen", true)
        .await;
    let mut s = Client::connected(broker.tcp, v, "rd-sub").await;
    s.subscribe("#", QoS::AtLeastOnce).await;
    let got = s.ping().await;
    let topics: Vec<&str> = got
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(m) => Some(m.topic.as_str()),
            _ => None,
        })
        .collect();
    assert!(topics.contains(&"rd/t"), "{topics:?}");
    assert!(
        topics.iter().all(|t| !t.starts_with('$')),
        "[MQTT-4.7.2-1] {topics:?}"
    );
}
per_version!(
    mqtt_4_7_2_1_retained_dollar_topics_not_sent_to_hash,
    retained_dollar
);
