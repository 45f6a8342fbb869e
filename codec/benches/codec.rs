//! Decode and encode throughput of representative packets. Decoding is measured the way a
//! connection uses it: many packets back to back in one `BytesMut`, each split off in turn
//! (so the buffer is shared, as in a real read loop) and dropped after decoding.

use std::hint::black_box;
use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tern_codec::*;

fn publish(topic: &str, payload_len: usize) -> Packet {
    Packet::Publish(Publish::new(
        TopicName::new(topic).unwrap(),
        QosPid::AtLeastOnce(Pid::new(4242).unwrap()),
        vec![0x5A; payload_len],
    ))
}

fn publish_v5_props() -> Packet {
    let Packet::Publish(mut p) = publish("sensors/room1/temp", 40) else {
        unreachable!()
    };
    p.properties = PublishProperties {
        payload_format_indicator: Some(true),
        message_expiry_interval: Some(3600),
        topic_alias: NonZeroU16::new(3),
        response_topic: Some(TopicName::new("replies/room1").unwrap()),
        correlation_data: Some(Bytes::from_static(b"req-0001")),
        user_properties: vec![(ByteString::from("unit"), ByteString::from("celsius"))],
        subscription_identifiers: vec![],
        content_type: Some(ByteString::from("application/json")),
    }
    .into();
    Packet::Publish(p)
}

fn connect_v5() -> Packet {
    let mut c = Connect::new(Version::V5, "tern-bench-client-0001");
    c.will = Some(LastWill {
        topic: TopicName::new("clients/tern-bench-client-0001/status").unwrap(),
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: WillProperties {
            will_delay_interval: Some(5),
            ..Default::default()
        }
        .into(),
    });
    c.username = Some(ByteString::from("bench"));
    c.password = Some(Bytes::from_static(b"secret"));
    c.properties = ConnectProperties {
        session_expiry_interval: Some(3600),
        receive_maximum: Some(100),
        maximum_packet_size: Some(1 << 20),
        topic_alias_maximum: Some(16),
        ..Default::default()
    }
    .into();
    Packet::Connect(Box::new(c))
}

fn bench_packet(c: &mut Criterion, name: &str, packet: &Packet, version: Version) {
    let mut bytes = BytesMut::new();
    encode(packet, version, &mut bytes).unwrap();
    let bytes = bytes.freeze();
    let cfg = DecodeConfig {
        version,
        ..DecodeConfig::default()
    };
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes.len() as u64));

    g.bench_function("decode", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(4096);
                let mut buf = BytesMut::with_capacity(n as usize * bytes.len());
                for _ in 0..n {
                    buf.extend_from_slice(&bytes);
                }
                let start = Instant::now();
                for _ in 0..n {
                    black_box(decode(black_box(&mut buf), &cfg).unwrap());
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });

    let mut out = BytesMut::with_capacity(bytes.len() * 2);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            encode(black_box(packet), version, &mut out).unwrap();
            black_box(&out);
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let small = publish("sensors/room1/temp", 40);
    assert_eq!(encoded_len(&small, Version::V3_1_1).unwrap(), 64);
    bench_packet(c, "publish_qos1_64B_v3.1.1", &small, Version::V3_1_1);
    bench_packet(c, "publish_qos1_64B_v5", &small, Version::V5);
    bench_packet(
        c,
        "publish_qos1_4KiB_v3.1.1",
        &publish("sensors/room1/blob", 4096),
        Version::V3_1_1,
    );
    bench_packet(c, "publish_v5_properties", &publish_v5_props(), Version::V5);
    bench_packet(c, "connect_v5", &connect_v5(), Version::V5);
}

criterion_group!(codec, benches);
criterion_main!(codec);
