//! Connecting, keep-alive and disconnecting.

use super::*;

#[test]
fn connect_is_the_first_packet_mqtt_3_1_0_1() {
    let mut s = Session::new();
    s.start(&opts(Version::V3_1_1, true), 5);
    let out = s.take_outgoing(5);
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], Packet::Connect(c) if c.client_id == "c1" && c.clean_start));
    assert!(!s.is_connected());
}

#[test]
fn packet_before_connack_is_a_protocol_error_mqtt_3_2_0_1() {
    let mut s = Session::new();
    s.start(&opts(Version::V3_1_1, true), 0);
    let err = s.handle(Packet::PingResp, 0).unwrap_err();
    assert!(matches!(err, SessionError::Protocol(m) if m.contains("MQTT-3.2.0-1")));
}

#[test]
fn refused_connack_reports_the_reason() {
    let mut s = Session::new();
    s.start(&opts(Version::V5, true), 0);
    let mut ack = ConnAck::new(false, ReasonCode::NotAuthorized);
    ack.properties.reason_string = Some("no entry".into());
    let err = s.handle(Packet::ConnAck(ack), 0).unwrap_err();
    assert_eq!(
        err,
        SessionError::Refused {
            reason: ReasonCode::NotAuthorized,
            reason_string: Some("no entry".into())
        }
    );
}

#[test]
fn connack_timeout_is_detected() {
    let mut s = Session::new();
    s.start(&opts(Version::V3_1_1, true), 1_000);
    assert_eq!(s.tick(1_000 + CONNACK_TIMEOUT_MS), Ok(()));
    assert_eq!(
        s.tick(1_001 + CONNACK_TIMEOUT_MS),
        Err(SessionError::NoConnAck)
    );
}

#[test]
fn session_present_on_clean_session_is_rejected_mqtt_3_2_2_1() {
    let mut s = Session::new();
    s.start(&opts(Version::V3_1_1, true), 0);
    assert!(matches!(
        s.handle(connack(true), 0),
        Err(SessionError::Protocol(_))
    ));
}

#[test]
fn pingreq_when_idle_and_dead_link_when_no_pingresp_mqtt_3_1_2_23() {
    let mut s = connected(Version::V3_1_1, true);
    s.take_outgoing(0);
    // keep-alive 60 s: ping at 3/4 of it, not before.
    s.tick(44_999).unwrap();
    assert!(s.take_outgoing(44_999).is_empty());
    s.tick(45_000).unwrap();
    assert_eq!(s.take_outgoing(45_000), vec![Packet::PingReq]);
    // Only one ping outstanding.
    s.tick(46_000).unwrap();
    assert!(s.take_outgoing(46_000).is_empty());
    // PINGRESP clears it; the next ping counts from the last packet sent.
    s.handle(Packet::PingResp, 47_000).unwrap();
    s.tick(89_999).unwrap();
    assert!(s.take_outgoing(89_999).is_empty());
    s.tick(90_000).unwrap();
    assert_eq!(s.take_outgoing(90_000), vec![Packet::PingReq]);
    // No answer within half the keep-alive: the connection is dead.
    assert_eq!(s.tick(120_000), Ok(()));
    assert_eq!(s.tick(120_001), Err(SessionError::PingTimeout));
}

#[test]
fn sending_anything_postpones_the_ping_mqtt_3_1_2_23() {
    let mut s = connected(Version::V3_1_1, true);
    s.take_outgoing(0);
    s.publish(topic("t"), Bytes::new(), QoS::AtMostOnce, false)
        .unwrap();
    s.take_outgoing(30_000);
    s.tick(60_000).unwrap();
    assert!(s.take_outgoing(60_000).is_empty());
    s.tick(75_000).unwrap();
    assert_eq!(s.take_outgoing(75_000), vec![Packet::PingReq]);
}

#[test]
fn server_keep_alive_replaces_ours_mqtt_3_2_2_21() {
    let mut s = Session::new();
    s.start(&opts(Version::V5, true), 0);
    let mut ack = ConnAck::new(false, ReasonCode::Success);
    ack.properties = ConnAckProperties {
        server_keep_alive: Some(4),
        ..Default::default()
    }
    .into();
    let ev = s.handle(Packet::ConnAck(ack), 0).unwrap();
    assert!(matches!(ev[0], Event::Connected { keep_alive: 4, .. }));
    s.take_outgoing(0);
    s.tick(3_000).unwrap();
    assert_eq!(s.take_outgoing(3_000), vec![Packet::PingReq]);
}

#[test]
fn keep_alive_zero_never_pings() {
    let mut s = Session::new();
    let mut o = opts(Version::V3_1_1, true);
    o.keep_alive = 0;
    s.start(&o, 0);
    s.handle(connack(false), 0).unwrap();
    s.take_outgoing(0);
    s.tick(10_000_000).unwrap();
    assert!(s.take_outgoing(10_000_000).is_empty());
}

#[test]
fn server_disconnect_closes_with_its_reason() {
    let mut s = connected(Version::V5, true);
    let mut d = Disconnect::new(ReasonCode::ServerShuttingDown);
    d.properties = DisconnectProperties {
        reason_string: Some("bye".into()),
        ..Default::default()
    }
    .into();
    assert_eq!(
        s.handle(Packet::Disconnect(d), 0),
        Err(SessionError::ServerDisconnect {
            reason: ReasonCode::ServerShuttingDown,
            reason_string: Some("bye".into())
        })
    );
}

#[test]
fn topic_alias_from_broker_is_a_protocol_error() {
    let mut s = connected(Version::V5, true);
    let mut p = Publish::new(TopicName::empty(), QosPid::AtMostOnce, Bytes::new());
    p.properties.topic_alias = std::num::NonZeroU16::new(1);
    assert!(matches!(
        s.handle(Packet::Publish(p), 0),
        Err(SessionError::Protocol(_))
    ));
}

#[test]
fn disconnect_is_queued_only_when_connected_mqtt_3_14_4_3() {
    let mut s = Session::new();
    s.disconnect();
    assert!(s.take_outgoing(0).is_empty());
    let mut s = connected(Version::V3_1_1, true);
    s.take_outgoing(0);
    s.disconnect();
    assert!(matches!(&s.take_outgoing(0)[..],
        [Packet::Disconnect(d)] if d.reason == ReasonCode::NormalDisconnection));
}

#[test]
fn subscribe_requests_made_before_a_drop_are_forgotten() {
    let mut s = connected(Version::V3_1_1, true);
    let p = s.subscribe(vec![(filter("a"), QoS::AtMostOnce)]).unwrap();
    s.connection_lost();
    s.start(&opts(Version::V3_1_1, true), 0);
    s.handle(connack(false), 0).unwrap();
    let ack = SubAck {
        pid: p,
        reasons: vec![ReasonCode::Success],
        properties: Default::default(),
    };
    assert!(s.handle(Packet::SubAck(ack), 0).unwrap().is_empty());
}
