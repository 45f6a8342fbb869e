//! What differs by protocol version: MQTT 5 message properties on our PUBLISH, and MQTT 3.1's
//! CONNACK without a Session Present flag.

use super::*;
use tern_codec::PublishProperties;

fn props() -> Props<PublishProperties> {
    PublishProperties {
        content_type: Some("text/plain".into()),
        user_properties: vec![("k".into(), "v".into())],
        ..Default::default()
    }
    .into()
}

#[test]
fn v5_publish_carries_its_properties_at_every_qos_section_3_3_2_3() {
    let mut s = connected(Version::V5, true);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        s.publish_with(topic("t"), Bytes::new(), qos, false, props())
            .unwrap();
        let out = s.take_outgoing(0);
        let [Packet::Publish(p)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(p.properties, props(), "{qos:?}");
    }
}

#[test]
fn resent_publish_keeps_its_properties_mqtt_4_4_0_1() {
    let mut s = connected(Version::V5, false);
    s.publish_with(topic("t"), Bytes::new(), QoS::AtLeastOnce, false, props())
        .unwrap();
    s.take_outgoing(0);
    s.connection_lost();
    s.start(&opts(Version::V5, false), 0);
    s.take_outgoing(0);
    s.handle(connack(true), 0).unwrap();
    let out = s.take_outgoing(0);
    let [Packet::Publish(p)] = &out[..] else {
        panic!("{out:?}")
    };
    assert!(p.dup);
    assert_eq!(p.properties, props());
}

#[test]
fn older_versions_send_no_properties() {
    for v in [Version::V3_1, Version::V3_1_1] {
        let mut s = connected(v, true);
        s.publish_with(topic("t"), Bytes::new(), QoS::AtMostOnce, false, props())
            .unwrap();
        let out = s.take_outgoing(0);
        let [Packet::Publish(p)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(p.properties, Props::none(), "{v:?}");
    }
}

/// One QoS 1 message in flight, then the link drops and a new CONNECT is sent.
fn reconnecting_with_one_in_flight(version: Version, clean: bool) -> Session {
    let mut s = connected(version, clean);
    s.publish(
        topic("t"),
        Bytes::from_static(b"m"),
        QoS::AtLeastOnce,
        false,
    )
    .unwrap();
    s.take_outgoing(0);
    s.connection_lost();
    s.start(&opts(version, clean), 0);
    s.take_outgoing(0);
    s
}

#[test]
fn mqtt_3_1_persistent_session_resends_without_a_session_present_flag() {
    // MQTT 3.1 section 3.2: CONNACK has no Session Present flag, so it reads as 0.
    let mut s = reconnecting_with_one_in_flight(Version::V3_1, false);
    let ev = s.handle(connack(false), 0).unwrap();
    assert!(
        !ev.iter().any(|e| matches!(e, Event::Abandoned { .. })),
        "{ev:?}"
    );
    let out = s.take_outgoing(0);
    assert!(
        matches!(&out[..], [Packet::Publish(p)] if p.dup && p.qos_pid == QosPid::AtLeastOnce(pid(1))),
        "{out:?}"
    );
}

#[test]
fn mqtt_3_1_1_without_session_present_discards_mqtt_3_2_2_5() {
    // The same reconnect in 3.1.1 trusts the flag, as the test above does not.
    let mut s = reconnecting_with_one_in_flight(Version::V3_1_1, false);
    let ev = s.handle(connack(false), 0).unwrap();
    assert!(ev.contains(&Event::Abandoned { count: 1 }), "{ev:?}");
    assert!(s.take_outgoing(0).is_empty());
}
