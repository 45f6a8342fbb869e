//! Crash test: the real `tern` binary with persistence is killed with SIGKILL at random
//! moments while QoS 1 and QoS 2 publishers and persistent subscribers run, then restarted
//! on the same database, several rounds. Afterwards every acknowledged message (PUBACK for
//! QoS 1, PUBCOMP for QoS 2) has reached the persistent subscriber that was subscribed when
//! it was acknowledged — QoS 1 at least once, QoS 2 exactly once — no QoS 2 message arrived
//! twice, and the retained message and subscriptions survived.
//!
//! `TERN_CRASH_ROUNDS` (default 8) and `TERN_CRASH_SEED` change the run; the seed is printed.
//! The subscribers keep their own QoS 2 state (packet ids awaiting PUBREL) across the
//! crashes, as a real client keeps its session.

mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tern_codec::{
    Connect, Packet, Pid, PubResp, Publish, QoS, QosPid, Subscribe, SubscriptionOptions, Version,
};
use tokio::sync::watch;

use support::*;

const V311: Version = Version::V3_1_1;

/// A tiny deterministic PRNG (xorshift) so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Starts the broker on `dir`'s config and publishes where it listens.
async fn spawn_tern(dir: &Path, addr: &watch::Sender<Option<SocketAddr>>) -> TernProcess {
    let tern = TernProcess::start(["--config".as_ref(), dir.join("tern.toml").as_os_str()]).await;
    addr.send_replace(Some(tern.tcp));
    tern
}

/// Withdraws the address (clients wait for the next one), then SIGKILL.
async fn kill9(tern: TernProcess, addr: &watch::Sender<Option<SocketAddr>>) {
    addr.send_replace(None);
    tern.kill9().await;
}

/// Connects (retrying while the broker is down or restarting) and sends `connect`; the
/// client and the CONNACK's Session Present flag.
async fn open(addr: &mut watch::Receiver<Option<SocketAddr>>, connect: Connect) -> (Client, bool) {
    loop {
        let current = *addr.borrow_and_update();
        let Some(a) = current else {
            let _ = addr.changed().await;
            continue;
        };
        let Ok(mut c) = Client::try_tcp(a, V311, &connect.client_id).await else {
            let _ = tokio::time::timeout(Duration::from_millis(50), addr.changed()).await;
            continue;
        };
        c.send(Packet::Connect(Box::new(connect.clone()))).await;
        if let Some(Packet::ConnAck(ack)) = recv(&mut c).await {
            return (c, ack.session_present);
        }
    }
}

/// The next packet, `None` when the connection is gone (or silent for 10 s): a killed
/// broker is expected here, not a failure.
async fn recv(c: &mut Client) -> Option<Packet> {
    match c.next_event(Duration::from_secs(10)).await {
        Event::Packet(p) => Some(p),
        Event::Closed | Event::Timeout => None,
    }
}

/// What the test observes.
#[derive(Default)]
struct Ledger {
    /// Acknowledged to a publisher, per topic class ("q1"/"q2").
    acked: HashMap<&'static str, HashSet<u64>>,
    /// Delivered to a subscriber (in order, with repeats), per class.
    received: HashMap<&'static str, Vec<u64>>,
}

type Shared = Arc<Mutex<Ledger>>;

fn id_of(payload: &[u8]) -> u64 {
    std::str::from_utf8(payload).unwrap().parse().unwrap()
}

/// A persistent subscriber that keeps its QoS 2 receiver state across reconnects.
async fn subscriber(
    mut addr: watch::Receiver<Option<SocketAddr>>,
    class: &'static str,
    qos: QoS,
    ledger: Shared,
    ready: Arc<tokio::sync::Semaphore>,
    stop: watch::Receiver<bool>,
) {
    let mut awaiting_rel: HashSet<Pid> = HashSet::new();
    loop {
        let (mut c, present) = open(&mut addr, connect_packet(V311, class, false)).await;
        if !present {
            let sub = Packet::Subscribe(Subscribe {
                pid: pid(1),
                filters: vec![(
                    filter(&format!("crash/{class}/#")),
                    SubscriptionOptions::new(qos),
                )],
                properties: Default::default(),
            });
            // A failed write shows as a close at the next read.
            c.send(sub).await;
        }
        while let Some(p) = recv(&mut c).await {
            let answer = match p {
                Packet::Publish(m) => match m.qos_pid {
                    QosPid::AtLeastOnce(pid) => {
                        ledger
                            .lock()
                            .unwrap()
                            .received
                            .entry(class)
                            .or_default()
                            .push(id_of(&m.payload));
                        Some(Packet::PubAck(PubResp::new(pid)))
                    }
                    QosPid::ExactlyOnce(pid) => {
                        // Method B of section 4.3.3: deliver once per packet id until PUBREL.
                        if awaiting_rel.insert(pid) {
                            ledger
                                .lock()
                                .unwrap()
                                .received
                                .entry(class)
                                .or_default()
                                .push(id_of(&m.payload));
                        }
                        Some(Packet::PubRec(PubResp::new(pid)))
                    }
                    QosPid::AtMostOnce => None,
                },
                Packet::PubRel(r) => {
                    awaiting_rel.remove(&r.pid);
                    Some(Packet::PubComp(PubResp::new(r.pid)))
                }
                Packet::SubAck(_) => {
                    ready.add_permits(1);
                    None
                }
                _ => None,
            };
            if let Some(a) = answer {
                c.send(a).await;
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// A publisher (clean session) with up to 8 messages in flight; records acknowledgements.
async fn publisher(
    mut addr: watch::Receiver<Option<SocketAddr>>,
    name: String,
    class: &'static str,
    qos: QoS,
    first_id: u64,
    ledger: Shared,
    stop: watch::Receiver<bool>,
) {
    let mut next = first_id;
    while !*stop.borrow() {
        let (mut c, _) = open(&mut addr, connect_packet(V311, &name, true)).await;
        let mut inflight: HashMap<Pid, u64> = HashMap::new();
        let mut id = 1u16;
        loop {
            while inflight.len() < 8 && !*stop.borrow() {
                let p = pid(id);
                id = id % 60_000 + 1;
                let qos_pid = if qos == QoS::AtLeastOnce {
                    QosPid::AtLeastOnce(p)
                } else {
                    QosPid::ExactlyOnce(p)
                };
                let publish = Packet::Publish(Publish {
                    dup: false,
                    qos_pid,
                    retain: false,
                    topic: topic(&format!("crash/{class}/{name}")),
                    payload: Bytes::from(next.to_string()),
                    properties: Default::default(),
                });
                c.send(publish).await;
                inflight.insert(p, next);
                next += 1;
            }
            if inflight.is_empty() {
                return;
            }
            let Some(p) = recv(&mut c).await else { break };
            match p {
                Packet::PubAck(r) => {
                    if let Some(id) = inflight.remove(&r.pid) {
                        ledger
                            .lock()
                            .unwrap()
                            .acked
                            .entry(class)
                            .or_default()
                            .insert(id);
                    }
                }
                Packet::PubRec(r) => c.send(Packet::PubRel(PubResp::new(r.pid))).await,
                Packet::PubComp(r) => {
                    if let Some(id) = inflight.remove(&r.pid) {
                        ledger
                            .lock()
                            .unwrap()
                            .acked
                            .entry(class)
                            .or_default()
                            .insert(id);
                    }
                }
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_that_was_acknowledged() {
    let rounds: usize = std::env::var("TERN_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seed: u64 = std::env::var("TERN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| (u64::from(std::process::id()) * 2_654_435_761) | 1);
    eprintln!("crash test: {rounds} rounds, TERN_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tern.toml"),
        format!(
            "persistence = true\npersistence_location = {:?}\nsys_interval = 0\n",
            dir.path()
        ),
    )
    .unwrap();
    let (addr_tx, addr_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ledger: Shared = Arc::default();
    let mut tern = spawn_tern(dir.path(), &addr_tx).await;

    // A retained message and the subscribers' sessions before the first crash.
    let (mut r, _) = open(&mut addr_rx.clone(), connect_packet(V311, "retainer", true)).await;
    let retained = Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(pid(1)),
        retain: true,
        topic: topic("crash/retained"),
        payload: Bytes::from_static(b"0"),
        properties: Default::default(),
    });
    r.send(retained).await;
    assert!(matches!(recv(&mut r).await, Some(Packet::PubAck(_))));
    let mut tasks = Vec::new();
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    for (class, qos) in [("q1", QoS::AtLeastOnce), ("q2", QoS::ExactlyOnce)] {
        let (l, r) = (Arc::clone(&ledger), Arc::clone(&ready));
        tasks.push(tokio::spawn(subscriber(
            addr_rx.clone(),
            class,
            qos,
            l,
            r,
            stop_rx.clone(),
        )));
    }
    // Publishing starts once both subscriptions exist (SUBACK): only messages acknowledged
    // after that are owed to the subscribers.
    let both = tokio::time::timeout(Duration::from_secs(20), ready.acquire_many(2)).await;
    both.expect("SUBACKs").unwrap().forget();
    let mut publishers = Vec::new();
    for (i, (class, qos)) in [
        ("q1", QoS::AtLeastOnce),
        ("q1", QoS::AtLeastOnce),
        ("q2", QoS::ExactlyOnce),
        ("q2", QoS::ExactlyOnce),
    ]
    .into_iter()
    .enumerate()
    {
        let first = (i as u64 + 1) * 100_000_000;
        publishers.push(tokio::spawn(publisher(
            addr_rx.clone(),
            format!("pub{i}"),
            class,
            qos,
            first,
            Arc::clone(&ledger),
            stop_rx.clone(),
        )));
    }
    let subscribed = async {
        loop {
            {
                let l = ledger.lock().unwrap();
                if l.received.get("q1").is_some_and(|v| !v.is_empty())
                    && l.received.get("q2").is_some_and(|v| !v.is_empty())
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), subscribed)
        .await
        .expect("subscribers receive");

    for round in 0..rounds {
        // Traffic for a random while, then SIGKILL, then the same database again.
        let ms = 200 + rng.next() % 800;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let acked: usize = ledger
            .lock()
            .unwrap()
            .acked
            .values()
            .map(HashSet::len)
            .sum();
        eprintln!("round {round}: kill -9 after {ms} ms ({acked} acknowledged so far)");
        kill9(tern, &addr_tx).await;
        tern = spawn_tern(dir.path(), &addr_tx).await;
    }
    stop_tx.send_replace(true);
    for p in publishers {
        tokio::time::timeout(Duration::from_secs(30), p)
            .await
            .expect("publishers finish")
            .unwrap();
    }

    // Every acknowledged message arrives (bounded wait), QoS 2 ones exactly once.
    let complete = async {
        loop {
            {
                let l = ledger.lock().unwrap();
                let done = ["q1", "q2"].iter().all(|c| {
                    let got: HashSet<u64> =
                        l.received.get(c).into_iter().flatten().copied().collect();
                    l.acked.get(c).is_none_or(|a| a.is_subset(&got))
                });
                if done {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let waited = tokio::time::timeout(Duration::from_secs(30), complete).await;
    {
        let l = ledger.lock().unwrap();
        for class in ["q1", "q2"] {
            let acked = l.acked.get(class).cloned().unwrap_or_default();
            let got: Vec<u64> = l.received.get(class).cloned().unwrap_or_default();
            let set: HashSet<u64> = got.iter().copied().collect();
            let mut missing: Vec<u64> = acked.difference(&set).copied().collect();
            missing.sort_unstable();
            eprintln!(
                "{class}: {} acknowledged, {} deliveries, {} distinct",
                acked.len(),
                got.len(),
                set.len()
            );
            assert!(
                acked.len() > 50,
                "{class}: too little traffic to mean anything ({})",
                acked.len()
            );
            assert!(
                missing.is_empty(),
                "{class}: acknowledged but never delivered (seed {seed}): {:?}",
                &missing[..missing.len().min(20)]
            );
            if class == "q2" {
                assert_eq!(got.len(), set.len(), "QoS 2 delivered twice (seed {seed})");
            }
        }
        assert!(waited.is_ok());
    }

    // The retained message survived every crash.
    let (mut c, _) = open(&mut addr_rx.clone(), connect_packet(V311, "late", true)).await;
    let sub = Packet::Subscribe(Subscribe {
        pid: pid(1),
        filters: vec![(
            filter("crash/retained"),
            SubscriptionOptions::new(QoS::AtLeastOnce),
        )],
        properties: Default::default(),
    });
    c.send(sub).await;
    let mut retained_seen = false;
    while let Some(p) = recv(&mut c).await {
        if let Packet::Publish(m) = p {
            retained_seen = m.retain && m.payload == Bytes::from_static(b"0");
            break;
        }
    }
    assert!(retained_seen, "retained message after the crashes");
    for t in tasks {
        t.abort();
    }
    kill9(tern, &addr_tx).await;
}
