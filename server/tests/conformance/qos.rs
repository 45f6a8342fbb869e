//! QoS 0/1/2 flows in both directions and packet identifier handling (3.1.1 §3.3–3.7, §4.3,
//! §4.6; 5.0 §3.3–3.7, §4.3, §4.6).

use bytes::Bytes;
use tern_codec::{Packet, PubResp, QoS, QosPid, ReasonCode, Version};

use crate::per_version;
use crate::support::*;

const ALL: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

/// 3.1.1 [MQTT-3.3.4-1] "The receiver of a PUBLISH Packet MUST respond according to Table 3.4
/// – Expected Publish Packet response as determined by the QoS in the PUBLISH Packet": none,
/// PUBACK, PUBREC (then PUBCOMP for PUBREL), each with the PUBLISH's packet identifier
/// ([MQTT-4.3.2-2], [MQTT-4.3.3-2]). Byte-exact for 3.1.1.
async fn inbound_acks(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "acker").await;
    let props = (v == Version::V5).then_some(&[][..]);
    c.send_raw(&raw_publish(0x00, b"q/0", None, props, b"zero"))
        .await;
    c.expect_nothing("[MQTT-3.3.4-1] QoS 0 has no response")
        .await;

    c.send_raw(&raw_publish(0x02, b"q/1", Some(0x1234), props, b"one"))
        .await;
    match c.recv().await {
        Packet::PubAck(r) => {
            assert_eq!(r.pid.get(), 0x1234, "[MQTT-4.3.2-2]");
            assert!(!r.reason.is_error(), "{r:?}");
        }
        other => panic!("[MQTT-3.3.4-1] expected PUBACK, got {other:?}"),
    }

    c.send_raw(&raw_publish(0x04, b"q/2", Some(0xBEEF), props, b"two"))
        .await;
    if v == Version::V3_1_1 {
        assert_eq!(c.recv_raw(4).await, [0x50, 0x02, 0xBE, 0xEF], "PUBREC");
        c.send_raw(&[0x62, 0x02, 0xBE, 0xEF]).await; // PUBREL
        assert_eq!(c.recv_raw(4).await, [0x70, 0x02, 0xBE, 0xEF], "PUBCOMP");
    } else {
        let rec = c.recv().await;
        assert!(
            matches!(&rec, Packet::PubRec(r) if r.pid.get() == 0xBEEF && !r.reason.is_error()),
            "{rec:?}"
        );
        c.send(Packet::PubRel(PubResp::new(pid(0xBEEF)))).await;
        let comp = c.recv().await;
        assert!(
            matches!(&comp, Packet::PubComp(r) if r.pid.get() == 0xBEEF && r.reason == ReasonCode::Success),
            "{comp:?}"
        );
    }
}
per_version!(mqtt_3_3_4_1_publish_acknowledged_per_qos, inbound_acks);

/// QoS 0/1/2 end to end in every combination: 3.1.1 §3.8.4 "The QoS of Payload Messages sent
/// in response to a Subscription MUST be the minimum of the QoS of the originally published
/// message and the maximum QoS granted by the Server" (5.0 [MQTT-3.8.4-8]); the topic and
/// payload arrive unchanged, [MQTT-3.3.2-3] the topic matches the filter.
async fn delivered_qos(v: Version) {
    let broker = Broker::target().await;
    let mut pubr = Client::connected(broker.tcp, v, "qpub").await;
    for sub_qos in ALL {
        let id = format!("qsub{}", sub_qos as u8);
        let mut s = Client::connected(broker.tcp, v, &id).await;
        let f = format!("qos/{id}/+");
        s.subscribe(&f, sub_qos).await;
        for pub_qos in ALL {
            let t = format!("qos/{id}/p{}", pub_qos as u8);
            pubr.publish_simple(&t, pub_qos, "payload", false).await;
            let m = s.recv_publish_acked().await;
            assert_eq!(m.topic.as_str(), t);
            assert_eq!(m.payload, Bytes::from_static(b"payload"));
            assert_eq!(
                m.qos_pid.qos(),
                pub_qos.min(sub_qos),
                "sub {sub_qos:?} pub {pub_qos:?}"
            );
            assert!(!m.dup && !m.retain);
        }
        s.expect_nothing("exactly one copy each").await;
    }
}
per_version!(
    mqtt_3_8_4_6_delivered_qos_is_min_of_published_and_granted,
    delivered_qos
);

/// 3.1.1 [MQTT-4.3.3-2] QoS 2 receiver: "Until it has received the corresponding PUBREL
/// packet, the Receiver MUST acknowledge any subsequent PUBLISH packet with the same Packet
/// Identifier by sending a PUBREC. It MUST NOT cause duplicate messages to be delivered to
/// any onward recipients in this case." … "After it has sent a PUBCOMP, the receiver MUST
/// treat any subsequent PUBLISH packet that contains that Packet Identifier as being a new
/// publication."
async fn exactly_once(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "eo-sub").await;
    s.subscribe("eo/t", QoS::ExactlyOnce).await;
    let mut c = Client::connected(broker.tcp, v, "eo-pub").await;
    let mut p = publish("eo/t", QoS::ExactlyOnce, b"once");
    p.qos_pid = QosPid::ExactlyOnce(pid(7));
    c.send(Packet::Publish(p.clone())).await;
    assert!(matches!(c.recv().await, Packet::PubRec(r) if r.pid.get() == 7));
    let mut dup = p.clone();
    dup.dup = true;
    c.send(Packet::Publish(dup)).await;
    assert!(
        matches!(c.recv().await, Packet::PubRec(r) if r.pid.get() == 7),
        "PUBREC again"
    );
    c.send(Packet::PubRel(PubResp::new(pid(7)))).await;
    assert!(matches!(c.recv().await, Packet::PubComp(r) if r.pid.get() == 7));

    let m = s.recv_publish_acked().await;
    assert_eq!(m.payload, Bytes::from_static(b"once"));
    s.expect_nothing("[MQTT-4.3.3-2] no duplicate delivery")
        .await;

    // Same identifier after PUBCOMP: a new message.
    c.send(Packet::Publish(p)).await;
    assert!(matches!(c.recv().await, Packet::PubRec(r) if r.pid.get() == 7));
    c.send(Packet::PubRel(PubResp::new(pid(7)))).await;
    assert!(matches!(c.recv().await, Packet::PubComp(_)));
    assert_eq!(
        s.recv_publish_acked().await.payload,
        Bytes::from_static(b"once")
    );
}
per_version!(mqtt_4_3_3_2_qos2_exactly_once_on_receipt, exactly_once);

/// QoS 2 receiver: a PUBREL is answered with PUBCOMP with the same identifier (3.1.1
/// [MQTT-4.3.3-2] "MUST respond to a PUBREL packet by sending a PUBCOMP packet containing the
/// same Packet Identifier as the PUBREL"), also for an identifier it does not know — in 5.0
/// with Reason Code 0x92 (Packet Identifier not found) or 0x00 (§3.7.2.1: an unknown
/// identifier "is not an error during recovery").
async fn pubrel_unknown(v: Version) {
    let broker = Broker::target().await;
    let mut c = Client::connected(broker.tcp, v, "rel").await;
    c.send(Packet::PubRel(PubResp::new(pid(99)))).await;
    match c.recv().await {
        Packet::PubComp(r) => {
            assert_eq!(r.pid.get(), 99);
            if v == Version::V5 {
                assert!(
                    matches!(
                        r.reason,
                        ReasonCode::PacketIdentifierNotFound | ReasonCode::Success
                    ),
                    "{r:?}"
                );
            }
        }
        other => panic!("expected PUBCOMP, got {other:?}"),
    }
}
per_version!(mqtt_4_3_3_2_pubrel_answered_with_pubcomp, pubrel_unknown);

/// Server as QoS 2 sender: 3.1.1 [MQTT-4.3.3-1] "MUST send a PUBREL packet when it receives a
/// PUBREC packet from the receiver. This PUBREL packet MUST contain the same Packet
/// Identifier as the original PUBLISH packet"; PUBREL's fixed header is `0x62`
/// ([MQTT-3.6.1-1], checked by decoding). QoS 1/2 PUBLISH from the server carry DUP 0 on
/// first delivery and distinct unused identifiers ([MQTT-2.3.1-2]/[MQTT-2.3.1-4]).
async fn outbound_flows(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "out-sub").await;
    s.subscribe("out/#", QoS::ExactlyOnce).await;
    let mut c = Client::connected(broker.tcp, v, "out-pub").await;
    for i in 0..4 {
        c.publish_simple(&format!("out/{i}"), QoS::ExactlyOnce, "x", false)
            .await;
    }
    c.publish_simple("out/q1", QoS::AtLeastOnce, "x", false)
        .await;
    let mut msgs = Vec::new();
    for _ in 0..5 {
        msgs.push(s.recv_publish().await);
    }
    let mut ids: Vec<u16> = msgs
        .iter()
        .map(|m| m.qos_pid.pid().expect("pid").get())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        5,
        "[MQTT-2.3.1-2] in-flight identifiers must be distinct: {msgs:?}"
    );
    for m in &msgs {
        assert!(!m.dup, "first delivery DUP 0");
        s.ack(m).await; // PUBREC → PUBREL (same id) → PUBCOMP, or PUBACK
    }
    s.expect_nothing("all flows complete").await;
}
per_version!(mqtt_4_3_3_1_server_qos2_sender_flow, outbound_flows);

/// 3.1.1 [MQTT-3.3.1-3] "The value of the DUP flag from an incoming PUBLISH packet is not
/// propagated when the PUBLISH Packet is sent to subscribers by the Server."
async fn dup_not_propagated(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "dup-sub").await;
    s.subscribe("dup/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, v, "dup-pub").await;
    let mut p = publish("dup/t", QoS::AtLeastOnce, b"d");
    p.dup = true;
    c.publish(p).await;
    let m = s.recv_publish_acked().await;
    assert!(!m.dup, "[MQTT-3.3.1-3] DUP must not be propagated");
}
per_version!(mqtt_3_3_1_3_dup_flag_not_propagated, dup_not_propagated);

/// 3.1.1 [MQTT-4.6.0-5]/[MQTT-4.6.0-6] (5.0 [MQTT-4.6.0-6]): topics are ordered — messages
/// from one client on one topic at one QoS reach each subscriber in the order sent.
async fn ordering(v: Version) {
    let broker = Broker::target().await;
    for qos in ALL {
        let mut s = Client::connected(broker.tcp, v, "ord-sub").await;
        s.subscribe("ord/t", QoS::ExactlyOnce).await;
        let mut c = Client::connected(broker.tcp, v, "ord-pub").await;
        for i in 0..25 {
            c.publish_simple("ord/t", qos, &i.to_string(), false).await;
        }
        for i in 0..25 {
            let m = s.recv_publish_acked().await;
            assert_eq!(
                m.payload,
                Bytes::from(i.to_string()),
                "[MQTT-4.6.0-6] {qos:?}"
            );
        }
    }
}
per_version!(mqtt_4_6_0_6_ordered_topic_delivery, ordering);

/// 3.1.1 [MQTT-3.3.5-1] "The Server MUST deliver the message to the Client respecting the
/// maximum QoS of all the matching subscriptions." (5.0 [MQTT-3.3.4-2].) Tern delivers one
/// copy (issue #3); 5.0 [MQTT-3.3.4-4] then requires all matching Subscription Identifiers
/// in it (see `v5_subscribe`).
async fn overlapping(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "ovl").await;
    s.subscribe("ovl/+", QoS::AtMostOnce).await;
    s.subscribe("ovl/#", QoS::ExactlyOnce).await;
    s.subscribe("ovl/a", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, v, "ovl-pub").await;
    c.publish_simple("ovl/a", QoS::ExactlyOnce, "x", false)
        .await;
    let m = s.recv_publish_acked().await;
    assert_eq!(
        m.qos_pid.qos(),
        QoS::ExactlyOnce,
        "[MQTT-3.3.5-1] maximum QoS of matches"
    );
    s.expect_nothing("one copy for overlapping subscriptions (issue #3)")
        .await;
}
per_version!(
    mqtt_3_3_5_1_overlapping_subscriptions_one_copy_max_qos,
    overlapping
);

/// 3.1.1 [MQTT-4.3.2-1]/[MQTT-4.3.3-1] with the outgoing in-flight window: tern's
/// `max_inflight_messages` (Mosquitto's knob) bounds unacknowledged QoS 1/2 messages to a
/// 3.x client; the rest are delivered as acknowledgements free the window.
#[tokio::test]
async fn tern_max_inflight_messages_window_v3() {
    let broker = Broker::target_with(|c| c.max_inflight_messages = 2).await;
    let v = Version::V3_1_1;
    let mut s = Client::connected(broker.tcp, v, "win").await;
    s.subscribe("win/t", QoS::AtLeastOnce).await;
    let mut c = Client::connected(broker.tcp, v, "win-pub").await;
    for i in 0..5 {
        c.publish_simple("win/t", QoS::AtLeastOnce, &i.to_string(), false)
            .await;
    }
    let first = s.ping().await;
    assert_eq!(first.len(), 2, "window of 2: {first:?}");
    let mut seen = 0;
    let mut pending = first;
    while seen < 5 {
        assert!(
            !pending.is_empty(),
            "delivery stalled after {seen} messages"
        );
        for p in std::mem::take(&mut pending) {
            let Packet::Publish(m) = p else {
                panic!("{p:?}")
            };
            assert_eq!(m.payload, Bytes::from(seen.to_string()));
            seen += 1;
            s.ack(&m).await;
        }
        pending = s.ping().await;
    }
}

/// Pipelined QoS 1 and QoS 2 publishes (sent without waiting) are all acknowledged, each
/// exactly once and in the order received — the server-side mirror of the ordering rules of
/// §4.6 ([MQTT-4.6.0-2], [MQTT-4.6.0-3]) — and forwarded in order per QoS ([MQTT-4.6.0-6]).
async fn pipelined(v: Version) {
    let broker = Broker::target().await;
    let mut s = Client::connected(broker.tcp, v, "pipe-sub").await;
    s.subscribe("pipe/t", QoS::ExactlyOnce).await;
    let mut c = Client::connected(broker.tcp, v, "pipe-pub").await;
    let mut bytes = Vec::new();
    for i in 1..=20u16 {
        let mut p = publish("pipe/t", QoS::AtLeastOnce, i.to_string().as_bytes());
        p.qos_pid = QosPid::AtLeastOnce(pid(i));
        if i % 2 == 0 {
            p.qos_pid = QosPid::ExactlyOnce(pid(i));
        }
        bytes.extend(bytes_of(&Packet::Publish(p), v));
    }
    c.send_raw(&bytes).await;
    for i in 1..=20u16 {
        match c.recv().await {
            Packet::PubAck(r) if i % 2 == 1 => assert_eq!(r.pid.get(), i),
            Packet::PubRec(r) if i % 2 == 0 => assert_eq!(r.pid.get(), i),
            other => panic!("ack {i}: {other:?}"),
        }
    }
    let mut rels = Vec::new();
    for i in (2..=20u16).step_by(2) {
        rels.extend(bytes_of(&Packet::PubRel(PubResp::new(pid(i))), v));
    }
    c.send_raw(&rels).await;
    for i in (2..=20u16).step_by(2) {
        assert!(matches!(c.recv().await, Packet::PubComp(r) if r.pid.get() == i));
    }
    c.expect_nothing("exactly one acknowledgement each").await;
    // [MQTT-4.6.0-6] orders messages "for the same Topic and QoS": check each QoS apart
    // (a server may forward QoS 2 on PUBREL, after later QoS 1 messages).
    let (mut odd, mut even) = (Vec::new(), Vec::new());
    for _ in 1..=20u16 {
        let m = s.recv_publish_acked().await;
        let n: u16 = std::str::from_utf8(&m.payload)
            .expect("utf-8")
            .parse()
            .expect("number");
        if n % 2 == 1 {
            odd.push(n)
        } else {
            even.push(n)
        }
    }
    assert_eq!(
        odd,
        (1..=20).step_by(2).collect::<Vec<u16>>(),
        "[MQTT-4.6.0-6] QoS 1 order"
    );
    assert_eq!(
        even,
        (2..=20).step_by(2).collect::<Vec<u16>>(),
        "[MQTT-4.6.0-6] QoS 2 order"
    );
}
per_version!(
    mqtt_4_6_0_2_pipelined_publishes_acknowledged_in_order,
    pipelined
);
