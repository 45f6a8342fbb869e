//! SUBSCRIBE / UNSUBSCRIBE and topic matching (3.1.1 §3.8–3.11, §4.7; 5.0 §3.8–3.11, §4.7).

use tern_codec::{Packet, QoS, ReasonCode, Subscribe, SubscriptionOptions, UnsubAck, Version};

use crate::per_version;
use crate::support::*;

/// Filter/topic pairs from 3.1.1 §4.7 (and 5.0 §4.7) with the expected match.
const MATCHES: &[(&str, &str, bool)] = &[
    ("sport/tennis/player1/#", "sport/tennis/player1", true),
    (
        "sport/tennis/player1/#",
        "sport/tennis/player1/ranking",
        true,
    ),
    (
        "sport/tennis/player1/#",
        "sport/tennis/player1/score/wimbledon",
        true,
    ),
    ("sport/#", "sport", true),
    ("#", "sport/tennis", true),
    ("#", "/", true),
    ("sport/tennis/+", "sport/tennis/player1", true),
    ("sport/tennis/+", "sport/tennis/player1/ranking", false),
    ("sport/+", "sport", false),
    ("sport/+", "sport/", true),
    ("+/+", "/finance", true),
    ("/+", "/finance", true),
    ("+", "/finance", false),
    ("+/tennis/#", "sport/tennis", true),
    ("sport/+/player1", "sport/tennis/player1", true),
    ("Sport", "sport", false),
    ("a b/c", "a b/c", true),
    ("a//b", "a//b", true),
    ("a/+/b", "a//b", true),
    ("a/b", "a/b/", false),
    ("ü/+", "ü/€", true),
    ("𝄞/#", "𝄞", true),
    // [MQTT-1.5.3-3] "A UTF-8 encoded sequence 0xEF 0xBB 0xBF is always to be interpreted to
    // mean U+FEFF ("ZERO WIDTH NO-BREAK SPACE") wherever it appears in a string and MUST NOT
    // be skipped over or stripped off by a packet receiver."
    ("\u{feff}a", "a", false),
    ("\u{feff}a", "\u{feff}a", true),
];

/// 3.1.1 [MQTT-4.7.1-2] multi-level and [MQTT-4.7.1-3] single-level wildcard semantics with
/// the examples of §4.7.1; [MQTT-4.7.3-4] "When it performs subscription matching the Server
/// MUST NOT perform any normalization of Topic Names or Topic Filters" (case, spaces, empty
/// levels).
async fn wildcards(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "wild-pub").await;
    for (i, (f, t, expected)) in MATCHES.iter().enumerate() {
        let mut s = Client::connected(broker.tcp, v, &format!("wild{i}")).await;
        s.subscribe(f, QoS::AtMostOnce).await;
        c.publish_simple(t, QoS::AtLeastOnce, "m", false).await;
        let got = s.ping().await;
        let hit = got
            .iter()
            .any(|p| matches!(p, Packet::Publish(m) if m.topic.as_str() == *t));
        assert_eq!(hit, *expected, "filter {f:?} vs topic {t:?}: got {got:?}");
        assert!(got.len() <= 1, "one copy: {got:?}");
        s.disconnect().await;
    }
}
per_version!(mqtt_4_7_1_2_wildcard_matching, wildcards);

/// [MQTT-4.7.2-1] "The Server MUST NOT match Topic Filters starting with a wildcard character
/// (# or +) with Topic Names beginning with a $ character." A filter naming the `$` level
/// does match.
async fn dollar_topics(v: Version) {
    let broker = Broker::target().await;
    let mut hash = Client::connected(broker.tcp, v, "d-hash").await;
    hash.subscribe("#", QoS::AtMostOnce).await;
    let mut plus = Client::connected(broker.tcp, v, "d-plus").await;
    plus.subscribe("+/x", QoS::AtMostOnce).await;
    let mut dollar = Client::connected(broker.tcp, v, "d-dollar").await;
    dollar.subscribe("$test/#", QoS::AtMostOnce).await;
    let mut c = Client::connected(broker.tcp, v, "d-pub").await;
    c.publish_simple("$test/x", QoS::AtLeastOnce, "m", false)
        .await;
    assert_eq!(dollar.recv_publish().await.topic.as_str(), "$test/x");
    let got = hash.ping().await;
    assert!(
        got.iter()
            .all(|p| !matches!(p, Packet::Publish(m) if m.topic.starts_with('$'))),
        "[MQTT-4.7.2-1] '#' matched a $ topic: {got:?}"
    );
    let got = plus.ping().await;
    assert!(
        got.is_empty(),
        "[MQTT-4.7.2-1] '+/x' matched '$test/x': {got:?}"
    );
}
per_version!(
    mqtt_4_7_2_1_wildcards_do_not_match_dollar_topics,
    dollar_topics
);

/// [MQTT-3.8.4-4] (3.1.1) "If a Server receives a SUBSCRIBE packet that contains multiple Topic
/// Filters it MUST handle that packet as if it had received a sequence of multiple SUBSCRIBE
/// packets, except that it combines their responses into a single SUBACK response";
/// [MQTT-3.9.3-1] "The order of return codes in the SUBACK Packet MUST match the order of
/// Topic Filters in the SUBSCRIBE Packet."
async fn multi_filter(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "multi").await;
    let qs = [QoS::ExactlyOnce, QoS::AtMostOnce, QoS::AtLeastOnce];
    let sub = Subscribe {
        pid: pid(42),
        filters: vec![
            (filter("m/2"), SubscriptionOptions::new(qs[0])),
            (filter("m/0"), SubscriptionOptions::new(qs[1])),
            (filter("m/1"), SubscriptionOptions::new(qs[2])),
        ],
        properties: Default::default(),
    };
    let ack = s.subscribe_packet(sub).await;
    assert_eq!(ack.reasons, qs.map(granted).to_vec(), "[MQTT-3.9.3-1]");
    let mut c = Client::connected(broker.tcp, v, "multi-pub").await;
    for (t, q) in [("m/2", qs[0]), ("m/0", qs[1]), ("m/1", qs[2])] {
        c.publish_simple(t, QoS::ExactlyOnce, "x", false).await;
        let m = s.recv_publish_acked().await;
        assert_eq!((m.topic.as_str(), m.qos_pid.qos()), (t, q));
    }
}
per_version!(
    mqtt_3_8_4_4_multiple_filters_one_suback_in_order,
    multi_filter
);

/// 3.1.1 [MQTT-3.8.4-3] "If a Server receives a SUBSCRIBE Packet containing a Topic Filter
/// that is identical to an existing Subscription's Topic Filter then it MUST completely
/// replace that existing Subscription with a new Subscription … Any existing retained
/// messages matching the Topic Filter MUST be re-sent, but the flow of publications MUST NOT
/// be interrupted."
async fn resubscribe_replaces(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "re-pub").await;
    c.publish_simple("re/t", QoS::AtLeastOnce, "kept", true)
        .await;
    let mut s = Client::connected(broker.tcp, v, "re-sub").await;
    s.subscribe("re/t", QoS::ExactlyOnce).await;
    assert!(s.recv_publish_acked().await.retain);
    s.subscribe("re/t", QoS::AtMostOnce).await;
    let again = s.recv_publish_acked().await;
    assert!(again.retain, "[MQTT-3.8.4-3] retained message re-sent");
    assert_eq!(again.qos_pid.qos(), QoS::AtMostOnce);
    c.publish_simple("re/t", QoS::ExactlyOnce, "live", false)
        .await;
    let m = s.recv_publish_acked().await;
    assert_eq!(m.qos_pid.qos(), QoS::AtMostOnce, "new maximum QoS applies");
    s.expect_nothing("[MQTT-3.8.4-3] replaced, not added: one copy")
        .await;
}
per_version!(
    mqtt_3_8_4_3_identical_filter_replaces_subscription,
    resubscribe_replaces
);

fn unsub_ok(v: Version, ack: &UnsubAck, expected: &[ReasonCode]) {
    if v == Version::V5 {
        assert_eq!(
            ack.reasons, expected,
            "[MQTT-3.11.3-1] one reason code per filter, in order"
        );
    }
}

/// 3.1.1 [MQTT-3.10.4-1] "The Topic Filters … supplied in an UNSUBSCRIBE packet MUST be
/// compared character-by-character with the current set of Topic Filters held by the Server
/// for the Client. If any filter matches exactly then its owning Subscription is deleted";
/// [MQTT-3.10.4-2] the Server "MUST stop adding any new messages for delivery to the Client";
/// [MQTT-3.10.4-4] UNSUBACK with the same Packet Identifier; [MQTT-3.10.4-5] "Even where no
/// Topic Subscriptions are deleted, the Server MUST respond with an UNSUBACK"; 5.0: Reason
/// Codes 0x00 / 0x11 (No subscription existed) per filter.
async fn unsubscribe(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "unsub").await;
    s.subscribe("u/a", QoS::AtLeastOnce).await;
    s.subscribe("u/+", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, v, "unsub-pub").await;

    // "u/#" is not character-equal to any subscription: nothing removed.
    let ack = s.unsubscribe(&["u/#"]).await;
    unsub_ok(v, &ack, &[ReasonCode::NoSubscriptionExisted]);
    let ack = s.unsubscribe(&["u/+", "nope"]).await;
    unsub_ok(
        v,
        &ack,
        &[ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
    );
    c.publish_simple("u/a", QoS::AtLeastOnce, "still", false)
        .await;
    assert_eq!(s.recv_publish_acked().await.topic.as_str(), "u/a");
    s.expect_nothing("only u/a remains").await;
    c.publish_simple("u/b", QoS::AtLeastOnce, "gone", false)
        .await;
    s.expect_nothing("[MQTT-3.10.4-2] u/+ removed").await;
    let ack = s.unsubscribe(&["u/a"]).await;
    unsub_ok(v, &ack, &[ReasonCode::Success]);
    c.publish_simple("u/a", QoS::AtLeastOnce, "none", false)
        .await;
    s.expect_nothing("[MQTT-3.10.4-2] all removed").await;
}
per_version!(mqtt_3_10_4_1_unsubscribe_exact_filter_match, unsubscribe);

/// 3.1.1 [MQTT-3.10.4-3] "If a Server deletes a Subscription … It MUST complete the delivery
/// of any QoS 1 or QoS 2 messages which it has started to send to the Client."
async fn unsubscribe_completes_inflight(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "unsub-inflight").await;
    s.subscribe("ui/t", QoS::ExactlyOnce).await;
    let mut c = Client::connected(broker.tcp, v, "unsub-inflight-pub").await;
    c.publish_simple("ui/t", QoS::ExactlyOnce, "q2", false)
        .await;
    c.publish_simple("ui/t", QoS::AtLeastOnce, "q1", false)
        .await;
    let q2 = s.recv_publish().await;
    let q1 = s.recv_publish().await;
    s.unsubscribe(&["ui/t"]).await;
    s.ack(&q1).await;
    s.ack(&q2).await; // PUBREC must still be answered with PUBREL
    s.expect_nothing("flows completed, nothing new").await;
}
per_version!(
    mqtt_3_10_4_3_unsubscribe_completes_inflight_delivery,
    unsubscribe_completes_inflight
);

/// Invalid Topic Filters (3.1.1 [MQTT-4.7.1-2]: '#' last and alone in its level;
/// [MQTT-4.7.1-3]: '+' alone in its level): either the SUBACK refuses the filter (0x80 in
/// 3.1.1, 0x8F Topic Filter invalid or another error in 5.0) or the connection is closed as
/// a protocol violation ([MQTT-4.8.0-1]); never a grant.
async fn invalid_filters(v: Version) {
    let broker = Broker::target().await;
    for bad in ["a/#/b", "a#", "a/b+", "+a/b", ""] {
        let mut s = Client::connected(broker.tcp, v, "badfilter").await;
        let mut body = 1u16.to_be_bytes().to_vec();
        if v == Version::V5 {
            body.push(0);
        }
        body.extend(lp(bad.as_bytes()));
        body.push(0);
        s.send_raw(&frame(0x82, &body)).await;
        match s.next_event(DEADLINE).await {
            Event::Packet(Packet::SubAck(ack)) => {
                assert_eq!(ack.reasons.len(), 1);
                assert!(
                    ack.reasons[0].is_error(),
                    "{bad:?} must not be granted: {ack:?}"
                );
            }
            Event::Packet(Packet::Disconnect(d)) => assert!(d.reason.is_error(), "{d:?}"),
            Event::Closed => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}
per_version!(mqtt_4_7_1_2_invalid_topic_filters_refused, invalid_filters);

/// 3.1.1 [MQTT-3.8.3-3] "The payload of a SUBSCRIBE packet MUST contain at least one Topic
/// Filter / QoS pair. A SUBSCRIBE packet with no payload is a protocol violation";
/// [MQTT-3.10.3-2] the same for UNSUBSCRIBE. 5.0: DISCONNECT 0x82 / 0x81 then close.
async fn empty_subscribe(v: Version) {
    let broker = Broker::target().await;
    for first in [0x82u8, 0xA2] {
        let mut s = Client::connected(broker.tcp, v, "empty").await;
        let mut body = 1u16.to_be_bytes().to_vec();
        if v == Version::V5 {
            body.push(0);
        }
        s.send_raw(&frame(first, &body)).await;
        let got = s.expect_closed().await;
        if v == Version::V5 {
            assert!(
                matches!(got.last(), Some(Packet::Disconnect(d)) if matches!(d.reason,
                    ReasonCode::ProtocolError | ReasonCode::MalformedPacket)),
                "{got:?}"
            );
        } else {
            assert!(got.is_empty(), "{got:?}");
        }
    }
}
per_version!(
    mqtt_3_8_3_3_subscribe_without_filters_closes,
    empty_subscribe
);

/// 3.1.1 [MQTT-3-8.3-4] "The Server MUST treat a SUBSCRIBE packet as malformed and close the
/// Network Connection if any of Reserved bits in the payload are non-zero, or QoS is not 0,1
/// or 2." (5.0 [MQTT-3.8.3-5]: bits 6–7; Retain Handling 3 is a Protocol Error.)
async fn subscribe_bad_options(v: Version) {
    let broker = Broker::target().await;
    let mut bad = vec![0x03u8, 0x40, 0x80];
    if v == Version::V5 {
        bad.push(0x30); // Retain Handling 3
    } else {
        bad.push(0x04); // bit 2 is reserved in 3.1.1
    }
    for opt in bad {
        let mut s = Client::connected(broker.tcp, v, "badopts").await;
        let mut body = 1u16.to_be_bytes().to_vec();
        if v == Version::V5 {
            body.push(0);
        }
        body.extend(lp(b"a/b"));
        body.push(opt);
        s.send_raw(&frame(0x82, &body)).await;
        let got = s.expect_closed().await;
        assert!(
            got.iter().all(|p| !matches!(p, Packet::SubAck(_))),
            "options {opt:#04x} must not be acknowledged: {got:?}"
        );
    }
}
per_version!(
    mqtt_3_8_3_4_subscribe_reserved_option_bits_close,
    subscribe_bad_options
);
