//! QoS flows in both directions, packet identifiers, resend, SUBSCRIBE/UNSUBSCRIBE.

use super::*;

#[test]
fn qos0_publish_has_no_pid_and_no_dup_mqtt_3_3_1_2() {
    let mut s = connected(Version::V3_1_1, true);
    s.publish(topic("t"), Bytes::from_static(b"p"), QoS::AtMostOnce, true)
        .unwrap();
    let out = s.take_outgoing(0);
    let [Packet::Publish(p)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(p.qos_pid, QosPid::AtMostOnce);
    assert!(!p.dup && p.retain);
    assert_eq!(s.unacknowledged(), 0);
}

#[test]
fn publish_requires_a_connection() {
    let mut s = Session::new();
    assert_eq!(
        s.publish(topic("t"), Bytes::new(), QoS::AtMostOnce, false),
        Err(PublishError::NotConnected)
    );
}

#[test]
fn qos1_outgoing_flow_mqtt_4_3_2_1() {
    let mut s = connected(Version::V3_1_1, true);
    s.publish(
        topic("t"),
        Bytes::from_static(b"p"),
        QoS::AtLeastOnce,
        false,
    )
    .unwrap();
    let out = s.take_outgoing(0);
    let [Packet::Publish(p)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(p.qos_pid, QosPid::AtLeastOnce(pid(1)));
    assert!(!p.dup);
    assert_eq!(s.unacknowledged(), 1);
    let ev = s.handle(Packet::PubAck(PubResp::new(pid(1))), 0).unwrap();
    assert_eq!(
        ev,
        vec![Event::Delivered {
            topic: "t".into(),
            qos: QoS::AtLeastOnce
        }]
    );
    assert_eq!(s.unacknowledged(), 0);
}

#[test]
fn qos2_outgoing_flow_mqtt_4_3_3_1() {
    let mut s = connected(Version::V3_1_1, true);
    s.publish(
        topic("t"),
        Bytes::from_static(b"p"),
        QoS::ExactlyOnce,
        false,
    )
    .unwrap();
    assert!(matches!(&s.take_outgoing(0)[..],
        [Packet::Publish(p)] if p.qos_pid == QosPid::ExactlyOnce(pid(1))));
    assert!(
        s.handle(Packet::PubRec(PubResp::new(pid(1))), 0)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.take_outgoing(0),
        vec![Packet::PubRel(PubResp::new(pid(1)))]
    );
    // A PUBACK is the wrong answer for a QoS 2 flow and changes nothing.
    assert!(
        s.handle(Packet::PubAck(PubResp::new(pid(1))), 0)
            .unwrap()
            .is_empty()
    );
    let ev = s.handle(Packet::PubComp(PubResp::new(pid(1))), 0).unwrap();
    assert_eq!(
        ev,
        vec![Event::Delivered {
            topic: "t".into(),
            qos: QoS::ExactlyOnce
        }]
    );
    assert_eq!(s.unacknowledged(), 0);
}

#[test]
fn v5_error_pubrec_ends_the_flow_without_pubrel_mqtt_4_3_3_4() {
    let mut s = connected(Version::V5, true);
    s.publish(topic("t"), Bytes::new(), QoS::ExactlyOnce, false)
        .unwrap();
    s.take_outgoing(0);
    let mut rec = PubResp::new(pid(1));
    rec.reason = ReasonCode::QuotaExceeded;
    let ev = s.handle(Packet::PubRec(rec), 0).unwrap();
    assert_eq!(
        ev,
        vec![Event::PublishRejected {
            topic: "t".into(),
            reason: ReasonCode::QuotaExceeded
        }]
    );
    assert!(s.take_outgoing(0).is_empty());
    assert_eq!(s.unacknowledged(), 0);
}

#[test]
fn pids_are_unique_while_in_use_and_skip_zero_mqtt_2_3_1_2() {
    let mut s = connected(Version::V3_1_1, true);
    let a = s.subscribe(vec![(filter("a"), QoS::AtMostOnce)]).unwrap();
    s.publish(topic("t"), Bytes::new(), QoS::AtLeastOnce, false)
        .unwrap();
    let b = s.unsubscribe(vec![filter("a")]).unwrap();
    assert_eq!((a.get(), b.get()), (1, 3));
    // Wrap around: 65535 → 1 is in use (the SUBSCRIBE) → 2 in use (PUBLISH) → 3 in use → 4.
    s.next_pid = pid(u16::MAX);
    assert_eq!(s.allocate_pid().map(Pid::get), Some(u16::MAX));
    assert_eq!(s.allocate_pid().map(Pid::get), Some(4));
}

#[test]
fn pid_is_reusable_after_its_ack_mqtt_2_3_1_3() {
    let mut s = connected(Version::V3_1_1, true);
    s.publish(topic("t"), Bytes::new(), QoS::AtLeastOnce, false)
        .unwrap();
    s.handle(Packet::PubAck(PubResp::new(pid(1))), 0).unwrap();
    s.next_pid = pid(1);
    assert_eq!(s.allocate_pid().map(Pid::get), Some(1));
}

#[test]
fn receive_maximum_limits_inflight_and_queues_the_rest_mqtt_3_3_4_7() {
    let mut s = Session::new();
    s.start(&opts(Version::V5, true), 0);
    let mut ack = ConnAck::new(false, ReasonCode::Success);
    ack.properties.receive_maximum = Some(2);
    s.handle(Packet::ConnAck(ack), 0).unwrap();
    s.take_outgoing(0);
    for _ in 0..3 {
        s.publish(topic("t"), Bytes::new(), QoS::AtLeastOnce, false)
            .unwrap();
    }
    assert_eq!(s.take_outgoing(0).len(), 2, "third waits for a slot");
    assert_eq!(s.unacknowledged(), 3);
    s.handle(Packet::PubAck(PubResp::new(pid(1))), 0).unwrap();
    let out = s.take_outgoing(0);
    assert!(matches!(&out[..], [Packet::Publish(p)] if p.qos_pid == QosPid::AtLeastOnce(pid(3))));
}

#[test]
fn v5_maximum_qos_and_retain_available_are_respected() {
    let mut s = Session::new();
    s.start(&opts(Version::V5, true), 0);
    let mut ack = ConnAck::new(false, ReasonCode::Success);
    ack.properties.maximum_qos = Some(QoS::AtLeastOnce);
    ack.properties.retain_available = Some(false);
    s.handle(Packet::ConnAck(ack), 0).unwrap();
    assert_eq!(
        s.publish(topic("t"), Bytes::new(), QoS::ExactlyOnce, false),
        Err(PublishError::QosNotSupported(QoS::AtLeastOnce))
    );
    assert_eq!(
        s.publish(topic("t"), Bytes::new(), QoS::AtMostOnce, true),
        Err(PublishError::RetainNotSupported)
    );
}

#[test]
fn inbound_qos1_is_acknowledged_with_its_pid_mqtt_4_3_2_2() {
    let mut s = connected(Version::V3_1_1, true);
    s.take_outgoing(0);
    let ev = s
        .handle(publish_in(QosPid::AtLeastOnce(pid(9)), false), 0)
        .unwrap();
    assert!(matches!(&ev[..], [Event::Message(p)] if p.topic.as_str() == "a/b"));
    assert_eq!(
        s.take_outgoing(0),
        vec![Packet::PubAck(PubResp::new(pid(9)))]
    );
}

#[test]
fn inbound_qos2_is_delivered_once_and_completed_mqtt_4_3_3_2() {
    let mut s = connected(Version::V3_1_1, true);
    s.take_outgoing(0);
    let ev = s
        .handle(publish_in(QosPid::ExactlyOnce(pid(7)), false), 0)
        .unwrap();
    assert_eq!(ev.len(), 1);
    // The broker resends before our PUBREC arrived: PUBREC again, no second delivery.
    let ev = s
        .handle(publish_in(QosPid::ExactlyOnce(pid(7)), true), 0)
        .unwrap();
    assert!(ev.is_empty());
    assert_eq!(
        s.take_outgoing(0),
        vec![
            Packet::PubRec(PubResp::new(pid(7))),
            Packet::PubRec(PubResp::new(pid(7)))
        ]
    );
    s.handle(Packet::PubRel(PubResp::new(pid(7))), 0).unwrap();
    assert_eq!(
        s.take_outgoing(0),
        vec![Packet::PubComp(PubResp::new(pid(7)))]
    );
    // After PUBCOMP the identifier starts a new message.
    let ev = s
        .handle(publish_in(QosPid::ExactlyOnce(pid(7)), false), 0)
        .unwrap();
    assert_eq!(ev.len(), 1);
}

#[test]
fn v5_pubrel_for_unknown_pid_answers_not_found() {
    let mut s = connected(Version::V5, true);
    s.take_outgoing(0);
    s.handle(Packet::PubRel(PubResp::new(pid(3))), 0).unwrap();
    let out = s.take_outgoing(0);
    assert!(matches!(&out[..],
        [Packet::PubComp(c)] if c.reason == ReasonCode::PacketIdentifierNotFound));
}

#[test]
fn resend_with_dup_and_pubrel_after_reconnect_to_present_session_mqtt_4_4_0_1() {
    let mut s = connected(Version::V3_1_1, false);
    s.publish(
        topic("one"),
        Bytes::from_static(b"1"),
        QoS::AtLeastOnce,
        false,
    )
    .unwrap();
    s.publish(
        topic("two"),
        Bytes::from_static(b"2"),
        QoS::ExactlyOnce,
        false,
    )
    .unwrap();
    s.publish(
        topic("three"),
        Bytes::from_static(b"3"),
        QoS::ExactlyOnce,
        true,
    )
    .unwrap();
    s.take_outgoing(0);
    s.handle(Packet::PubRec(PubResp::new(pid(3))), 0).unwrap();
    s.take_outgoing(0);
    s.connection_lost();

    s.start(&opts(Version::V3_1_1, false), 100);
    s.take_outgoing(100);
    let ev = s.handle(connack(true), 100).unwrap();
    assert!(matches!(
        ev[..],
        [Event::Connected {
            session_present: true,
            ..
        }]
    ));
    let out = s.take_outgoing(100);
    assert_eq!(out.len(), 3, "{out:?}");
    // [MQTT-3.3.1-1] DUP on the resent PUBLISH, original identifiers and order.
    assert!(matches!(&out[0], Packet::Publish(p)
        if p.dup && p.qos_pid == QosPid::AtLeastOnce(pid(1)) && p.topic.as_str() == "one"));
    assert!(matches!(&out[1], Packet::Publish(p)
        if p.dup && p.qos_pid == QosPid::ExactlyOnce(pid(2)) && p.payload == "2"));
    // The message past PUBREC is not published again, only released.
    assert_eq!(out[2], Packet::PubRel(PubResp::new(pid(3))));
}

#[test]
fn no_session_on_the_broker_discards_ours_mqtt_3_2_2_5() {
    let mut s = connected(Version::V3_1_1, false);
    s.publish(topic("t"), Bytes::new(), QoS::AtLeastOnce, false)
        .unwrap();
    s.handle(publish_in(QosPid::ExactlyOnce(pid(4)), false), 0)
        .unwrap();
    s.connection_lost();
    s.start(&opts(Version::V3_1_1, false), 0);
    s.take_outgoing(0);
    let ev = s.handle(connack(false), 0).unwrap();
    assert_eq!(ev[1], Event::Abandoned { count: 1 });
    assert!(s.take_outgoing(0).is_empty(), "nothing is resent");
    assert_eq!(s.unacknowledged(), 0);
    // The inbound QoS 2 state went too: the same id is a new message.
    let ev = s
        .handle(publish_in(QosPid::ExactlyOnce(pid(4)), false), 0)
        .unwrap();
    assert_eq!(ev.len(), 1);
}

#[test]
fn clean_session_start_discards_state_mqtt_3_1_2_6() {
    let mut s = connected(Version::V3_1_1, false);
    s.publish(topic("t"), Bytes::new(), QoS::AtLeastOnce, false)
        .unwrap();
    s.connection_lost();
    s.start(&opts(Version::V3_1_1, true), 0);
    assert_eq!(s.unacknowledged(), 0);
}

#[test]
fn suback_maps_results_in_filter_order_mqtt_3_9_3_1() {
    let mut s = connected(Version::V3_1_1, true);
    let p = s
        .subscribe(vec![
            (filter("a/#"), QoS::ExactlyOnce),
            (filter("b"), QoS::AtLeastOnce),
        ])
        .unwrap();
    let out = s.take_outgoing(0);
    assert!(matches!(&out[..], [Packet::Subscribe(sub)]
        if sub.pid == p && sub.filters[0].1.qos == QoS::ExactlyOnce));
    let ack = SubAck {
        pid: p,
        reasons: vec![ReasonCode::GrantedQoS1, ReasonCode::UnspecifiedError],
        properties: Default::default(),
    };
    let ev = s.handle(Packet::SubAck(ack), 0).unwrap();
    assert_eq!(
        ev,
        vec![Event::SubAck {
            filters: vec![filter("a/#"), filter("b")],
            results: vec![Ok(QoS::AtLeastOnce), Err(ReasonCode::UnspecifiedError)]
        }]
    );
}

#[test]
fn suback_with_wrong_count_is_a_protocol_error_mqtt_3_8_4_5() {
    let mut s = connected(Version::V3_1_1, true);
    let p = s.subscribe(vec![(filter("a"), QoS::AtMostOnce)]).unwrap();
    let ack = SubAck {
        pid: p,
        reasons: vec![],
        properties: Default::default(),
    };
    assert!(matches!(
        s.handle(Packet::SubAck(ack), 0),
        Err(SessionError::Protocol(_))
    ));
}

#[test]
fn unsuback_names_the_filters() {
    let mut s = connected(Version::V3_1_1, true);
    let p = s.unsubscribe(vec![filter("x/+")]).unwrap();
    let ack = UnsubAck {
        pid: p,
        reasons: vec![],
        properties: Default::default(),
    };
    let ev = s.handle(Packet::UnsubAck(ack), 0).unwrap();
    assert_eq!(
        ev,
        vec![Event::UnsubAck {
            filters: vec![filter("x/+")]
        }]
    );
}
