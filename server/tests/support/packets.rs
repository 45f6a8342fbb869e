//! Short constructors for codec packets (panicking on values a test got wrong, so the test
//! body stays about the broker), and raw-byte helpers for packets the codec would refuse to
//! encode (malformed input is half of a conformance suite).

use bytes::Bytes;
use tern_codec::{
    Connect, Disconnect, LastWill, Packet, Pid, Publish, QoS, QosPid, ReasonCode, TopicFilter,
    TopicName, Version,
};

pub fn pid(v: u16) -> Pid {
    Pid::new(v).expect("non-zero packet id")
}

pub fn topic(t: &str) -> TopicName {
    TopicName::new(t.to_string()).unwrap_or_else(|e| panic!("topic {t:?}: {e}"))
}

pub fn filter(f: &str) -> TopicFilter {
    TopicFilter::new(f.to_string()).unwrap_or_else(|e| panic!("filter {f:?}: {e}"))
}

/// A PUBLISH with packet id 1 for QoS > 0 (the client helpers renumber it).
pub fn publish(t: &str, qos: QoS, payload: &[u8]) -> Publish {
    let qp = QosPid::from_parts(qos, (qos != QoS::AtMostOnce).then(|| pid(1))).expect("qos");
    Publish::new(topic(t), qp, Bytes::copy_from_slice(payload))
}

/// A CONNECT with the given id and clean flag, keep alive 60 s, nothing else; tests set
/// fields on it (`Connect { keep_alive: 1, ..connect_packet(…) }`, `.properties`, `.will`).
pub fn connect_packet(version: Version, id: &str, clean: bool) -> Connect {
    let mut c = Connect::new(version, id);
    c.clean_start = clean;
    c
}

/// A CONNECT carrying a Will Message.
pub fn connect_with_will(
    version: Version,
    id: &str,
    will_topic: &str,
    payload: &str,
    qos: QoS,
    retain: bool,
) -> Connect {
    let mut c = Connect::new(version, id);
    c.will = Some(LastWill {
        topic: topic(will_topic),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
        qos,
        retain,
        properties: Default::default(),
    });
    c
}

pub fn disconnect(reason: ReasonCode) -> Packet {
    Packet::Disconnect(Disconnect {
        reason,
        properties: Default::default(),
    })
}

/// Encodes a packet to bytes (for splicing into raw sequences).
pub fn bytes_of(packet: &Packet, version: Version) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    tern_codec::encode(packet, version, &mut buf).expect("encode");
    buf.to_vec()
}

/// MQTT Variable Byte Integer (section 1.5.5 / 2.2.3).
pub fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return out;
        }
    }
}

/// A length-prefixed string/binary field.
pub fn lp(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

/// Fixed header byte + remaining length + body.
pub fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![first];
    v.extend(varint(body.len()));
    v.extend_from_slice(body);
    v
}

/// A raw CONNECT: protocol name, level, flags, keep alive 60, (v5: empty properties),
/// client id, then `rest` (will/credential fields) verbatim.
pub fn raw_connect(name: &[u8], level: u8, flags: u8, id: &str, rest: &[u8]) -> Vec<u8> {
    let mut body = lp(name);
    body.push(level);
    body.push(flags);
    body.extend_from_slice(&60u16.to_be_bytes());
    if level == 5 {
        body.push(0);
    }
    body.extend(lp(id.as_bytes()));
    body.extend_from_slice(rest);
    frame(0x10, &body)
}

/// A raw PUBLISH with arbitrary flags; `props` only for v5 (pass `Some(&[])` for none).
pub fn raw_publish(
    flags: u8,
    topic: &[u8],
    pid: Option<u16>,
    props: Option<&[u8]>,
    payload: &[u8],
) -> Vec<u8> {
    let mut body = lp(topic);
    if let Some(id) = pid {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if let Some(p) = props {
        body.extend(varint(p.len()));
        body.extend_from_slice(p);
    }
    body.extend_from_slice(payload);
    frame(0x30 | flags, &body)
}
