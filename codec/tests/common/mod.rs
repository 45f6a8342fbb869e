//! Shared by the integration tests: proptest strategies producing every packet that is
//! valid for a given protocol version, and helpers to encode / decode.
#![allow(dead_code)]

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;
use tern_codec::*;

mod props;
mod subs;
pub use props::*;
pub use subs::*;

pub const VERSIONS: [Version; 3] = [Version::V3_1, Version::V3_1_1, Version::V5];

pub fn cfg(version: Version) -> DecodeConfig {
    DecodeConfig {
        version,
        ..DecodeConfig::default()
    }
}

pub fn encode_vec(p: &Packet, v: Version) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode(p, v, &mut buf).unwrap_or_else(|e| panic!("encode {p:?} for {v}: {e}"));
    buf.to_vec()
}

pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_hexdigit())
        .map(|b| (b as char).to_digit(16).unwrap() as u8)
        .collect();
    assert!(digits.len().is_multiple_of(2), "odd hex string {s}");
    digits.chunks(2).map(|c| c[0] << 4 | c[1]).collect()
}

/// Reason codes the specification allows in `ty`.
pub fn codes_for(ty: PacketType) -> Vec<ReasonCode> {
    (0..=u8::MAX)
        .filter_map(ReasonCode::from_u8)
        .filter(|r| r.is_valid_for(ty))
        .collect()
}

pub fn arb_version() -> impl Strategy<Value = Version> {
    select(VERSIONS.to_vec())
}

/// Strings with multi-byte characters but no U+0000.
pub fn arb_string() -> impl Strategy<Value = ByteString> {
    "[a-zA-Z0-9 _/é€😀-]{0,12}".prop_map(ByteString::from)
}

pub fn arb_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

pub fn arb_pid() -> impl Strategy<Value = Pid> {
    (1..=u16::MAX).prop_map(|v| Pid::new(v).unwrap())
}

pub fn arb_qos() -> impl Strategy<Value = QoS> {
    select(vec![QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

pub fn arb_topic_name() -> impl Strategy<Value = TopicName> {
    "[a-z0-9/$é]{1,16}".prop_map(|s| TopicName::new(s).unwrap())
}

pub fn arb_topic_filter() -> impl Strategy<Value = TopicFilter> {
    let level = prop_oneof![3 => "[a-z0-9é]{0,5}", 1 => Just("+".to_string())];
    (vec(level, 1..4), any::<bool>(), of("[a-z0-9]{1,4}")).prop_map(|(levels, hash, share)| {
        let mut f = levels.join("/");
        if f.is_empty() {
            f.push('/'); // two empty levels: the empty string is not a filter
        }
        if hash {
            f.push_str("/#");
        }
        if let Some(group) = share {
            f = format!("$share/{group}/{f}");
        }
        TopicFilter::new(f).unwrap()
    })
}

pub fn arb_user() -> impl Strategy<Value = UserProperties> {
    vec((arb_string(), arb_string()), 0..3)
}

/// Properties for `v`: always the default in 3.x, which cannot carry any.
fn props<T: Default + std::fmt::Debug + Clone + 'static>(
    v: Version,
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    if v.is_v5() {
        s.boxed()
    } else {
        Just(T::default()).boxed()
    }
}

pub fn arb_connect(v: Version) -> impl Strategy<Value = Packet> {
    let will = (
        arb_topic_name(),
        arb_bytes(),
        arb_qos(),
        any::<bool>(),
        props(v, arb_will_props()),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| LastWill {
            topic,
            payload,
            qos,
            retain,
            properties: properties.into(),
        });
    (
        any::<bool>(),
        any::<u16>(),
        arb_string(),
        of(will),
        of(arb_string()),
        of(arb_bytes()),
        props(v, arb_connect_props()),
    )
        .prop_map(
            move |(clean_start, keep_alive, client_id, will, username, password, properties)| {
                // [MQTT-3.1.2-22]: in 3.x a password needs a user name.
                let password = if v.is_v5() || username.is_some() {
                    password
                } else {
                    None
                };
                Packet::Connect(Box::new(Connect {
                    version: v,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties: properties.into(),
                }))
            },
        )
}

pub fn arb_connack(v: Version) -> impl Strategy<Value = Packet> {
    let reasons = if v.is_v5() {
        codes_for(PacketType::ConnAck)
    } else {
        (0..=5u8)
            .map(|c| ReasonCode::from(ConnectReturnCode::try_from(c).unwrap()))
            .collect()
    };
    (
        any::<bool>(),
        select(reasons),
        props(v, arb_connack_props()),
    )
        .prop_map(|(sp, reason, properties)| {
            Packet::ConnAck(ConnAck {
                session_present: sp && !reason.is_error(),
                reason,
                properties: properties.into(),
            })
        })
}

pub fn arb_publish(v: Version) -> impl Strategy<Value = Packet> {
    (
        any::<bool>(),
        arb_qos(),
        arb_pid(),
        any::<bool>(),
        arb_topic_name(),
        arb_bytes(),
        props(v, arb_publish_props()),
        any::<bool>(),
    )
        .prop_map(
            move |(dup, qos, pid, retain, topic, payload, properties, empty_topic)| {
                let qos_pid =
                    QosPid::from_parts(qos, (qos != QoS::AtMostOnce).then_some(pid)).unwrap();
                // MQTT 5 may send an empty topic when a Topic Alias is present.
                let topic = if empty_topic && properties.topic_alias.is_some() {
                    TopicName::empty()
                } else {
                    topic
                };
                Packet::Publish(Publish {
                    dup: dup && qos != QoS::AtMostOnce,
                    qos_pid,
                    retain,
                    topic,
                    payload,
                    properties: properties.into(),
                })
            },
        )
}

pub fn arb_pubresp(v: Version) -> impl Strategy<Value = Packet> {
    let ty = select(vec![
        PacketType::PubAck,
        PacketType::PubRec,
        PacketType::PubRel,
        PacketType::PubComp,
    ]);
    (
        ty,
        arb_pid(),
        any::<prop::sample::Index>(),
        props(v, arb_ack_props()),
    )
        .prop_map(move |(ty, pid, idx, properties)| {
            let reason = if v.is_v5() {
                *idx.get(&codes_for(ty))
            } else {
                ReasonCode::Success
            };
            let r = PubResp {
                pid,
                reason,
                properties: properties.into(),
            };
            match ty {
                PacketType::PubAck => Packet::PubAck(r),
                PacketType::PubRec => Packet::PubRec(r),
                PacketType::PubRel => Packet::PubRel(r),
                _ => Packet::PubComp(r),
            }
        })
}

pub fn arb_disconnect(v: Version) -> impl Strategy<Value = Packet> {
    let dp = (
        of(any::<u32>()),
        of(arb_string()),
        arb_user(),
        of(arb_string()),
    )
        .prop_map(|(se, rs, user, sr)| DisconnectProperties {
            session_expiry_interval: se,
            reason_string: rs,
            user_properties: user,
            server_reference: sr,
        });
    let reason = if v.is_v5() {
        select(codes_for(PacketType::Disconnect)).boxed()
    } else {
        Just(ReasonCode::NormalDisconnection).boxed()
    };
    (reason, props(v, dp)).prop_map(|(reason, properties)| {
        Packet::Disconnect(Disconnect {
            reason,
            properties: properties.into(),
        })
    })
}

pub fn arb_auth_packet() -> impl Strategy<Value = Packet> {
    let ap = (arb_auth(), of(arb_string()), arb_user()).prop_map(|((am, ad), rs, user)| {
        AuthProperties {
            authentication_method: am,
            authentication_data: ad,
            reason_string: rs,
            user_properties: user,
        }
    });
    (select(codes_for(PacketType::Auth)), ap).prop_map(|(reason, properties)| {
        Packet::Auth(Auth {
            reason,
            properties: properties.into(),
        })
    })
}

/// Any packet that is valid in `v`.
pub fn arb_packet(v: Version) -> BoxedStrategy<Packet> {
    let mut options = vec![
        arb_connect(v).boxed(),
        arb_connack(v).boxed(),
        arb_publish(v).boxed(),
        arb_pubresp(v).boxed(),
        arb_subscribe(v).boxed(),
        arb_suback(v).boxed(),
        arb_unsubscribe(v).boxed(),
        arb_unsuback(v).boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        arb_disconnect(v).boxed(),
    ];
    if v.is_v5() {
        options.push(arb_auth_packet().boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

/// A version together with a packet valid in it.
pub fn arb_versioned_packet() -> impl Strategy<Value = (Version, Packet)> {
    arb_version().prop_flat_map(|v| arb_packet(v).prop_map(move |p| (v, p)))
}
