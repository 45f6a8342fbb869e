//! Packet generators: valid packets with the corners clients really reach (every version,
//! wildcards, `$` topics, shared subscriptions, v5 properties, 60,000-level and 60,000-byte
//! topics, payloads up to and beyond the default `max_packet_size`), and invalid ones made
//! from them (bit flips, truncation, huge declared lengths, packets the codec refuses to
//! encode, written by hand).

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes, BytesMut};
use tern_codec::{
    Connect, ConnectProperties, LastWill, Packet, Pid, Publish, PublishProperties, QoS, QosPid,
    RetainHandling, Subscribe, SubscribeProperties, SubscriptionOptions, TopicFilter, TopicName,
    Unsubscribe, Version, WillProperties, encode,
};

use crate::rng::Rng;

/// Client ids shared by all workers, so sessions are resumed and taken over across them.
pub const ID_POOL: usize = 48;
/// Levels of a deep topic: far beyond any sane limit (Mosquitto's is 200), and deep enough
/// that a recursive walk over it overflows a 2 MiB thread stack (issue 10).
pub const DEEP_LEVELS: usize = 60_000;
/// Bytes of a long topic level (a topic is at most 65,535 bytes, [MQTT-1.5.4]).
pub const LONG_LEVEL: usize = 60_000;

pub fn version(rng: &mut Rng) -> Version {
    rng.pick(&[Version::V3_1, Version::V3_1_1, Version::V5])
}

pub fn pool_id(rng: &mut Rng) -> String {
    format!("fz-{}", rng.below(ID_POOL))
}

pub fn qos(rng: &mut Rng) -> QoS {
    rng.pick(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

const LEVELS: &[&str] = &["a", "b", "c", "x", "", "ü", "日本", "sp ace", "dev-1"];

/// A topic name: mostly short ones under `fz/` that the generated filters match, sometimes
/// `$` topics, a 60,000-level or a 60,000-byte one.
pub fn topic(rng: &mut Rng) -> String {
    match rng.weighted(&[80, 5, 4, 3, 3, 2, 3]) {
        0 => {
            let mut t = String::from("fz");
            for _ in 0..rng.range(1, 5) {
                t.push('/');
                t.push_str(rng.pick(LEVELS));
            }
            t
        }
        1 => rng
            .pick(&["$fz/a", "$SYS/broker/fake", "$SYS", "$"])
            .to_string(),
        2 => deep_topic(rng),
        3 => format!("fz/{}", "L".repeat(LONG_LEVEL)),
        4 => rng.pick(&["/", "//", "fz/", "/fz"]).to_string(),
        5 => "é".repeat(rng.range(1, 30_000)),
        _ => format!("fz/{}", rng.below(1000)),
    }
}

pub fn deep_topic(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => "/".repeat(DEEP_LEVELS),
        1 => format!("fz{}", "/".repeat(DEEP_LEVELS)),
        _ => format!("fz/{}x", "/".repeat(DEEP_LEVELS - 10)),
    }
}

/// A topic filter: wildcards in every position, `$SYS`, shared subscriptions, deep and
/// long ones.
pub fn filter(rng: &mut Rng) -> String {
    match rng.weighted(&[60, 15, 5, 4, 3, 3, 10]) {
        0 => {
            let mut f = String::from("fz");
            for _ in 0..rng.range(0, 4) {
                f.push('/');
                f.push_str(if rng.one_in(3) { "+" } else { rng.pick(LEVELS) });
            }
            if rng.one_in(2) {
                f.push_str("/#");
            }
            f
        }
        1 => rng
            .pick(&[
                "#", "+/#", "+", "fz/#", "fz/+/+", "+/+/+/+", "$SYS/#", "$fz/#", "/#",
            ])
            .to_string(),
        2 => format!("$share/g{}/fz/#", rng.below(3)),
        3 => match rng.below(3) {
            0 => format!("{}#", "/".repeat(DEEP_LEVELS)),
            1 => format!("{}#", "+/".repeat(DEEP_LEVELS / 2)),
            _ => format!("fz{}+", "/".repeat(DEEP_LEVELS)),
        },
        4 => format!("fz/{}/#", "L".repeat(LONG_LEVEL)),
        5 => deep_topic(rng),
        _ => topic(rng),
    }
}

fn opt_u32(rng: &mut Rng, values: &[u32]) -> Option<u32> {
    if rng.one_in(2) {
        None
    } else {
        Some(rng.pick(values))
    }
}

fn user_properties(rng: &mut Rng) -> Vec<(bytestring::ByteString, bytestring::ByteString)> {
    (0..rng.weighted(&[8, 2, 1]) * 3)
        .map(|i| (format!("k{i}").into(), "v".repeat(rng.below(40)).into()))
        .collect()
}

/// Whether a CONNECT leaves a session behind when its connection ends.
pub fn is_persistent(c: &Connect) -> bool {
    if c.version.is_v5() {
        c.properties.session_expiry_interval.unwrap_or(0) > 0
    } else {
        !c.clean_start
    }
}

/// A valid CONNECT for `id` (which may be empty) with random flags, will and properties.
pub fn connect(rng: &mut Rng, version: Version, id: &str) -> Connect {
    let mut c = Connect::new(version, id);
    // A 3.x client with an empty id must ask for a clean session [MQTT-3.1.3-7].
    c.clean_start = id.is_empty() && !version.is_v5() || rng.one_in(2);
    c.keep_alive = rng.pick(&[0, 1, 2, 30, 60, 65535]);
    if rng.percent(30) {
        let topic = if rng.one_in(20) {
            deep_topic(rng)
        } else {
            topic(rng)
        };
        if let Ok(topic) = TopicName::new(topic) {
            let mut props = WillProperties::default();
            if version.is_v5() {
                props.will_delay_interval = opt_u32(rng, &[0, 1, 3600]);
                props.message_expiry_interval = opt_u32(rng, &[1, 60]);
                props.user_properties = user_properties(rng);
            }
            c.will = Some(LastWill {
                topic,
                payload: Bytes::from(rng.bytes_upto(64)),
                qos: qos(rng),
                retain: rng.one_in(3),
                properties: props.into(),
            });
        }
    }
    if rng.one_in(4) {
        c.username = Some(format!("user{}", rng.below(4)).into());
        if rng.one_in(2) {
            c.password = Some(Bytes::from(rng.bytes_upto(16)));
        }
    }
    if version.is_v5() {
        let mut p = ConnectProperties {
            session_expiry_interval: opt_u32(rng, &[0, 1, 2, 300, u32::MAX]),
            receive_maximum: opt_u32(rng, &[1, 2, 5, 100]).map(|v| v as u16),
            maximum_packet_size: opt_u32(rng, &[128, 1024, 70_000]),
            topic_alias_maximum: opt_u32(rng, &[0, 1, 5]).map(|v| v as u16),
            request_problem_information: rng.one_in(4).then(|| rng.one_in(2)),
            ..Default::default()
        };
        p.user_properties = user_properties(rng);
        c.properties = p.into();
    }
    c
}

/// A PUBLISH from a client: valid content, with v5 properties that are sometimes wrong for
/// the direction (a Subscription Identifier, [MQTT-3.3.4-6]) or the connection (a Topic
/// Alias beyond the broker's maximum, [MQTT-3.3.2-9]).
pub fn publish(rng: &mut Rng, version: Version, topic: &str, qos_pid: QosPid) -> Option<Packet> {
    let topic = TopicName::new(topic).ok()?;
    let payload = match rng.weighted(&[90, 6, 3, 1]) {
        0 => rng.bytes_upto(200),
        1 => rng.bytes(64 * 1024),
        2 => vec![b'p'; 900 * 1024],
        // Beyond the default max_packet_size (1 MiB): the broker must refuse, not buffer.
        _ => vec![b'p'; 2 * 1024 * 1024],
    };
    let mut p = Publish::new(topic, qos_pid, Bytes::from(payload));
    p.retain = rng.one_in(5);
    p.dup = qos_pid.qos() != QoS::AtMostOnce && rng.one_in(10);
    if version.is_v5() && rng.one_in(3) {
        let mut props = PublishProperties {
            payload_format_indicator: rng.one_in(4).then_some(true),
            message_expiry_interval: opt_u32(rng, &[1, 3600]),
            topic_alias: rng
                .one_in(4)
                .then(|| rng.pick(&[1, 2, 10, 11, 65535]))
                .and_then(NonZeroU16::new),
            response_topic: rng
                .one_in(6)
                .then(|| TopicName::new("fz/reply").ok())
                .flatten(),
            correlation_data: rng.one_in(6).then(|| Bytes::from(rng.bytes(8))),
            user_properties: user_properties(rng),
            ..Default::default()
        };
        if rng.one_in(20) {
            props.subscription_identifiers = vec![NonZeroU32::MIN];
        }
        p.properties = props.into();
    }
    Some(Packet::Publish(p))
}

/// A SUBSCRIBE with 1 to 4 filters (the invalid ones are left out: see [`raw_subscribe`]).
pub fn subscribe(rng: &mut Rng, version: Version, pid: Pid) -> Option<Packet> {
    let mut filters = Vec::new();
    for _ in 0..rng.weighted(&[0, 6, 2, 1, 1]) {
        let Ok(f) = TopicFilter::new(filter(rng)) else {
            continue;
        };
        let mut o = SubscriptionOptions::new(qos(rng));
        if version.is_v5() {
            o.no_local = rng.one_in(4) && f.shared().is_none();
            o.retain_as_published = rng.one_in(3);
            o.retain_handling = rng.pick(&[
                RetainHandling::SendAtSubscribe,
                RetainHandling::SendIfNewSubscription,
                RetainHandling::DoNotSend,
            ]);
        }
        filters.push((f, o));
    }
    if filters.is_empty() {
        return None;
    }
    let mut properties = SubscribeProperties::default();
    if version.is_v5() && rng.one_in(3) {
        properties.subscription_identifier = NonZeroU32::new(rng.range(1, 1000) as u32);
    }
    Some(Packet::Subscribe(Subscribe {
        pid,
        filters,
        properties: properties.into(),
    }))
}

pub fn unsubscribe(rng: &mut Rng, pid: Pid) -> Option<Packet> {
    let filters: Vec<TopicFilter> = (0..rng.range(1, 3))
        .filter_map(|_| TopicFilter::new(filter(rng)).ok())
        .collect();
    (!filters.is_empty()).then(|| {
        Packet::Unsubscribe(Unsubscribe {
            pid,
            filters,
            properties: Default::default(),
        })
    })
}

pub fn to_bytes(p: &Packet, version: Version) -> Option<Vec<u8>> {
    let mut b = BytesMut::new();
    encode(p, version, &mut b).ok()?;
    Some(b.to_vec())
}

/// Fixed header + remaining length (which may be anything up to the 4-byte maximum).
pub fn header(first: u8, remaining: usize) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = remaining;
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 || out.len() == 5 {
            return out;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.put_u16(s.len() as u16);
    out.extend_from_slice(s);
}

/// A SUBSCRIBE the codec would refuse to encode: a bad filter (`a/#/b`, `a+`, `#/`, an
/// empty one, U+0000, invalid UTF-8), bad options, or a reserved flag in the header.
pub fn raw_subscribe(rng: &mut Rng, version: Version) -> Vec<u8> {
    let pid = rng.range(1, 9) as u16;
    let bad: &[&[u8]] = &[
        b"a/#/b",
        b"a+",
        b"#/",
        b"",
        b"fz/\0",
        b"fz/\xff\xfe",
        b"+#",
        b"$share/g",
    ];
    let mut body = Vec::new();
    body.put_u16(pid);
    if version.is_v5() {
        body.push(0);
    }
    put_str(&mut body, rng.pick(bad));
    body.push(rng.pick(&[0, 1, 2, 3, 0xC0, 0x3F]));
    let first = if rng.one_in(4) { 0x80 } else { 0x82 };
    let mut out = header(first, body.len());
    out.extend(body);
    out
}

/// A PUBLISH with an invalid topic (wildcards, U+0000, bad UTF-8) or QoS 3.
pub fn raw_publish(rng: &mut Rng, version: Version) -> Vec<u8> {
    let topics: &[&[u8]] = &[b"fz/+", b"fz/#", b"\0", b"fz/\xc3\x28", b""];
    let first = rng.pick(&[0x30u8, 0x32, 0x34, 0x36, 0x3E]);
    let mut body = Vec::new();
    put_str(&mut body, rng.pick(topics));
    if first & 0x06 != 0 {
        body.put_u16(rng.below(3) as u16);
    }
    if version.is_v5() {
        body.push(0);
    }
    body.extend_from_slice(b"payload");
    let mut out = header(first, body.len());
    out.extend(body);
    out
}

/// A fixed header declaring a packet of up to 256 MiB, optionally followed by a little of
/// its body: the broker must refuse it from the header alone or wait with bounded memory.
pub fn huge_header(rng: &mut Rng) -> Vec<u8> {
    let first = rng.pick(&[0x10u8, 0x30, 0x32, 0x82, 0xC0]);
    let declared = rng.pick(&[
        268_435_455usize,
        200 * 1024 * 1024,
        2 * 1024 * 1024,
        1024 * 1024 + 1,
    ]);
    let mut out = header(first, declared);
    let body = rng.below(4096);
    out.extend(rng.bytes(body));
    out
}

/// Corrupts a valid encoding the way broken clients and hostile ones do.
pub fn mutate(rng: &mut Rng, mut b: Vec<u8>) -> Vec<u8> {
    if b.is_empty() {
        return rng.bytes_upto(16);
    }
    for _ in 0..rng.range(1, 4) {
        let i = rng.below(b.len());
        match rng.below(7) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = rng.pick(&[0x00, 0xFF, 0x7F, 0x80]),
            2 => b.truncate(i.max(1)),
            3 => b.insert(i, rng.next_u64() as u8),
            4 => {
                let end = (i + rng.range(1, 8)).min(b.len());
                let chunk = b[i..end].to_vec();
                b.splice(i..i, chunk);
            }
            5 if b.len() > 1 => {
                b.remove(i);
            }
            _ => {
                // Remaining length: claim more (or less) than follows.
                if b.len() > 1 {
                    b[1] = rng.next_u64() as u8;
                }
            }
        }
    }
    b
}
