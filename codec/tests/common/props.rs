//! Strategies for the MQTT 5 property structs (only valid values).

use super::*;

pub fn nz16() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

pub fn nz32() -> impl Strategy<Value = u32> {
    1..=u32::MAX
}

pub fn sub_id() -> impl Strategy<Value = NonZeroU32> {
    (1..=268_435_455u32).prop_map(|v| NonZeroU32::new(v).unwrap())
}

/// Authentication method and data: data only with a method (section 3.1.2.11.10).
pub fn arb_auth() -> impl Strategy<Value = (Option<ByteString>, Option<Bytes>)> {
    prop_oneof![
        Just((None, None)),
        (arb_string(), of(arb_bytes())).prop_map(|(m, d)| (Some(m), d)),
    ]
}

pub fn arb_connect_props() -> impl Strategy<Value = ConnectProperties> {
    (
        of(any::<u32>()),
        of(nz16()),
        of(nz32()),
        of(any::<u16>()),
        of(any::<bool>()),
        of(any::<bool>()),
        arb_user(),
        arb_auth(),
    )
        .prop_map(
            |(se, rm, mps, tam, rri, rpi, user, (am, ad))| ConnectProperties {
                session_expiry_interval: se,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                user_properties: user,
                authentication_method: am,
                authentication_data: ad,
            },
        )
}

pub fn arb_will_props() -> impl Strategy<Value = WillProperties> {
    (
        of(any::<u32>()),
        of(any::<bool>()),
        of(any::<u32>()),
        of(arb_string()),
        of(arb_topic_name()),
        of(arb_bytes()),
        arb_user(),
    )
        .prop_map(|(wd, pfi, mei, ct, rt, cd, user)| WillProperties {
            will_delay_interval: wd,
            payload_format_indicator: pfi,
            message_expiry_interval: mei,
            content_type: ct,
            response_topic: rt,
            correlation_data: cd,
            user_properties: user,
        })
}

pub fn arb_connack_props() -> impl Strategy<Value = ConnAckProperties> {
    let a = (
        of(any::<u32>()),
        of(nz16()),
        of(select(vec![QoS::AtMostOnce, QoS::AtLeastOnce])),
        of(any::<bool>()),
        of(nz32()),
        of(arb_string()),
        of(any::<u16>()),
        of(arb_string()),
    );
    let b = (
        arb_user(),
        of(any::<bool>()),
        of(any::<bool>()),
        of(any::<bool>()),
        of(any::<u16>()),
        of(arb_string()),
        of(arb_string()),
        arb_auth(),
    );
    (a, b).prop_map(
        |((se, rm, mq, ra, mps, aci, tam, rs), (user, wsa, sia, ssa, ska, ri, sr, (am, ad)))| {
            ConnAckProperties {
                session_expiry_interval: se,
                receive_maximum: rm,
                maximum_qos: mq,
                retain_available: ra,
                maximum_packet_size: mps,
                assigned_client_identifier: aci,
                topic_alias_maximum: tam,
                reason_string: rs,
                user_properties: user,
                wildcard_subscription_available: wsa,
                subscription_identifiers_available: sia,
                shared_subscription_available: ssa,
                server_keep_alive: ska,
                response_information: ri,
                server_reference: sr,
                authentication_method: am,
                authentication_data: ad,
            }
        },
    )
}

pub fn arb_publish_props() -> impl Strategy<Value = PublishProperties> {
    (
        of(any::<bool>()),
        of(any::<u32>()),
        of(nz16().prop_map(|v| NonZeroU16::new(v).unwrap())),
        of(arb_topic_name()),
        of(arb_bytes()),
        arb_user(),
        vec(sub_id(), 0..3),
        of(arb_string()),
    )
        .prop_map(|(pfi, mei, ta, rt, cd, user, sids, ct)| PublishProperties {
            payload_format_indicator: pfi,
            message_expiry_interval: mei,
            topic_alias: ta,
            response_topic: rt,
            correlation_data: cd,
            user_properties: user,
            subscription_identifiers: sids,
            content_type: ct,
        })
}

pub fn arb_ack_props() -> impl Strategy<Value = AckProperties> {
    (of(arb_string()), arb_user()).prop_map(|(rs, user)| AckProperties {
        reason_string: rs,
        user_properties: user,
    })
}
