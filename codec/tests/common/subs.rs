//! Strategies for SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK.

use super::*;

pub fn arb_sub_options(v: Version) -> BoxedStrategy<SubscriptionOptions> {
    if !v.is_v5() {
        return arb_qos().prop_map(SubscriptionOptions::new).boxed();
    }
    let rh = select(vec![
        RetainHandling::SendAtSubscribe,
        RetainHandling::SendIfNewSubscription,
        RetainHandling::DoNotSend,
    ]);
    (arb_qos(), any::<bool>(), any::<bool>(), rh)
        .prop_map(
            |(qos, no_local, retain_as_published, retain_handling)| SubscriptionOptions {
                qos,
                no_local,
                retain_as_published,
                retain_handling,
            },
        )
        .boxed()
}

pub fn arb_subscribe(v: Version) -> impl Strategy<Value = Packet> {
    let sp = (of(sub_id()), arb_user()).prop_map(|(subscription_identifier, user_properties)| {
        SubscribeProperties {
            subscription_identifier,
            user_properties,
        }
    });
    (
        arb_pid(),
        vec((arb_topic_filter(), arb_sub_options(v)), 1..4),
        props(v, sp),
    )
        .prop_map(|(pid, filters, properties)| {
            // [MQTT-3.8.3-4]: No Local is not allowed on a shared subscription.
            let filters = filters
                .into_iter()
                .map(|(f, mut o)| {
                    o.no_local &= f.shared().is_none();
                    (f, o)
                })
                .collect();
            Packet::Subscribe(Subscribe {
                pid,
                filters,
                properties: properties.into(),
            })
        })
}

pub fn arb_suback(v: Version) -> impl Strategy<Value = Packet> {
    let codes = if v.is_v5() {
        codes_for(PacketType::SubAck)
    } else {
        vec![
            ReasonCode::GrantedQoS0,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ]
    };
    (
        arb_pid(),
        vec(select(codes), 1..4),
        props(v, arb_ack_props()),
    )
        .prop_map(|(pid, reasons, properties)| {
            Packet::SubAck(SubAck {
                pid,
                reasons,
                properties: properties.into(),
            })
        })
}

pub fn arb_unsubscribe(v: Version) -> impl Strategy<Value = Packet> {
    let up = arb_user().prop_map(|user_properties| UnsubscribeProperties { user_properties });
    (arb_pid(), vec(arb_topic_filter(), 1..4), props(v, up)).prop_map(
        |(pid, filters, properties)| {
            Packet::Unsubscribe(Unsubscribe {
                pid,
                filters,
                properties: properties.into(),
            })
        },
    )
}

pub fn arb_unsuback(v: Version) -> impl Strategy<Value = Packet> {
    let reasons = if v.is_v5() {
        vec(select(codes_for(PacketType::UnsubAck)), 1..4).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (arb_pid(), reasons, props(v, arb_ack_props())).prop_map(|(pid, reasons, properties)| {
        Packet::UnsubAck(UnsubAck {
            pid,
            reasons,
            properties: properties.into(),
        })
    })
}
