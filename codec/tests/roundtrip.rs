//! proptest: any packet valid in a protocol version encodes, and decodes back to itself.

mod common;

use bytes::BytesMut;
use common::*;
use proptest::prelude::*;
use tern_codec::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity((version, packet) in arb_versioned_packet()) {
        let mut buf = BytesMut::new();
        encode(&packet, version, &mut buf).unwrap();
        // The size is known in advance, exactly.
        prop_assert_eq!(buf.len(), encoded_len(&packet, version).unwrap());
        let bytes = buf.clone().freeze();
        let decoded = decode(&mut buf, &cfg(version)).unwrap();
        prop_assert_eq!(decoded.as_ref(), Some(&packet));
        prop_assert!(buf.is_empty(), "{} bytes left over", buf.len());
        // Encoding is canonical: the decoded packet encodes to the same bytes.
        prop_assert_eq!(encode_vec(&packet, version), bytes.to_vec());
    }

    #[test]
    fn encode_appends_to_existing_content((version, packet) in arb_versioned_packet()) {
        let mut buf = BytesMut::from(&b"prefix"[..]);
        encode(&packet, version, &mut buf).unwrap();
        prop_assert_eq!(&buf[..6], b"prefix");
        prop_assert_eq!(&buf[6..], &encode_vec(&packet, version)[..]);
    }

    #[test]
    fn max_packet_size_equal_to_size_is_accepted((version, packet) in arb_versioned_packet()) {
        let bytes = encode_vec(&packet, version);
        let size = u32::try_from(bytes.len()).unwrap();
        let exact = DecodeConfig { version, max_packet_size: size };
        prop_assert_eq!(decode(&mut BytesMut::from(&bytes[..]), &exact).unwrap(), Some(packet));
        let smaller = DecodeConfig { version, max_packet_size: size - 1 };
        prop_assert_eq!(
            decode(&mut BytesMut::from(&bytes[..]), &smaller),
            Err(DecodeError::PacketTooLarge { size, max: size - 1 })
        );
    }
}

#[test]
fn decoded_payload_shares_the_input_buffer() {
    let topic = TopicName::new("a/b").unwrap();
    let packet = Packet::Publish(Publish::new(
        topic,
        QosPid::AtLeastOnce(Pid::new(1).unwrap()),
        vec![7u8; 64],
    ));
    let mut buf = BytesMut::from(&encode_vec(&packet, Version::V3_1_1)[..]);
    let start = buf.as_ptr() as usize;
    let end = start + buf.len();
    let Some(Packet::Publish(p)) = decode(&mut buf, &cfg(Version::V3_1_1)).unwrap() else {
        panic!("not a publish");
    };
    let payload = p.payload.as_ptr() as usize;
    let topic = p.topic.as_ptr() as usize;
    assert!((start..end).contains(&payload), "payload was copied");
    assert!((start..end).contains(&topic), "topic was copied");
}
