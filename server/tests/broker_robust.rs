//! Robustness: random and mutated input never panics the broker and never affects other
//! clients ([MQTT-4.8.0-1] / section 4.13: bad input closes only that connection).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use support::*;
use tern_codec::{
    Packet, Publish, PublishProperties, QoS, QosPid, Subscribe, SubscriptionOptions, Version,
    encode,
};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn valid_packets(v: Version) -> Vec<Vec<u8>> {
    let mut props = PublishProperties::default();
    if v == Version::V5 {
        props.user_properties = vec![("a".into(), "b".into())];
        props.message_expiry_interval = Some(10);
        props.correlation_data = Some(Bytes::from_static(b"cd"));
    }
    let packets = [
        Packet::Connect(Box::new(connect_packet(v, "fuzz", true))),
        Packet::Publish(Publish {
            dup: false,
            qos_pid: QosPid::ExactlyOnce(pid(3)),
            retain: true,
            topic: topic("fz/t"),
            payload: Bytes::from_static(b"payload"),
            properties: props.into(),
        }),
        Packet::Subscribe(Subscribe {
            pid: pid(4),
            filters: vec![
                (filter("fz/#"), SubscriptionOptions::new(QoS::ExactlyOnce)),
                (
                    filter("$share/g/fz/+"),
                    SubscriptionOptions::new(QoS::AtLeastOnce),
                ),
            ],
            properties: Default::default(),
        }),
        Packet::PingReq,
    ];
    packets
        .iter()
        .map(|p| {
            let mut b = BytesMut::new();
            encode(p, v, &mut b).unwrap();
            b.to_vec()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_input_never_panics_nor_affects_others() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let srv = Broker::with(|c| c.connect_timeout = Duration::from_millis(200)).await;
    // A bystander that must keep working throughout.
    let (mut watch, _) = Client::connect(srv.tcp, Version::V5, "bystander", true).await;
    watch.subscribe_pid(1, "ok/#", QoS::AtLeastOnce).await;

    let mut rng = Rng(0x5eed_1234_abcd_9876);
    for round in 0..300u32 {
        let v = [Version::V3_1, Version::V3_1_1, Version::V5][round as usize % 3];
        let valid = valid_packets(v);
        let mut bytes = Vec::new();
        if round % 4 != 0 {
            // Usually start with a valid CONNECT so the mutations reach the session.
            bytes.extend_from_slice(&valid[0]);
        }
        for _ in 0..1 + rng.below(4) {
            let mut p = valid[rng.below(valid.len() as u64) as usize].clone();
            match rng.below(3) {
                0 => {
                    for _ in 0..1 + rng.below(3) {
                        let i = rng.below(p.len() as u64) as usize;
                        p[i] = rng.next() as u8;
                    }
                }
                1 => p.truncate(rng.below(p.len() as u64) as usize),
                _ => p = (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
            }
            bytes.extend_from_slice(&p);
        }
        let mut c = Client::tcp(srv.tcp, v, "c").await;
        c.send_raw(&bytes).await;
        // Some inputs leave the broker waiting for more bytes; that is fine, move on.
        drop(c);
    }

    // Others are unaffected: the bystander still gets messages.
    let (mut p, _) = Client::connect(srv.tcp, Version::V3_1_1, "after", true).await;
    p.send_publish("ok/1", b"still here", QoS::AtLeastOnce, 1, false)
        .await;
    assert!(matches!(p.recv().await, Packet::PubAck(_)));
    let got = loop {
        match watch.recv().await {
            Packet::Publish(m) if m.topic.as_str() == "ok/1" => break m,
            // Fuzz input may have published to ok/# through a mutated topic; ack and go on.
            Packet::Publish(m) => {
                if let Some(pid) = m.qos_pid.pid() {
                    watch
                        .send(Packet::PubAck(tern_codec::PubResp::new(pid)))
                        .await;
                }
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(got.payload, Bytes::from_static(b"still here"));
    srv.shutdown().await.unwrap();
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the broker panicked");
}
