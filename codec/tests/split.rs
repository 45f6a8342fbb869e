//! Streaming: every valid encoding fed split at every byte offset is incomplete (`Ok(None)`,
//! buffer untouched) until its last byte, and then decodes to the same packet; several
//! packets in one buffer come out one by one.

mod common;

use bytes::BytesMut;
use common::*;
use proptest::prelude::*;
use tern_codec::*;

/// Feeds `bytes` in two chunks split at `at` and returns what the decoder produced.
fn feed_split(bytes: &[u8], at: usize, version: Version) -> Result<Packet, String> {
    let cfg = cfg(version);
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&bytes[..at]);
    if at < bytes.len() {
        let got = decode(&mut buf, &cfg);
        if got != Ok(None) {
            return Err(format!("prefix of {at}/{} bytes gave {got:?}", bytes.len()));
        }
        if buf[..] != bytes[..at] {
            return Err(format!("prefix of {at} bytes was modified"));
        }
    }
    buf.extend_from_slice(&bytes[at..]);
    match decode(&mut buf, &cfg) {
        Ok(Some(p)) if buf.is_empty() => Ok(p),
        other => Err(format!(
            "complete buffer gave {other:?}, {} bytes left",
            buf.len()
        )),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_split_offset_decodes_the_same((version, packet) in arb_versioned_packet()) {
        let bytes = encode_vec(&packet, version);
        for at in 0..=bytes.len() {
            prop_assert_eq!(feed_split(&bytes, at, version), Ok(packet.clone()), "split at {}", at);
        }
    }

    #[test]
    fn byte_by_byte_feed((version, packet) in arb_versioned_packet()) {
        let bytes = encode_vec(&packet, version);
        let cfg = cfg(version);
        let mut buf = BytesMut::new();
        for (i, b) in bytes.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            let got = decode(&mut buf, &cfg).unwrap();
            if i + 1 < bytes.len() {
                prop_assert_eq!(got, None);
            } else {
                prop_assert_eq!(got.as_ref(), Some(&packet));
            }
        }
    }

    #[test]
    fn several_packets_in_one_buffer(
        (version, packets) in arb_version()
            .prop_flat_map(|v| (Just(v), proptest::collection::vec(arb_packet(v), 1..8)))
    ) {
        let mut buf = BytesMut::new();
        for p in &packets {
            encode(p, version, &mut buf).unwrap();
        }
        // A partial trailing packet stays in the buffer.
        buf.extend_from_slice(&[0x30]);
        let cfg = cfg(version);
        for p in &packets {
            let got = decode(&mut buf, &cfg).unwrap();
            prop_assert_eq!(got.as_ref(), Some(p));
        }
        prop_assert_eq!(decode(&mut buf, &cfg), Ok(None));
        prop_assert_eq!(&buf[..], &[0x30u8][..]);
    }
}

#[test]
fn large_remaining_length_waits_for_the_body() {
    // A 4 KiB PUBLISH: 2-byte remaining length, body arrives in pieces.
    let p = Packet::Publish(Publish::new(
        TopicName::new("big").unwrap(),
        QosPid::AtLeastOnce(Pid::new(1).unwrap()),
        vec![0xAB; 4096],
    ));
    let bytes = encode_vec(&p, Version::V5);
    assert_eq!(bytes[1] & 0x80, 0x80, "multi-byte remaining length");
    let cfg = cfg(Version::V5);
    let mut buf = BytesMut::new();
    for chunk in bytes.chunks(1000) {
        assert_eq!(decode(&mut buf, &cfg), Ok(None));
        buf.extend_from_slice(chunk);
    }
    assert_eq!(decode(&mut buf, &cfg), Ok(Some(p)));
}

#[test]
fn announced_length_does_not_reserve_unbounded_memory() {
    // A 2 MiB PUBLISH announced by its first 4 bytes: wait for it, but reserve at most 64 KiB.
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0xFF, 0x7F][..]);
    assert_eq!(decode(&mut buf, &cfg(Version::V5)), Ok(None));
    assert_eq!(&buf[..], &[0x30, 0xFF, 0xFF, 0x7F]);
    assert!(buf.capacity() <= 70 * 1024, "reserved {}", buf.capacity());
}
