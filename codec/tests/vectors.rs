//! Byte vectors for every packet type and protocol version, derived by hand from the
//! specification's field layouts. Each vector is checked in both directions: the bytes
//! decode to the packet and the packet encodes to the bytes.

mod common;
#[path = "vectors/handshake.rs"]
mod handshake;
#[path = "vectors/publish.rs"]
mod publish;
#[path = "vectors/subscriptions.rs"]
mod subscriptions;

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use common::*;
use tern_codec::*;

use Version::{V3_1, V3_1_1, V5};

fn pid(v: u16) -> Pid {
    Pid::new(v).unwrap()
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn s(v: &str) -> ByteString {
    ByteString::from(v)
}

fn connect(version: Version) -> Connect {
    Connect {
        keep_alive: 60,
        ..Connect::new(version, "c1")
    }
}

fn check(name: &str, version: Version, hex_bytes: &str, packet: Packet) {
    let bytes = hex(hex_bytes);
    let mut buf = BytesMut::from(&bytes[..]);
    let decoded = decode(&mut buf, &cfg(version));
    assert_eq!(decoded, Ok(Some(packet.clone())), "{name}: decode");
    assert!(buf.is_empty(), "{name}: left over bytes");
    assert_eq!(encode_vec(&packet, version), bytes, "{name}: encode");
    assert_eq!(
        encoded_len(&packet, version),
        Ok(bytes.len()),
        "{name}: encoded_len"
    );
}

fn encode_vec_err(p: &Packet, v: Version) -> EncodeError {
    let mut buf = BytesMut::new();
    let err = encode(p, v, &mut buf).unwrap_err();
    assert!(buf.is_empty(), "nothing is written on error");
    assert_eq!(encoded_len(p, v), Err(err.clone()));
    err
}
