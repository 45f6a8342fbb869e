//! Sessions across nodes: takeover with queued messages, in-flight QoS 2 state, and the
//! close of the old connection.

use std::time::Duration;

use tern_codec::{ConnectProperties, Disconnect, Packet, QoS, QosPid, ReasonCode};

use crate::harness::{Nats, V5, V311, node, publish, receive, stop};
use crate::support::{Client, connect_packet};

fn persistent(client_id: &str) -> tern_codec::Connect {
    let mut c = connect_packet(V5, client_id, false);
    c.properties = ConnectProperties {
        session_expiry_interval: Some(300),
        ..Default::default()
    }
    .into();
    c
}

/// A persistent session made on node A, with QoS 1 messages queued while offline, resumes
/// on node B: Session Present 1 [MQTT-3.2.2-2] and every queued message, in order. Then the
/// same client id connecting on node C takes the live session over: the connection on B
/// gets DISCONNECT 0x8E [MQTT-3.1.4-3] and the session (subscription) carries on at C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_moves_between_nodes_with_its_queued_messages() {
    let nats = Nats::start(3).await;
    let (a, b, c) = tokio::join!(
        node("a", &nats, 3),
        node("b", &nats, 3),
        node("c", &nats, 3)
    );
    let mut x = Client::tcp(a.tcp, V5, "c").await;
    let ack = x.handshake(persistent("mover")).await;
    assert!(!ack.session_present);
    x.subscribe_pid(1, "q/x", QoS::AtLeastOnce).await;
    x.send(Packet::Disconnect(Disconnect::default())).await;
    x.expect_closed().await;

    let (mut p, _) = Client::connect(c.tcp, V311, "pub", true).await;
    for i in 0..10u16 {
        publish(
            &mut p,
            "q/x",
            format!("m{i}").as_bytes(),
            QoS::AtLeastOnce,
            i + 1,
            false,
        )
        .await;
    }
    let mut x = Client::tcp(b.tcp, V5, "c").await;
    let ack = x.handshake(persistent("mover")).await;
    assert!(ack.session_present, "the session came over from node A");
    let got = receive(&mut x, 10, Duration::from_secs(10), Duration::from_secs(5)).await;
    let bodies: Vec<String> = got
        .iter()
        .map(|g| String::from_utf8_lossy(&g.payload).into())
        .collect();
    assert_eq!(bodies, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());

    // Live takeover from another node.
    let mut y = Client::tcp(c.tcp, V5, "c").await;
    let ack = y.handshake(persistent("mover")).await;
    assert!(ack.session_present);
    match x.expect_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.reason, ReasonCode::SessionTakenOver),
        other => panic!("expected DISCONNECT 0x8E on the old node, got {other:?}"),
    }
    publish(&mut p, "q/x", b"after", QoS::AtLeastOnce, 99, false).await;
    let got = receive(&mut y, 1, Duration::from_secs(10), Duration::from_secs(5)).await;
    assert_eq!(
        got.first().map(|g| g.payload.clone()),
        Some(b"after".to_vec())
    );

    // A 3.1.1 client taken over is just closed.
    let (mut old, _) = Client::connect(a.tcp, V311, "plain", true).await;
    let (_new, _) = Client::connect(b.tcp, V311, "plain", true).await;
    assert!(old.expect_closed().await.is_empty());
    stop(vec![a, b, c]).await;
}

/// A QoS 2 message sent to a client that did not complete it on node A is resent on node B
/// with DUP and the same packet id, so the client can recognise it (exactly once
/// [MQTT-4.3.3], [MQTT-4.4.0-1]); one the client released (PUBREC) gets PUBREL, not the
/// message again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_in_flight_state_survives_the_move_to_another_node() {
    let nats = Nats::start(3).await;
    let (a, b) = tokio::join!(node("a", &nats, 3), node("b", &nats, 3));
    let mut x = Client::tcp(a.tcp, V5, "c").await;
    x.handshake(persistent("q2")).await;
    x.subscribe_pid(1, "two/#", QoS::ExactlyOnce).await;
    let (mut p, _) = Client::connect(b.tcp, V5, "pub2", true).await;
    publish(&mut p, "two/a", b"first", QoS::ExactlyOnce, 1, false).await;
    publish(&mut p, "two/b", b"second", QoS::ExactlyOnce, 2, false).await;
    let mut pids = Vec::new();
    for _ in 0..2 {
        match x.recv().await {
            Packet::Publish(m) => match m.qos_pid {
                QosPid::ExactlyOnce(pid) => pids.push((pid, m.payload.to_vec())),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
    // The first is released (PUBREC, then PUBREL arrives); the second not answered at all.
    x.send(Packet::PubRec(tern_codec::PubResp::new(pids[0].0)))
        .await;
    match x.recv().await {
        Packet::PubRel(r) => assert_eq!(r.pid, pids[0].0),
        other => panic!("expected PUBREL, got {other:?}"),
    }
    drop(x);

    let mut x = Client::tcp(b.tcp, V5, "c").await;
    assert!(x.handshake(persistent("q2")).await.session_present);
    let mut saw_rel = false;
    let mut saw_dup = false;
    for _ in 0..2 {
        match x.recv().await {
            Packet::PubRel(r) => {
                assert_eq!(r.pid, pids[0].0, "PUBREL for the released message");
                saw_rel = true;
            }
            Packet::Publish(m) => {
                assert!(m.dup, "resent with DUP [MQTT-3.3.1-1]");
                assert_eq!(m.qos_pid, QosPid::ExactlyOnce(pids[1].0), "same packet id");
                assert_eq!(m.payload.to_vec(), pids[1].1);
                saw_dup = true;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(saw_rel && saw_dup);
    x.expect_quiet(Duration::from_millis(500)).await;
    stop(vec![a, b]).await;
}
