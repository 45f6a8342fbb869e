//! Failures: a NATS server killed while messages flow, a Tern node killed with SIGKILL;
//! and shared subscriptions balanced over the nodes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tern_codec::{ConnectProperties, LastWill, QoS, WillProperties};

use crate::harness::{
    Nats, Process, V5, V311, node, publish, publish_within, receive, receive_distinct, stop,
};
use crate::support::{Client, connect_packet, topic};

/// One NATS server of three is killed while a publisher on node A sends QoS 1 and 2
/// messages: every message the publisher got a PUBACK / PUBCOMP for reaches the persistent
/// subscribers on nodes B and C (QoS 2: exactly once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_server_killed_mid_publish_loses_no_acknowledged_message() {
    let mut nats = Nats::start(3).await;
    let (a, b, c) = tokio::join!(
        node("a", &nats, 3),
        node("b", &nats, 3),
        node("c", &nats, 3)
    );
    let (mut s1, _) = Client::connect(b.tcp, V311, "k-sub1", false).await;
    s1.subscribe_pid(1, "k/#", QoS::AtLeastOnce).await;
    let (mut s2, _) = Client::connect(c.tcp, V311, "k-sub2", false).await;
    s2.subscribe_pid(1, "k/#", QoS::ExactlyOnce).await;
    const N: u16 = 300;
    // Every message is acknowledged before the publisher goes on, so each reader waits for
    // all N (bounded).
    let r1 = tokio::spawn(async move {
        receive_distinct(&mut s1, usize::from(N), Duration::from_secs(120)).await
    });
    let r2 = tokio::spawn(async move {
        receive_distinct(&mut s2, usize::from(N), Duration::from_secs(120)).await
    });
    let (mut p, _) = Client::connect(a.tcp, V311, "k-pub", true).await;
    for i in 0..N {
        if i == 100 {
            nats.kill(1).await;
        }
        let qos = if i % 2 == 0 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        // Up to a minute per acknowledgement: JetStream elects new leaders meanwhile.
        publish_within(
            &mut p,
            "k/m",
            format!("{i}").as_bytes(),
            qos,
            i + 1,
            false,
            Duration::from_secs(60),
        )
        .await;
    }
    let (g1, g2) = (r1.await.unwrap(), r2.await.unwrap());
    let want: HashSet<String> = (0..N).map(|i| i.to_string()).collect();
    let got1: HashSet<String> = g1
        .iter()
        .map(|g| String::from_utf8_lossy(&g.payload).into())
        .collect();
    assert_eq!(
        want.difference(&got1).count(),
        0,
        "QoS 1 subscriber lost {:?}",
        want.difference(&got1).collect::<Vec<_>>()
    );
    let mut count: HashMap<String, usize> = HashMap::new();
    for g in &g2 {
        *count
            .entry(String::from_utf8_lossy(&g.payload).into())
            .or_default() += 1;
    }
    for w in &want {
        let i: u16 = w.parse().unwrap();
        let n = count.get(w).copied().unwrap_or(0);
        if i % 2 == 1 {
            assert_eq!(n, 1, "QoS 2 message {w} exactly once");
        } else {
            assert!(n >= 1, "QoS 1 message {w} at least once");
        }
    }
    nats.restart(1).await;
    stop(vec![a, b, c]).await;
}

/// `$share/g/job/#` with one member on each node: each QoS 1 message goes to exactly one
/// member, and every member gets a fair part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_subscription_is_balanced_across_nodes() {
    let nats = Nats::start(3).await;
    let (a, b, c) = tokio::join!(
        node("a", &nats, 3),
        node("b", &nats, 3),
        node("c", &nats, 3)
    );
    let mut members = Vec::new();
    for (i, n) in [&a, &b, &c].into_iter().enumerate() {
        let (mut m, _) = Client::connect(n.tcp, V5, &format!("member{i}"), true).await;
        m.subscribe_pid(1, "$share/g/job/#", QoS::AtLeastOnce).await;
        members.push(m);
    }
    let readers: Vec<_> = members
        .into_iter()
        .map(|mut m| {
            tokio::spawn(async move {
                receive(
                    &mut m,
                    usize::MAX,
                    Duration::from_secs(60),
                    Duration::from_secs(5),
                )
                .await
            })
        })
        .collect();
    let (mut p, _) = Client::connect(a.tcp, V5, "jobs", true).await;
    const N: u16 = 300;
    for i in 0..N {
        publish(
            &mut p,
            &format!("job/{}", i % 7),
            format!("{i}").as_bytes(),
            QoS::AtLeastOnce,
            i + 1,
            false,
        )
        .await;
    }
    let mut all = Vec::new();
    let mut parts = Vec::new();
    for r in readers {
        let got = r.await.unwrap();
        parts.push(got.len());
        all.extend(
            got.into_iter()
                .map(|g| String::from_utf8_lossy(&g.payload).into_owned()),
        );
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(
        distinct.len(),
        usize::from(N),
        "every message delivered: {parts:?}"
    );
    assert_eq!(
        all.len(),
        usize::from(N),
        "each to one member only: {parts:?}"
    );
    for part in &parts {
        assert!(
            *part >= usize::from(N) / 10,
            "every member gets a fair part: {parts:?}"
        );
    }
    println!("shared subscription split over 3 nodes: {parts:?}");
    stop(vec![a, b, c]).await;
}

fn with_will(
    version: tern_codec::Version,
    id: &str,
    clean: bool,
    delay: Option<u32>,
) -> tern_codec::Connect {
    let mut c = connect_packet(version, id, clean);
    c.will = Some(LastWill {
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: topic(&format!("will/{id}")),
        payload: format!("{id} is gone").into_bytes().into(),
        properties: WillProperties {
            will_delay_interval: delay,
            ..Default::default()
        }
        .into(),
    });
    if version == V5 && !clean {
        c.properties = ConnectProperties {
            session_expiry_interval: Some(300),
            ..Default::default()
        }
        .into();
    }
    c
}

/// A node killed with SIGKILL: a survivor claims its sessions and publishes their wills
/// (after the Will Delay Interval), and a persistent session of it resumes on another node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_s_wills_are_published_and_its_sessions_live_on() {
    let nats = Nats::start(3).await;
    let (a, b) = tokio::join!(node("a", &nats, 3), node("b", &nats, 3));
    let d = Process::start("d", &nats, 3).await;
    let (mut watcher, _) = Client::connect(a.tcp, V5, "watcher", true).await;
    watcher.subscribe_pid(1, "will/#", QoS::AtLeastOnce).await;
    let mut w1 = Client::tcp(d.tcp, V5, "c").await;
    w1.handshake(with_will(V5, "w1", true, None)).await;
    let mut w2 = Client::tcp(d.tcp, V311, "c").await;
    w2.handshake(with_will(V311, "w2", false, None)).await;
    w2.subscribe_pid(1, "for/w2", QoS::AtLeastOnce).await;
    let mut w3 = Client::tcp(d.tcp, V5, "c").await;
    w3.handshake(with_will(V5, "w3", false, Some(3))).await;

    let killed = tokio::time::Instant::now();
    d.kill9().await;
    let got = receive(
        &mut watcher,
        3,
        Duration::from_secs(30),
        Duration::from_secs(30),
    )
    .await;
    let order: Vec<&str> = got.iter().map(|g| g.topic.as_str()).collect();
    assert_eq!(got.len(), 3, "every will published: {order:?}");
    assert_eq!(
        order[2], "will/w3",
        "the delayed will comes last: {order:?}"
    );
    assert!(
        killed.elapsed() >= Duration::from_secs(3),
        "will delay respected"
    );

    // The persistent session resumes elsewhere, with what was queued meanwhile.
    let (mut p, _) = Client::connect(a.tcp, V5, "p", true).await;
    publish(&mut p, "for/w2", b"queued", QoS::AtLeastOnce, 1, false).await;
    let mut w2 = Client::tcp(b.tcp, V311, "c").await;
    let ack = w2.handshake(with_will(V311, "w2", false, None)).await;
    assert!(ack.session_present, "claimed by a survivor, not lost");
    let got = receive(&mut w2, 1, Duration::from_secs(10), Duration::from_secs(10)).await;
    assert_eq!(
        got.first().map(|g| g.payload.clone()),
        Some(b"queued".to_vec())
    );
    drop((w1, w3));
    stop(vec![a, b]).await;
}

/// A QoS 2 publisher whose node is killed right after it sent a PUBLISH resends it (DUP,
/// same packet id) to another node, as its session continues there: the subscriber gets
/// every message exactly once [MQTT-4.3.3] — the resend is published under the
/// de-duplication id the first node recorded, or not at all if the first node had not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos2_publisher_moved_by_a_node_crash_delivers_exactly_once() {
    let nats = Nats::start(3).await;
    let (a, b) = tokio::join!(node("a", &nats, 3), node("b", &nats, 3));
    let d = Process::start("d", &nats, 3).await;
    let (mut sub, _) = Client::connect(b.tcp, V5, "q2-sub", true).await;
    sub.subscribe_pid(1, "once/#", QoS::ExactlyOnce).await;
    const N: u16 = 60;
    let reader = tokio::spawn(async move {
        receive_distinct(&mut sub, usize::from(N), Duration::from_secs(90)).await
    });
    let session = || {
        let mut c = connect_packet(V5, "q2-pub", false);
        c.properties = ConnectProperties {
            session_expiry_interval: Some(300),
            ..Default::default()
        }
        .into();
        c
    };
    let mut p = Client::tcp(d.tcp, V5, "q2-pub").await;
    p.handshake(session()).await;
    let mut d = Some(d);
    for i in 0..N {
        let id = i + 1;
        if i == N / 2 {
            // The node dies right after the PUBLISH left the client: the client cannot know
            // whether it was taken, so it resends it to another node (DUP, same id).
            p.send_publish(
                "once/m",
                format!("{i}").as_bytes(),
                QoS::ExactlyOnce,
                id,
                false,
            )
            .await;
            if let Some(d) = d.take() {
                d.kill9().await;
            }
            p = Client::tcp(a.tcp, V5, "q2-pub").await;
            let ack = p.handshake(session()).await;
            assert!(
                ack.session_present,
                "the publisher's session moved to node a"
            );
            let mut again =
                crate::support::publish("once/m", QoS::ExactlyOnce, format!("{i}").as_bytes());
            again.dup = true;
            again.qos_pid = tern_codec::QosPid::ExactlyOnce(crate::support::pid(id));
            p.send(tern_codec::Packet::Publish(again)).await;
            match p.recv().await {
                tern_codec::Packet::PubRec(r) => assert_eq!(r.pid.get(), id),
                other => panic!("expected PUBREC, got {other:?}"),
            }
            p.send(tern_codec::Packet::PubRel(tern_codec::PubResp::new(
                crate::support::pid(id),
            )))
            .await;
            match p.recv().await {
                tern_codec::Packet::PubComp(_) => {}
                other => panic!("expected PUBCOMP, got {other:?}"),
            }
            continue;
        }
        publish_within(
            &mut p,
            "once/m",
            format!("{i}").as_bytes(),
            QoS::ExactlyOnce,
            id,
            false,
            Duration::from_secs(30),
        )
        .await;
    }
    let got = reader.await.unwrap();
    let mut count: HashMap<String, usize> = HashMap::new();
    for g in &got {
        *count
            .entry(String::from_utf8_lossy(&g.payload).into())
            .or_default() += 1;
    }
    for i in 0..N {
        assert_eq!(
            count.get(&i.to_string()),
            Some(&1),
            "message {i} exactly once: {count:?}"
        );
    }
    stop(vec![a, b]).await;
}
