//! Flow control: fast publishers are paced by consumers that keep up (no drops), while a
//! consumer that stops reading is dropped from instead of stalling everyone.

mod support;

use std::time::Duration;

use support::*;
use tern_codec::{Packet, QoS, Version};

/// Reads `n` PUBLISH packets and returns their payloads' first 4 bytes as counters.
async fn read_counters(c: &mut Client, n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match c.recv().await {
            Packet::Publish(p) => out.push(u32::from_be_bytes(p.payload[..4].try_into().unwrap())),
            other => panic!("{other:?}"),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_is_paced_by_a_consumer_that_keeps_up_no_qos0_drops() {
    // A queue of 10 would overflow at once if the publisher were not paced.
    let srv = Broker::with(|c| c.max_queued_messages = 10).await;
    let (mut sub, _) = Client::connect(srv.tcp, Version::V3_1_1, "reader", true).await;
    sub.subscribe_pid(1, "flow/#", QoS::AtMostOnce).await;
    let (mut publ, _) = Client::connect(srv.tcp, Version::V3_1_1, "flood", true).await;
    const N: u32 = 20_000;
    let writer = tokio::spawn(async move {
        let mut batch = bytes::BytesMut::new();
        for i in 0..N {
            let p = Packet::Publish(tern_codec::Publish {
                dup: false,
                qos_pid: tern_codec::QosPid::AtMostOnce,
                retain: false,
                topic: topic("flow/t"),
                payload: bytes::Bytes::copy_from_slice(&i.to_be_bytes()),
                properties: Default::default(),
            });
            tern_codec::encode(&p, Version::V3_1_1, &mut batch).unwrap();
            if batch.len() > 16 * 1024 {
                publ.send_raw(&batch).await;
                batch.clear();
            }
        }
        publ.send_raw(&batch).await;
        publ
    });
    let got = read_counters(&mut sub, N as usize).await;
    assert!(got.iter().copied().eq(0..N), "every message, in order");
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_stops_reading_does_not_stall_others() {
    let srv = Broker::with(|c| c.max_queued_messages = 100).await;
    // Subscribes, then never reads again.
    let (mut stuck, _) = Client::connect(srv.tcp, Version::V3_1_1, "stuck", true).await;
    stuck.subscribe_pid(1, "big/#", QoS::AtMostOnce).await;
    let (mut fine, _) = Client::connect(srv.tcp, Version::V3_1_1, "fine", true).await;
    fine.subscribe_pid(1, "big/#", QoS::AtMostOnce).await;
    let (mut publ, _) = Client::connect(srv.tcp, Version::V3_1_1, "pub", true).await;
    // 3000 × 4 KiB = 12 MiB: more than socket buffers and our output buffer hold.
    const N: u32 = 3000;
    let writer = tokio::spawn(async move {
        let mut payload = vec![0u8; 4096];
        for i in 0..N {
            payload[..4].copy_from_slice(&i.to_be_bytes());
            publ.send_publish("big/t", &payload, QoS::AtMostOnce, 0, false)
                .await;
        }
        publ
    });
    let got = tokio::time::timeout(
        Duration::from_secs(30),
        read_counters(&mut fine, N as usize),
    )
    .await
    .expect("the reading subscriber got everything despite the stuck one");
    assert!(got.iter().copied().eq(0..N));
    writer.await.unwrap();
    drop(stuck);
}
