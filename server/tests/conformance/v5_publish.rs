//! MQTT 5 PUBLISH features (5.0 §3.3.2.3): property pass-through, Message Expiry, Topic
//! Aliases in both directions.

use std::num::NonZeroU16;
use std::time::Duration;

use bytes::Bytes;
use tern_codec::{Connect, QoS, ReasonCode, Version};

use crate::session::persistent;
use crate::support::*;

const V5: Version = Version::V5;

/// [MQTT-3.3.2-4] "A Server MUST send the Payload Format Indicator unaltered to all
/// subscribers receiving the Application Message"; [MQTT-3.3.2-15] "The Server MUST send the
/// Response Topic unaltered"; [MQTT-3.3.2-16] "The Server MUST send the Correlation Data
/// unaltered"; [MQTT-3.3.2-17] "The Server MUST send all User Properties unaltered in a
/// PUBLISH packet when forwarding the Application Message to a Client"; [MQTT-3.3.2-18] "The
/// Server MUST maintain the order of User Properties when forwarding the Application
/// Message"; [MQTT-3.3.2-20] "A Server MUST send the Content Type unaltered".
/// Also for retained messages delivered later.
#[tokio::test]
async fn mqtt5_3_3_2_17_properties_forwarded_unaltered() {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, V5, "props-sub").await;
    s.subscribe("props/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "props-pub").await;
    let mut p = publish("props/t", QoS::AtLeastOnce, "{\"v\":1}".as_bytes());
    p.retain = true;
    p.properties.payload_format_indicator = Some(true);
    p.properties.content_type = Some("application/json".into());
    p.properties.response_topic = Some(topic("props/reply"));
    p.properties.correlation_data = Some(Bytes::from_static(&[9, 8, 7, 0, 255]));
    p.properties.user_properties = vec![
        ("z".into(), "last?".into()),
        ("a".into(), "1".into()),
        ("a".into(), "2".into()),
        ("é".into(), "ü".into()),
    ];
    let sent = p.properties.clone();
    c.publish(p).await;
    for m in [s.recv_publish_acked().await, {
        let mut late = Client::connected(broker.tcp, V5, "props-late").await;
        late.subscribe("props/t", QoS::AtLeastOnce).await;
        late.recv_publish_acked().await
    }] {
        let got = &m.properties;
        assert_eq!(got.payload_format_indicator, Some(true), "[MQTT-3.3.2-4]");
        assert_eq!(got.content_type, sent.content_type, "[MQTT-3.3.2-20]");
        assert_eq!(got.response_topic, sent.response_topic, "[MQTT-3.3.2-15]");
        assert_eq!(
            got.correlation_data, sent.correlation_data,
            "[MQTT-3.3.2-16]"
        );
        assert_eq!(
            got.user_properties, sent.user_properties,
            "[MQTT-3.3.2-17]/[MQTT-3.3.2-18]"
        );
        assert_eq!(m.payload, Bytes::from_static(b"{\"v\":1}"));
    }
}

/// [MQTT-3.3.2-5] "If the Message Expiry Interval has passed and the Server has not managed
/// to start onward delivery to a matching subscriber, then it MUST delete the copy of the
/// message for that subscriber." Queued for an offline session; expiry 1 s; real time passes.
/// Expired retained messages are not delivered either (§3.3.2.3.3).
#[tokio::test]
async fn mqtt5_3_3_2_5_expired_messages_not_delivered() {
    let broker = Broker::target().await;
    let mut s = Client::connect_with(broker.tcp, persistent(V5, "exp"), "exp").await;
    s.subscribe("exp/t", QoS::AtLeastOnce).await;
    s.disconnect().await;
    let mut c = Client::connected(broker.tcp, V5, "exp-pub").await;
    let mut p = publish("exp/t", QoS::AtLeastOnce, b"short-lived");
    p.properties.message_expiry_interval = Some(1);
    c.publish(p.clone()).await;
    p.topic = topic("exp/retained");
    p.retain = true;
    c.publish(p).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let mut s = Client::tcp(broker.tcp, V5, "exp").await;
    assert!(s.handshake(persistent(V5, "exp")).await.session_present);
    s.expect_nothing("[MQTT-3.3.2-5] expired queued message")
        .await;
    s.subscribe("exp/retained", QoS::AtLeastOnce).await;
    s.expect_nothing("expired retained message").await;
}

/// [MQTT-3.3.2-6] "The PUBLISH packet sent to a Client by the Server MUST contain a Message
/// Expiry Interval set to the received value minus the time that the Application Message has
/// been waiting in the Server."
#[tokio::test]
async fn mqtt5_3_3_2_6_expiry_interval_decremented() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "dec-pub").await;
    let mut p = publish("dec/t", QoS::AtLeastOnce, b"x");
    p.retain = true;
    p.properties.message_expiry_interval = Some(100);
    c.publish(p).await;
    let mut live = Client::connected(broker.tcp, V5, "dec-live").await;
    live.subscribe("dec/t", QoS::AtLeastOnce).await;
    let fresh = live
        .recv_publish_acked()
        .await
        .properties
        .message_expiry_interval;
    assert!(matches!(fresh, Some(99..=100)), "{fresh:?}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut late = Client::connected(broker.tcp, V5, "dec-late").await;
    late.subscribe("dec/t", QoS::AtLeastOnce).await;
    let later = late
        .recv_publish_acked()
        .await
        .properties
        .message_expiry_interval;
    assert!(
        matches!(later, Some(96..=98)),
        "[MQTT-3.3.2-6] after ~2 s: {later:?}"
    );
}

fn alias(n: u16) -> Option<NonZeroU16> {
    NonZeroU16::new(n)
}

/// Client → server aliases (§3.3.2.3.4): the CONNACK announces Topic Alias Maximum; a
/// PUBLISH with topic + alias sets the mapping, later ones may send an empty topic
/// ([MQTT-3.3.2-7]: mappings are per connection). Subscribers get the full topic.
#[tokio::test]
async fn mqtt5_3_3_2_7_inbound_topic_alias_resolved() {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, V5, "al-sub").await;
    s.subscribe("al/#", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "al-pub").await;
    let max = c
        .connack
        .as_ref()
        .and_then(|a| a.properties.topic_alias_maximum)
        .unwrap_or(0);
    assert!(
        max >= 1,
        "tern announces a Topic Alias Maximum (default 10)"
    );
    let mut p = publish("al/one", QoS::AtLeastOnce, b"1");
    p.properties.topic_alias = alias(1);
    c.publish(p).await;
    let mut p = publish("al/one", QoS::AtLeastOnce, b"2");
    p.topic = tern_codec::TopicName::empty();
    p.properties.topic_alias = alias(1);
    c.publish(p).await;
    let mut p = publish("al/two", QoS::AtLeastOnce, b"3");
    p.properties.topic_alias = alias(1); // remap
    c.publish(p).await;
    for (t, body) in [("al/one", "1"), ("al/one", "2"), ("al/two", "3")] {
        let m = s.recv_publish_acked().await;
        assert_eq!((m.topic.as_str(), &m.payload[..]), (t, body.as_bytes()));
    }
    // A new connection starts without mappings ([MQTT-3.3.2-7]): empty topic + alias 1 is a
    // Protocol Error there.
    let mut fresh = Client::connected(broker.tcp, V5, "al-fresh").await;
    fresh
        .send_raw(&raw_publish(
            0x00,
            b"",
            None,
            Some(&[0x23, 0x00, 0x01]),
            b"?",
        ))
        .await;
    fresh
        .expect_disconnect(ReasonCode::ProtocolError, "[MQTT-3.3.2-7] unknown alias")
        .await;
}

/// [MQTT-3.3.2-8] "A sender MUST NOT send a PUBLISH packet containing a Topic Alias which has
/// the value 0"; [MQTT-3.3.2-9] "A Client MUST NOT send a PUBLISH packet with a Topic Alias
/// greater than the Topic Alias Maximum value returned by the Server in the CONNACK packet."
/// The first is answered with DISCONNECT 0x94 (Topic Alias invalid).
#[tokio::test]
async fn mqtt5_3_3_2_9_topic_alias_out_of_range_disconnects_0x94() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "al-big").await;
    let max = c
        .connack
        .as_ref()
        .and_then(|a| a.properties.topic_alias_maximum)
        .unwrap_or(0);
    let [hi, lo] = (max + 1).to_be_bytes();
    c.send_raw(&raw_publish(
        0x00,
        b"al/x",
        None,
        Some(&[0x23, hi, lo]),
        b"?",
    ))
    .await;
    c.expect_disconnect(ReasonCode::TopicAliasInvalid, "[MQTT-3.3.2-9]")
        .await;

    let mut c = Client::connected(broker.tcp, V5, "al-zero").await;
    c.send_raw(&raw_publish(0x00, b"al/x", None, Some(&[0x23, 0, 0]), b"?"))
        .await;
    // The specification names no code for alias 0; 0x94 fits best, 0x82/0x81 are defensible.
    let ok = [
        ReasonCode::TopicAliasInvalid,
        ReasonCode::ProtocolError,
        ReasonCode::MalformedPacket,
    ];
    c.expect_disconnect_any(&ok, "[MQTT-3.3.2-8]").await;
}

/// Server → client aliases: [MQTT-3.1.2-27] "If Topic Alias Maximum is absent or zero, the
/// Server MUST NOT send any Topic Aliases to the Client"; [MQTT-3.1.2-26] "The Server MUST
/// NOT send a Topic Alias in a PUBLISH packet to the Client greater than this value" (both
/// checked on every packet by the harness). Tern uses outgoing aliases when allowed
/// (issue #3): repeated topics then travel as alias-only PUBLISHes.
#[tokio::test]
async fn mqtt5_3_1_2_26_outbound_topic_aliases_within_client_maximum() {
    let broker = Broker::target().await;
    let mut none = Client::connected(broker.tcp, V5, "oa-none").await;
    none.subscribe("oa/#", QoS::AtMostOnce).await;
    let mut conn = Connect::new(V5, "oa-two");
    conn.properties.topic_alias_maximum = Some(2);
    let mut two = Client::connect_with(broker.tcp, conn, "oa-two").await;
    two.subscribe("oa/#", QoS::AtMostOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "oa-pub").await;
    let topics = [
        "oa/a", "oa/b", "oa/c", "oa/a", "oa/b", "oa/c", "oa/a", "oa/a",
    ];
    for t in topics {
        c.publish_simple(t, QoS::AtLeastOnce, t, false).await;
    }
    for t in topics {
        let m = none.recv_publish().await;
        assert_eq!(m.properties.topic_alias, None, "[MQTT-3.1.2-27]");
        assert_eq!(m.topic.as_str(), t);
    }
    // The harness resolves aliases and panics on unknown or too-large ones; it also fills the
    // topic in, so what arrives must equal what was sent.
    let mut aliased = 0;
    for t in topics {
        let m = two.recv_publish().await;
        assert_eq!(m.topic.as_str(), t, "alias resolution");
        assert_eq!(m.payload, Bytes::copy_from_slice(t.as_bytes()));
        aliased += usize::from(m.properties.topic_alias.is_some());
    }
    assert!(
        aliased > 0,
        "issue #3: outgoing topic aliases are used when the client allows them"
    );
}

/// [MQTT-3.3.2-5] also holds for a connected subscriber whose Receive Maximum window is full:
/// a message that expires while waiting behind it is deleted, not delivered late.
#[tokio::test]
async fn mqtt5_3_3_2_5_expiry_while_queued_behind_receive_maximum() {
    let broker = Broker::target().await;
    let mut conn = Connect::new(V5, "exp-win");
    conn.properties.receive_maximum = Some(1);
    let mut s = Client::connect_with(broker.tcp, conn, "exp-win").await;
    s.subscribe("expw/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "expw-pub").await;
    c.publish_simple("expw/t", QoS::AtLeastOnce, "blocker", false)
        .await;
    let mut p = publish("expw/t", QoS::AtLeastOnce, b"expires");
    p.properties.message_expiry_interval = Some(1);
    c.publish(p).await;
    c.publish_simple("expw/t", QoS::AtLeastOnce, "lasting", false)
        .await;
    let blocker = s.recv_publish().await;
    assert_eq!(blocker.payload.as_ref(), b"blocker");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    s.ack(&blocker).await;
    let next = s.recv_publish_acked().await;
    assert_eq!(
        next.payload.as_ref(),
        b"lasting",
        "[MQTT-3.3.2-5] expired message delivered"
    );
}

/// [MQTT-3.3.2-7] "A receiver MUST NOT carry forward any Topic Alias mappings from one Network
/// Connection to another": PUBLISH packets re-sent after a reconnect must carry their topic
/// (or a mapping established on the new connection), never an alias from the old one. The
/// harness panics on an unknown alias.
#[tokio::test]
async fn mqtt5_3_3_2_7_resent_messages_do_not_use_old_aliases() {
    let broker = Broker::target().await;
    let mut conn = crate::session::persistent(V5, "alias-resend");
    conn.properties.topic_alias_maximum = Some(5);
    let mut s = Client::connect_with(broker.tcp, conn.clone(), "alias-resend").await;
    s.subscribe("ar/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "ar-pub").await;
    for i in 0..3 {
        c.publish_simple("ar/t", QoS::AtLeastOnce, &i.to_string(), false)
            .await;
    }
    for _ in 0..3 {
        s.recv_publish().await; // not acknowledged
    }
    s.drop_connection();
    let mut s = Client::tcp(broker.tcp, V5, "alias-resend-again").await;
    assert!(s.handshake(conn).await.session_present);
    for i in 0..3 {
        let m = s.recv_publish_acked().await;
        assert_eq!(
            (m.topic.as_str(), m.payload.as_ref()),
            ("ar/t", i.to_string().as_bytes())
        );
        assert!(m.dup);
    }
}
