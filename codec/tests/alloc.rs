//! "No allocation for the payload on decode" (issue #2), counted by a real allocator: dhat
//! wraps the system allocator for this test binary and counts every block. One test per
//! binary, because the counter is process-wide — and without libtest's harness
//! (`harness = false` in Cargo.toml): libtest runs a test on a thread of its own while its
//! main thread records the test in its bookkeeping, and on a busy machine those few
//! allocations landed inside the measured window ("5 blocks for 1000 packets", one run in five).

use bytes::BytesMut;
use tern_codec::{
    DecodeConfig, Packet, Pid, Publish, PublishProperties, QosPid, TopicName, Version, decode,
    encode,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn frames(packet: &Packet, version: Version, n: usize) -> BytesMut {
    let mut one = BytesMut::new();
    encode(packet, version, &mut one).unwrap();
    let mut buf = BytesMut::with_capacity(one.len() * n);
    for _ in 0..n {
        buf.extend_from_slice(&one);
    }
    buf
}

/// Blocks allocated while decoding (and dropping) every packet in `buf`.
fn blocks_to_decode(buf: &mut BytesMut, version: Version) -> u64 {
    let cfg = DecodeConfig {
        version,
        ..DecodeConfig::default()
    };
    let before = dhat::HeapStats::get().total_blocks;
    let mut count = 0;
    while let Some(p) = decode(buf, &cfg).unwrap() {
        assert!(matches!(p, Packet::Publish(_)));
        count += 1;
    }
    assert_eq!(count, 1000);
    dhat::HeapStats::get().total_blocks - before
}

fn main() {
    decoding_publish_allocates_nothing_per_packet();
    println!("alloc: decoding PUBLISH allocates nothing per packet: ok");
}

fn decoding_publish_allocates_nothing_per_packet() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let topic = TopicName::new("sensors/room1/temp").unwrap();
    let qos1 = QosPid::AtLeastOnce(Pid::new(7).unwrap());
    let plain = Packet::Publish(Publish::new(topic.clone(), qos1, vec![0x5A; 40]));

    // The first split of a read buffer makes `bytes` share it: one block for the whole
    // buffer, none per packet; topic and payload are slices of the input.
    for version in [Version::V3_1_1, Version::V5] {
        let mut buf = frames(&plain, version, 1000);
        let blocks = blocks_to_decode(&mut buf, version);
        assert!(blocks <= 1, "{version}: {blocks} blocks for 1000 packets");
    }

    // A v5 PUBLISH with properties allocates its property block, one per packet, and
    // still not its payload or topic.
    let mut with_props = Publish::new(topic, qos1, vec![0x5A; 4096]);
    with_props.properties = PublishProperties {
        message_expiry_interval: Some(60),
        ..PublishProperties::default()
    }
    .into();
    let mut buf = frames(&Packet::Publish(with_props), Version::V5, 1000);
    let blocks = blocks_to_decode(&mut buf, Version::V5);
    assert!(
        blocks <= 1001,
        "{blocks} blocks for 1000 packets with properties"
    );
}
