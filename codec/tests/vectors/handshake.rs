//! CONNECT, CONNACK, PINGREQ/PINGRESP, DISCONNECT and AUTH vectors.

use super::*;

#[test]
fn connect_3_1_mqisdp_level_3() {
    check(
        "CONNECT 3.1",
        V3_1,
        "10 10 0006 4D5149736470 03 02 003C 0002 6331",
        connect(V3_1).into(),
    );
}

#[test]
fn connect_3_1_1_minimal() {
    check(
        "CONNECT 3.1.1",
        V3_1_1,
        "10 0E 0004 4D515454 04 02 003C 0002 6331",
        connect(V3_1_1).into(),
    );
}

#[test]
fn connect_3_1_1_with_will_user_password() {
    // flags 0xEE: user name, password, will retain, will QoS 1, will, clean session.
    let c = Connect {
        keep_alive: 10,
        client_id: s("c"),
        will: Some(LastWill {
            topic: topic("w"),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Default::default(),
        }),
        username: Some(s("u")),
        password: Some(Bytes::from_static(b"pw")),
        ..connect(V3_1_1)
    };
    let hex = "10 1C 0004 4D515454 04 EE 000A 0001 63 0001 77 0003 627965 0001 75 0002 7077";
    check("CONNECT 3.1.1 will", V3_1_1, hex, c.into());
}

#[test]
fn connect_5_with_properties() {
    // Session Expiry Interval 3600 (0x11), Receive Maximum 20 (0x21).
    let c = Connect {
        client_id: s("c"),
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(20),
            ..Default::default()
        }
        .into(),
        ..connect(V5)
    };
    let hex = "10 16 0004 4D515454 05 02 003C 08 11 00000E10 21 0014 0001 63";
    check("CONNECT 5", V5, hex, c.into());
}

#[test]
fn connect_5_with_will_properties_and_password_only() {
    // MQTT 5 allows a password without a user name (flags 0x46).
    let c = Connect {
        client_id: s("c"),
        will: Some(LastWill {
            topic: topic("w"),
            payload: Bytes::from_static(b"hi"),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: WillProperties {
                will_delay_interval: Some(5),
                ..Default::default()
            }
            .into(),
        }),
        password: Some(Bytes::from_static(b"p")),
        ..connect(V5)
    };
    let hex = "10 1E 0004 4D515454 05 46 003C 00 0001 63 05 18 00000005 0001 77 0002 6869 0001 70";
    check("CONNECT 5 will", V5, hex, c.into());
}

#[test]
fn connack_all_versions() {
    check(
        "CONNACK 3.1",
        V3_1,
        "20 02 00 00",
        ConnAck::new(false, ReasonCode::Success).into(),
    );
    check(
        "CONNACK 3.1.1 session",
        V3_1_1,
        "20 02 01 00",
        ConnAck::new(true, ReasonCode::Success).into(),
    );
    check(
        "CONNACK 3.1.1 refused",
        V3_1_1,
        "20 02 00 05",
        ConnAck::new(false, ReasonCode::NotAuthorized).into(),
    );
    check(
        "CONNACK 3.1.1 bad version",
        V3_1_1,
        "20 02 00 01",
        ConnAck::new(false, ReasonCode::UnsupportedProtocolVersion).into(),
    );
    check(
        "CONNACK 5",
        V5,
        "20 03 00 00 00",
        ConnAck::new(false, ReasonCode::Success).into(),
    );
    check(
        "CONNACK 5 refused",
        V5,
        "20 03 00 87 00",
        ConnAck::new(false, ReasonCode::NotAuthorized).into(),
    );
    let with_props = ConnAck {
        properties: ConnAckProperties {
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            ..Default::default()
        }
        .into(),
        ..ConnAck::new(false, ReasonCode::Success)
    };
    check(
        "CONNACK 5 props",
        V5,
        "20 07 00 00 04 24 01 25 00",
        with_props.into(),
    );
}

#[test]
fn connack_v3_maps_codes_without_equivalent_to_server_unavailable() {
    let p: Packet = ConnAck::new(false, ReasonCode::QuotaExceeded).into();
    assert_eq!(encode_vec(&p, V3_1_1), hex("20 02 00 03"));
}

#[test]
fn auth_5() {
    check("AUTH 5 success", V5, "F0 00", Auth::default().into());
    let cont = Auth {
        reason: ReasonCode::ContinueAuthentication,
        properties: AuthProperties {
            authentication_method: Some(s("SCRAM")),
            ..Default::default()
        }
        .into(),
    };
    check(
        "AUTH 5 continue",
        V5,
        "F0 0A 18 08 15 0005 5343524 14D",
        cont.into(),
    );
}

#[test]
fn ping_all_versions() {
    for v in [V3_1, V3_1_1, V5] {
        check("PINGREQ", v, "C0 00", Packet::PingReq);
        check("PINGRESP", v, "D0 00", Packet::PingResp);
    }
}

#[test]
fn disconnect_all_versions() {
    for v in [V3_1, V3_1_1, V5] {
        check("DISCONNECT", v, "E0 00", Disconnect::default().into());
    }
    check(
        "DISCONNECT 5 reason",
        V5,
        "E0 01 8B",
        Disconnect::new(ReasonCode::ServerShuttingDown).into(),
    );
    let with_props = Disconnect {
        reason: ReasonCode::NormalDisconnection,
        properties: DisconnectProperties {
            session_expiry_interval: Some(0),
            ..Default::default()
        }
        .into(),
    };
    check(
        "DISCONNECT 5 props",
        V5,
        "E0 07 00 05 11 00000000",
        with_props.into(),
    );
}
