//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.

use super::*;

#[test]
fn subscribe_all_versions() {
    let sub = Subscribe {
        pid: pid(10),
        filters: vec![
            (filter("a/+"), SubscriptionOptions::new(QoS::AtLeastOnce)),
            (filter("#"), SubscriptionOptions::default()),
        ],
        properties: Default::default(),
    };
    let hex3 = "82 0C 000A 0003 612F2B 01 0001 23 00";
    check("SUBSCRIBE 3.1", V3_1, hex3, sub.clone().into());
    check("SUBSCRIBE 3.1.1", V3_1_1, hex3, sub.into());
    let sub5 = Subscribe {
        pid: pid(10),
        filters: vec![(
            filter("a"),
            SubscriptionOptions {
                qos: QoS::ExactlyOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::SendIfNewSubscription,
            },
        )],
        properties: SubscribeProperties {
            subscription_identifier: NonZeroU32::new(5),
            ..Default::default()
        }
        .into(),
    };
    check(
        "SUBSCRIBE 5",
        V5,
        "82 09 000A 02 0B 05 0001 61 1E",
        sub5.into(),
    );
}

#[test]
fn suback_all_versions() {
    let ack = SubAck {
        pid: pid(10),
        reasons: vec![ReasonCode::GrantedQoS1, ReasonCode::UnspecifiedError],
        properties: Default::default(),
    };
    check("SUBACK 3.1", V3_1, "90 04 000A 01 80", ack.clone().into());
    check("SUBACK 3.1.1", V3_1_1, "90 04 000A 01 80", ack.into());
    let ack5 = SubAck {
        pid: pid(10),
        reasons: vec![
            ReasonCode::GrantedQoS2,
            ReasonCode::WildcardSubscriptionsNotSupported,
        ],
        properties: Default::default(),
    };
    check("SUBACK 5", V5, "90 05 000A 00 02 A2", ack5.clone().into());
    // [MQTT-3.9.3-2]: in 3.x every failure is 0x80.
    assert_eq!(encode_vec(&ack5.into(), V3_1_1), hex("90 04 000A 02 80"));
}

#[test]
fn unsubscribe_all_versions() {
    let un = Unsubscribe {
        pid: pid(11),
        filters: vec![filter("a")],
        properties: Default::default(),
    };
    check(
        "UNSUBSCRIBE 3.1",
        V3_1,
        "A2 05 000B 0001 61",
        un.clone().into(),
    );
    check(
        "UNSUBSCRIBE 3.1.1",
        V3_1_1,
        "A2 05 000B 0001 61",
        un.clone().into(),
    );
    check("UNSUBSCRIBE 5", V5, "A2 06 000B 00 0001 61", un.into());
    let un5 = Unsubscribe {
        pid: pid(11),
        filters: vec![filter("a")],
        properties: UnsubscribeProperties {
            user_properties: vec![(s("k"), s("v"))],
        }
        .into(),
    };
    check(
        "UNSUBSCRIBE 5 user property",
        V5,
        "A2 0D 000B 07 26 0001 6B 0001 76 0001 61",
        un5.into(),
    );
}

#[test]
fn unsuback_all_versions() {
    let ack = UnsubAck {
        pid: pid(11),
        reasons: vec![],
        properties: Default::default(),
    };
    check("UNSUBACK 3.1", V3_1, "B0 02 000B", ack.clone().into());
    check("UNSUBACK 3.1.1", V3_1_1, "B0 02 000B", ack.into());
    let ack5 = UnsubAck {
        pid: pid(11),
        reasons: vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted],
        properties: Default::default(),
    };
    check("UNSUBACK 5", V5, "B0 05 000B 00 00 11", ack5.into());
}
