//! PUBLISH and its acknowledgements.

use super::*;

#[test]
fn publish_all_versions() {
    let q0 = Publish::new(topic("a/b"), QosPid::AtMostOnce, &b"hi"[..]);
    check(
        "PUBLISH 3.1.1 QoS0",
        V3_1_1,
        "30 07 0003 612F62 6869",
        q0.clone().into(),
    );
    check("PUBLISH 5 QoS0", V5, "30 08 0003 612F62 00 6869", q0.into());
    let q1 = Publish {
        dup: true,
        retain: true,
        ..Publish::new(topic("a/b"), QosPid::AtLeastOnce(pid(10)), &b"hi"[..])
    };
    check(
        "PUBLISH 3.1.1 QoS1 dup retain",
        V3_1_1,
        "3B 09 0003 612F62 000A 6869",
        q1.into(),
    );
    let q2 = Publish::new(topic("a/b"), QosPid::ExactlyOnce(pid(11)), &b"hi"[..]);
    check(
        "PUBLISH 3.1 QoS2",
        V3_1,
        "34 09 0003 612F62 000B 6869",
        q2.into(),
    );
    let v5 = Publish {
        properties: PublishProperties {
            payload_format_indicator: Some(true),
            topic_alias: NonZeroU16::new(5),
            ..Default::default()
        }
        .into(),
        ..Publish::new(topic("a/b"), QosPid::AtLeastOnce(pid(1)), &b"hi"[..])
    };
    check(
        "PUBLISH 5 props",
        V5,
        "32 0F 0003 612F62 0001 05 01 01 23 0005 6869",
        v5.into(),
    );
    let alias_only = Publish {
        properties: PublishProperties {
            topic_alias: NonZeroU16::new(5),
            ..Default::default()
        }
        .into(),
        ..Publish::new(TopicName::empty(), QosPid::AtMostOnce, &b"x"[..])
    };
    check(
        "PUBLISH 5 alias only",
        V5,
        "30 07 0000 03 23 0005 78",
        alias_only.into(),
    );
    let sub_ids = Publish {
        properties: PublishProperties {
            subscription_identifiers: vec![
                NonZeroU32::new(1).unwrap(),
                NonZeroU32::new(200).unwrap(),
            ],
            ..Default::default()
        }
        .into(),
        ..Publish::new(topic("t"), QosPid::AtMostOnce, Bytes::new())
    };
    check(
        "PUBLISH 5 two subscription ids",
        V5,
        "30 09 0001 74 05 0B 01 0B C801",
        sub_ids.into(),
    );
}

#[test]
fn puback_pubrec_pubrel_pubcomp_all_versions() {
    for v in [V3_1, V3_1_1, V5] {
        check(
            "PUBACK",
            v,
            "40 02 0007",
            Packet::PubAck(PubResp::new(pid(7))),
        );
        check(
            "PUBREC",
            v,
            "50 02 0007",
            Packet::PubRec(PubResp::new(pid(7))),
        );
        check(
            "PUBREL",
            v,
            "62 02 0007",
            Packet::PubRel(PubResp::new(pid(7))),
        );
        check(
            "PUBCOMP",
            v,
            "70 02 0007",
            Packet::PubComp(PubResp::new(pid(7))),
        );
    }
    let r = |reason| PubResp {
        reason,
        ..PubResp::new(pid(7))
    };
    check(
        "PUBACK 5 reason",
        V5,
        "40 03 0007 10",
        Packet::PubAck(r(ReasonCode::NoMatchingSubscribers)),
    );
    check(
        "PUBREL 5 reason",
        V5,
        "62 03 0007 92",
        Packet::PubRel(r(ReasonCode::PacketIdentifierNotFound)),
    );
    let props = PubResp {
        properties: AckProperties {
            reason_string: Some(s("x")),
            ..Default::default()
        }
        .into(),
        ..r(ReasonCode::NotAuthorized)
    };
    check(
        "PUBREC 5 reason string",
        V5,
        "50 08 0007 87 04 1F 0001 78",
        Packet::PubRec(props),
    );
}

#[test]
fn v5_puback_long_form_of_success_decodes() {
    // Reason code and an empty property block may be present even for Success.
    for bytes in ["40 03 0007 00", "40 04 0007 00 00"] {
        let got = decode(&mut BytesMut::from(&hex(bytes)[..]), &cfg(V5));
        assert_eq!(
            got,
            Ok(Some(Packet::PubAck(PubResp::new(pid(7))))),
            "{bytes}"
        );
    }
}

#[test]
fn v5_only_content_is_refused_for_v3() {
    let auth: Packet = Auth::default().into();
    assert!(matches!(
        encode_vec_err(&auth, V3_1_1),
        EncodeError::PacketNotInVersion { .. }
    ));
    let nack = Packet::PubAck(PubResp {
        reason: ReasonCode::QuotaExceeded,
        ..PubResp::new(pid(1))
    });
    assert!(matches!(
        encode_vec_err(&nack, V3_1_1),
        EncodeError::ReasonNotInVersion { .. }
    ));
    let props = Publish {
        properties: PublishProperties {
            message_expiry_interval: Some(1),
            ..Default::default()
        }
        .into(),
        ..Publish::new(topic("t"), QosPid::AtMostOnce, Bytes::new())
    };
    assert!(matches!(
        encode_vec_err(&props.into(), V3_1),
        EncodeError::PropertiesNotInVersion { .. }
    ));
    let opts = Subscribe {
        pid: pid(1),
        filters: vec![(
            filter("t"),
            SubscriptionOptions {
                no_local: true,
                ..Default::default()
            },
        )],
        properties: Default::default(),
    };
    assert!(matches!(
        encode_vec_err(&opts.into(), V3_1_1),
        EncodeError::SubscriptionOptionsNotInVersion { .. }
    ));
}
