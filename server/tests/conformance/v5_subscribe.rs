//! MQTT 5 subscription options and identifiers, shared subscriptions (5.0 §3.8.3.1,
//! §3.8.2.1.2, §3.3.4, §4.8.2).

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use tern_codec::{
    Packet, QoS, ReasonCode, RetainHandling, Subscribe, SubscriptionOptions, Version,
};

use crate::support::*;

const V5: Version = Version::V5;

fn opts(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions::new(qos)
}

/// [MQTT-3.8.3-3] "If the value [of No Local] is 1, Application Messages MUST NOT be forwarded
/// to a connection with a ClientID equal to the ClientID of the publishing connection."
#[tokio::test]
async fn mqtt5_3_8_3_3_no_local() {
    let broker = Broker::target().await;
    let mut me = Client::connected(broker.tcp, V5, "nl").await;
    let ack = me
        .subscribe_opts(
            "nl/t",
            SubscriptionOptions {
                no_local: true,
                ..opts(QoS::AtLeastOnce)
            },
        )
        .await;
    assert_eq!(ack.reasons, [ReasonCode::GrantedQoS1]);
    let mut other = Client::connected(broker.tcp, V5, "nl-other").await;
    other.subscribe("nl/t", QoS::AtLeastOnce).await;
    me.publish_simple("nl/t", QoS::AtLeastOnce, "mine", false)
        .await;
    assert_eq!(other.recv_publish_acked().await.payload.as_ref(), b"mine");
    me.expect_nothing("[MQTT-3.8.3-3] own message with No Local")
        .await;
    other
        .publish_simple("nl/t", QoS::AtLeastOnce, "theirs", false)
        .await;
    assert_eq!(me.recv_publish_acked().await.payload.as_ref(), b"theirs");
}

/// [MQTT-3.3.1-12] "If the value of Retain As Published subscription option is set to 0, the
/// Server MUST set the RETAIN flag to 0 when forwarding an Application Message regardless of
/// how the RETAIN flag was set in the received PUBLISH packet"; [MQTT-3.3.1-13] "If the value
/// of Retain As Published subscription option is set to 1, the Server MUST set the RETAIN
/// flag equal to the RETAIN flag in the received PUBLISH packet."
#[tokio::test]
async fn mqtt5_3_3_1_13_retain_as_published() {
    let broker = Broker::target().await;
    let mut rap = Client::connected(broker.tcp, V5, "rap1").await;
    rap.subscribe_opts(
        "rap/t",
        SubscriptionOptions {
            retain_as_published: true,
            ..opts(QoS::AtLeastOnce)
        },
    )
    .await;
    let mut plain = Client::connected(broker.tcp, V5, "rap0").await;
    plain.subscribe("rap/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "rap-pub").await;
    c.publish_simple("rap/t", QoS::AtLeastOnce, "r", true).await;
    c.publish_simple("rap/t", QoS::AtLeastOnce, "n", false)
        .await;
    assert!(rap.recv_publish_acked().await.retain, "[MQTT-3.3.1-13]");
    assert!(!rap.recv_publish_acked().await.retain, "[MQTT-3.3.1-13]");
    assert!(!plain.recv_publish_acked().await.retain, "[MQTT-3.3.1-12]");
    assert!(!plain.recv_publish_acked().await.retain, "[MQTT-3.3.1-12]");
}

/// [MQTT-3.3.1-9] "If Retain Handling is set to 0 the Server MUST send the retained messages
/// matching the Topic Filter of the subscription to the Client"; [MQTT-3.3.1-10] "If Retain
/// Handling is set to 1 then if the subscription did not already exist, the Server MUST send
/// all retained message matching the Topic Filter of the subscription to the Client, and if
/// the subscription did exist the Server MUST NOT send the retained messages";
/// [MQTT-3.3.1-11] "If Retain Handling is set to 2, the Server MUST NOT send the retained
/// messages."
#[tokio::test]
async fn mqtt5_3_3_1_9_to_11_retain_handling() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "rh-pub").await;
    c.publish_simple("rh/t", QoS::AtLeastOnce, "kept", true)
        .await;
    let rh = |h| SubscriptionOptions {
        retain_handling: h,
        ..opts(QoS::AtLeastOnce)
    };

    let mut s0 = Client::connected(broker.tcp, V5, "rh0").await;
    for _ in 0..2 {
        s0.subscribe_opts("rh/t", rh(RetainHandling::SendAtSubscribe))
            .await;
        assert!(
            s0.recv_publish_acked().await.retain,
            "[MQTT-3.3.1-9] every time"
        );
    }

    let mut s1 = Client::connected(broker.tcp, V5, "rh1").await;
    s1.subscribe_opts("rh/t", rh(RetainHandling::SendIfNewSubscription))
        .await;
    assert!(
        s1.recv_publish_acked().await.retain,
        "[MQTT-3.3.1-10] new subscription"
    );
    s1.subscribe_opts("rh/t", rh(RetainHandling::SendIfNewSubscription))
        .await;
    s1.expect_nothing("[MQTT-3.3.1-10] subscription existed")
        .await;

    let mut s2 = Client::connected(broker.tcp, V5, "rh2").await;
    s2.subscribe_opts("rh/t", rh(RetainHandling::DoNotSend))
        .await;
    s2.expect_nothing("[MQTT-3.3.1-11]").await;
    c.publish_simple("rh/t", QoS::AtLeastOnce, "live", false)
        .await;
    assert_eq!(
        s2.recv_publish_acked().await.payload.as_ref(),
        b"live",
        "still subscribed"
    );
}

fn sub_with_id(p: u16, f: &str, id: u32) -> Subscribe {
    let mut s = Subscribe {
        pid: pid(p),
        filters: vec![(filter(f), opts(QoS::AtLeastOnce))],
        properties: Default::default(),
    };
    s.properties.subscription_identifier = NonZeroU32::new(id);
    s
}

/// [MQTT-3.3.4-3] "If the Client specified a Subscription Identifier for any of the
/// overlapping subscriptions the Server MUST send those Subscription Identifiers in the
/// message which is published as the result of the subscriptions"; [MQTT-3.3.4-4] "If the
/// Server sends a single copy of the message it MUST include in the PUBLISH packet the
/// Subscription Identifiers for all matching subscriptions which have a Subscription
/// Identifiers, their order is not significant." Retained deliveries carry it too.
#[tokio::test]
async fn mqtt5_3_3_4_3_subscription_identifiers_delivered() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "sid-pub").await;
    c.publish_simple("sid/a/b", QoS::AtLeastOnce, "ret", true)
        .await;
    let mut s = Client::connected(broker.tcp, V5, "sid").await;
    s.subscribe_packet(sub_with_id(1, "sid/+/b", 7)).await;
    let m = s.recv_publish_acked().await;
    assert!(m.retain);
    assert_eq!(
        m.properties.subscription_identifiers,
        [NonZeroU32::new(7).unwrap()]
    );
    s.subscribe_packet(sub_with_id(2, "sid/#", 300_000)).await;
    let _retained_again = s.recv_publish_acked().await;
    s.subscribe("sid/a/+", QoS::AtLeastOnce).await; // no identifier
    let _retained_again = s.recv_publish_acked().await;

    c.publish_simple("sid/a/b", QoS::AtLeastOnce, "live", false)
        .await;
    let m = s.recv_publish_acked().await;
    let ids: BTreeSet<u32> = m
        .properties
        .subscription_identifiers
        .iter()
        .map(|i| i.get())
        .collect();
    assert_eq!(ids, BTreeSet::from([7, 300_000]), "[MQTT-3.3.4-4] {m:?}");
    s.expect_nothing("one copy").await;
    c.publish_simple("sid/x/y", QoS::AtLeastOnce, "one", false)
        .await;
    let m = s.recv_publish_acked().await;
    assert_eq!(
        m.properties.subscription_identifiers,
        [NonZeroU32::new(300_000).unwrap()]
    );
}

/// [MQTT-3.3.4-6] "A PUBLISH packet sent from a Client to a Server MUST NOT contain a
/// Subscription Identifier." The server treats it as a Protocol Error: DISCONNECT 0x82.
#[tokio::test]
async fn mqtt5_3_3_4_6_client_publish_with_subscription_identifier_is_protocol_error() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "sid-bad").await;
    // Property 0x0B (Subscription Identifier) = 5.
    c.send_raw(&raw_publish(0x00, b"a/b", None, Some(&[0x0B, 0x05]), b"x"))
        .await;
    c.expect_disconnect(ReasonCode::ProtocolError, "[MQTT-3.3.4-6]")
        .await;
}

/// §4.8.2 Shared Subscriptions: "each message is delivered to only one of the Sessions
/// subscribed to the shared subscription"; tern distributes round robin (issue #3); a
/// non-shared subscriber of the same filter still gets every message.
#[tokio::test]
async fn mqtt5_4_8_2_shared_subscription_round_robin() {
    let broker = Broker::target().await;
    let mut a = Client::connected(broker.tcp, V5, "sh-a").await;
    let mut b = Client::connected(broker.tcp, V5, "sh-b").await;
    a.subscribe("$share/g/sh/+", QoS::AtLeastOnce).await;
    b.subscribe("$share/g/sh/+", QoS::AtLeastOnce).await;
    let mut all = Client::connected(broker.tcp, V5, "sh-all").await;
    all.subscribe("sh/+", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, V5, "sh-pub").await;
    for i in 0..6 {
        c.publish_simple("sh/t", QoS::AtLeastOnce, &i.to_string(), false)
            .await;
    }
    let (mut na, mut nb, mut total) = (0, 0, BTreeSet::new());
    for p in a.ping().await {
        let Packet::Publish(m) = p else {
            panic!("{p:?}")
        };
        a.ack(&m).await;
        na += 1;
        assert!(total.insert(m.payload), "duplicate across members");
    }
    for p in b.ping().await {
        let Packet::Publish(m) = p else {
            panic!("{p:?}")
        };
        b.ack(&m).await;
        nb += 1;
        assert!(
            total.insert(m.payload),
            "[MQTT-4.8.2] delivered to two members"
        );
    }
    assert_eq!(total.len(), 6, "each message to exactly one member");
    assert_eq!((na, nb), (3, 3), "round robin over two members");
    for _ in 0..6 {
        all.recv_publish_acked().await;
    }
}

/// 5.0 [MQTT-3.8.3-4] "It is a Protocol Error to set the No Local bit to 1 on a Shared
/// Subscription" → DISCONNECT 0x82.
#[tokio::test]
async fn mqtt5_3_8_3_4_no_local_on_shared_subscription_is_protocol_error() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "sh-nl").await;
    // Raw bytes: the codec refuses to encode this. Options 0x04 = No Local, QoS 0.
    let mut body = vec![0x00, 0x01, 0x00];
    body.extend(lp(b"$share/g/t"));
    body.push(0x04);
    c.send_raw(&frame(0x82, &body)).await;
    c.expect_disconnect(ReasonCode::ProtocolError, "[MQTT-3.8.3-4]")
        .await;
}

/// [MQTT-4.8.2-1] "A Shared Subscription's Topic Filter MUST start with $share/ and MUST
/// contain a ShareName that is at least one character long"; [MQTT-4.8.2-2] "The ShareName
/// MUST NOT contain the characters "/", "+" or "#", but MUST be followed by a "/" character.
/// This "/" character MUST be followed by a Topic Filter." Such filters are refused (SUBACK
/// 0x8F or another error, or DISCONNECT) — never granted.
#[tokio::test]
async fn mqtt5_4_8_2_2_invalid_share_names_refused() {
    let broker = Broker::target().await;
    for bad in [
        "$share//t",
        "$share/g+/t",
        "$share/g#/t",
        "$share/g",
        "$share/g/",
    ] {
        let mut c = Client::connected(broker.tcp, V5, "sh-bad").await;
        let mut body = 1u16.to_be_bytes().to_vec();
        body.push(0);
        body.extend(lp(bad.as_bytes()));
        body.push(0);
        c.send_raw(&frame(0x82, &body)).await;
        match c.next_event(DEADLINE).await {
            Event::Packet(Packet::SubAck(ack)) => {
                assert!(ack.reasons[0].is_error(), "{bad:?} granted: {ack:?}")
            }
            Event::Packet(Packet::Disconnect(d)) => assert!(d.reason.is_error()),
            Event::Closed => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

/// §4.8.2 / §3.3.1.3: retained messages are not sent when a shared subscription is made.
#[tokio::test]
async fn mqtt5_4_8_2_no_retained_messages_for_shared_subscriptions() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "shr-pub").await;
    c.publish_simple("shr/t", QoS::AtLeastOnce, "kept", true)
        .await;
    let mut s = Client::connected(broker.tcp, V5, "shr").await;
    s.subscribe("$share/g/shr/t", QoS::AtLeastOnce).await;
    s.expect_nothing("retained message on a shared subscription")
        .await;
}

/// 5.0 §3.8.2.1.2: "The Subscription Identifier can have the value of 1 to 268,435,455. It is
/// a Protocol Error if the Subscription Identifier has a value of 0" → DISCONNECT 0x82 (or
/// 0x81 from the codec).
#[tokio::test]
async fn mqtt5_3_8_2_1_2_subscription_identifier_0_is_protocol_error() {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, V5, "sid0").await;
    let mut body = vec![0x00, 0x01, 0x02, 0x0B, 0x00];
    body.extend(lp(b"a/b"));
    body.push(0x00);
    c.send_raw(&frame(0x82, &body)).await;
    c.expect_disconnect_any(
        &[ReasonCode::ProtocolError, ReasonCode::MalformedPacket],
        "§3.8.2.1.2",
    )
    .await;
}

/// [MQTT-3.10.4-1] applies to shared subscriptions with their full filter: unsubscribing
/// `$share/g/f` removes the shared subscription only, not a plain subscription to `f`.
#[tokio::test]
async fn mqtt5_3_10_4_1_unsubscribe_shared_subscription() {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, V5, "shu").await;
    s.subscribe("$share/g/shu/t", QoS::AtLeastOnce).await;
    s.subscribe("shu/t", QoS::AtMostOnce).await;
    let ack = s.unsubscribe(&["$share/g/shu/t"]).await;
    assert_eq!(ack.reasons, [ReasonCode::Success]);
    let mut c = Client::connected(broker.tcp, V5, "shu-pub").await;
    c.publish_simple("shu/t", QoS::AtLeastOnce, "x", false)
        .await;
    let m = s.recv_publish_acked().await;
    assert_eq!(
        m.qos_pid.qos(),
        QoS::AtMostOnce,
        "only the plain subscription is left"
    );
    s.expect_nothing("one copy").await;
    let ack = s.unsubscribe(&["$share/g/shu/t"]).await;
    assert_eq!(ack.reasons, [ReasonCode::NoSubscriptionExisted]);
}
