//! Helpers shared by `tests/persistence.rs` and `tests/persistence_file.rs`: a broker with
//! `persistence = true` on a given directory, and a few packet steps.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use tern_codec::{Packet, PubResp, Publish, PublishProperties, QosPid};

use crate::common::*;

pub async fn start_in(dir: &Path) -> TestServer {
    let dir = dir.to_owned();
    start_with(move |c| {
        c.persistence = true;
        c.persistence_location = Some(dir);
        c.sys_interval = Duration::ZERO;
    })
    .await
}

pub async fn recv_publish(c: &mut Client) -> Publish {
    match c.recv().await {
        Packet::Publish(p) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

pub async fn puback(c: &mut Client, p: &Publish) {
    if let Some(pid) = p.qos_pid.pid() {
        c.send(Packet::PubAck(PubResp::new(pid))).await;
    }
}

pub async fn publish_v5(
    c: &mut Client,
    topic: &str,
    payload: &'static [u8],
    pid: u16,
    retain: bool,
    props: PublishProperties,
) {
    c.send(Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(pid_(pid)),
        retain,
        topic: topic_(topic),
        payload: Bytes::from_static(payload),
        properties: props.into(),
    }))
    .await;
    assert!(matches!(c.recv().await, Packet::PubAck(_)));
}
