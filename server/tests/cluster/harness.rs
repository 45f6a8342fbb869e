//! A real NATS cluster for the cluster tests: `nats-server` processes (Debian's 2.9, as
//! `cargo xtask setup` installs it) clustered on free loopback ports with JetStream, and
//! Tern nodes on it — in-process (`support::Broker::with`) or the real binary when a test
//! kills one. Plus an MQTT client that completes the QoS 1/2 flows it receives.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tern_codec::{Packet, PubResp, Publish, QoS, QosPid, Version};
use tern_server::cluster::ClusterConfig;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{Broker, Client, Event, pid};

/// The binary every cluster test needs.
pub const NATS_SERVER: &str = "nats-server";

/// A free loopback port (bound and released; NATS binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local addr")
        .port()
}

struct NatsServer {
    child: Option<tokio::process::Child>,
    port: u16,
    conf: PathBuf,
}

/// A NATS cluster with JetStream; its processes die with it.
pub struct Nats {
    servers: Vec<NatsServer>,
    _dir: tempfile::TempDir,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// At most two clusters (three NATS servers and up to three nodes each) run at once: the
/// test runner starts many tests in parallel, and a dozen NATS servers with JetStream on two
/// cores would make timings, not the broker, decide the outcome.
fn slots() -> Arc<tokio::sync::Semaphore> {
    static SLOTS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    Arc::clone(SLOTS.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(2))))
}

fn spawn(conf: &PathBuf) -> tokio::process::Child {
    match tokio::process::Command::new(NATS_SERVER)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{NATS_SERVER}` is not installed: run `cargo xtask setup` (it installs Debian's \
             nats-server), or `apt-get install nats-server`"
        ),
        Err(e) => panic!("cannot start {NATS_SERVER}: {e}"),
    }
}

impl Nats {
    /// `n` clustered servers, each accepting clients when this returns.
    pub async fn start(n: usize) -> Nats {
        let slot = slots().acquire_owned().await.expect("slots");
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, c)| format!("\"nats-route://127.0.0.1:{c}\""))
            .collect();
        let mut servers = Vec::new();
        for (i, (port, cport)) in ports.iter().enumerate() {
            let conf = dir.path().join(format!("n{i}.conf"));
            let cluster = if n > 1 {
                format!(
                    "cluster {{ name: tern-test, listen: \"127.0.0.1:{cport}\", routes: [{}] }}",
                    routes.join(", ")
                )
            } else {
                String::new()
            };
            std::fs::write(
                &conf,
                format!(
                    "server_name: n{i}\nlisten: \"127.0.0.1:{port}\"\n\
                     jetstream {{ store_dir: \"{}\", max_memory_store: 268435456, max_file_store: 2147483648 }}\n{cluster}\n",
                    dir.path().join(format!("js{i}")).display()
                ),
            )
            .expect("write nats config");
            servers.push(NatsServer {
                child: Some(spawn(&conf)),
                port: *port,
                conf,
            });
        }
        let nats = Nats {
            servers,
            _dir: dir,
            _slot: slot,
        };
        for i in 0..n {
            nats.wait_up(i).await;
        }
        nats
    }

    async fn wait_up(&self, i: usize) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.servers[i].port));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nats-server {i} did not listen on {addr} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.servers[i].port)
    }

    pub fn urls(&self) -> Vec<String> {
        (0..self.servers.len()).map(|i| self.url(i)).collect()
    }

    /// SIGKILL server `i`.
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].child.take() {
            let pid = c.id().expect("pid").to_string();
            let ok = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .expect("kill");
            assert!(ok.success());
            let _ = c.wait().await;
        }
    }

    /// Starts server `i` again on its store.
    pub async fn restart(&mut self, i: usize) {
        self.servers[i].child = Some(spawn(&self.servers[i].conf));
        self.wait_up(i).await;
    }
}

/// A node's `[cluster]`: replicas 3 when the NATS cluster has three servers; the node
/// connects to `nats` (all of them unless a test wants one).
pub fn cluster_config(id: &str, nats: Vec<String>, replicas: usize) -> ClusterConfig {
    let mut c = ClusterConfig::new(id, nats);
    c.replicas = Some(replicas);
    c.node_timeout = Duration::from_secs(2);
    c
}

/// An in-process Tern node. `RUST_LOG` shows its log (e.g. `RUST_LOG=tern_server=debug`).
pub async fn node(id: &str, nats: &Nats, replicas: usize) -> Broker {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let cfg = cluster_config(id, nats.urls(), replicas);
    Broker::with(move |c| c.cluster = Some(cfg)).await
}

/// The real `tern` binary as a node (for tests that kill it).
pub struct Process {
    child: tokio::process::Child,
    pub tcp: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Process {
    pub async fn start(id: &str, nats: &Nats, replicas: usize) -> Process {
        let dir = tempfile::tempdir().expect("temp dir");
        let urls: Vec<String> = nats.urls().iter().map(|u| format!("\"{u}\"")).collect();
        let conf = dir.path().join("tern.toml");
        std::fs::write(
            &conf,
            format!(
                "[cluster]\nnode_id = \"{id}\"\nnats = [{}]\nreplicas = {replicas}\nnode_timeout = 2\n",
                urls.join(", ")
            ),
        )
        .expect("write tern.toml");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--config"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the tern binary");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = tokio::time::timeout(Duration::from_secs(40), lines.next_line())
            .await
            .expect("tern started within 40 s")
            .expect("read stdout")
            .expect("tern printed its address");
        let tcp = line
            .strip_prefix("tern: mqtt listening on tcp://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Process {
            child,
            tcp,
            _dir: dir,
        }
    }

    /// SIGKILL: no goodbye to NATS, no DISCONNECT to clients.
    pub async fn kill9(mut self) {
        let pid = self.child.id().expect("pid").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        let _ = self.child.wait().await;
    }
}

/// A received application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
}

/// Receives up to `n` PUBLISH packets within `within`, completing QoS 1/2 flows as a client
/// does (QoS 2: PUBREC, then PUBCOMP on PUBREL). Stops early when nothing came for `quiet`.
pub async fn receive(c: &mut Client, n: usize, within: Duration, quiet: Duration) -> Vec<Got> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while got.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        let p = match c.next_event(left.min(quiet)).await {
            Event::Packet(p) => Some(p),
            Event::Closed => None,
            Event::Timeout => break,
        };
        match p {
            Some(Packet::Publish(p)) => {
                got.push(got_of(&p));
                match p.qos_pid {
                    QosPid::AtLeastOnce(pid) => c.send(Packet::PubAck(PubResp::new(pid))).await,
                    QosPid::ExactlyOnce(pid) => c.send(Packet::PubRec(PubResp::new(pid))).await,
                    QosPid::AtMostOnce => {}
                }
            }
            Some(Packet::PubRel(r)) => c.send(Packet::PubComp(PubResp::new(r.pid))).await,
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    got
}

fn got_of(p: &Publish) -> Got {
    Got {
        topic: p.topic.to_string(),
        payload: p.payload.to_vec(),
        qos: p.qos_pid.qos(),
        retain: p.retain,
        dup: p.dup,
    }
}

/// Like [`receive`], leaving out (and not counting) [`await_route`]'s probes.
pub async fn receive_app(c: &mut Client, n: usize, within: Duration, quiet: Duration) -> Vec<Got> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while got.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let more = receive(c, n - got.len(), left, quiet).await;
        if more.is_empty() {
            break;
        }
        got.extend(
            more.into_iter()
                .filter(|g| !g.payload.starts_with(b"probe-")),
        );
    }
    got
}

/// Receives (completing QoS flows) until `n` distinct payloads arrived or `within` passed;
/// every copy is returned, duplicates included.
pub async fn receive_distinct(c: &mut Client, n: usize, within: Duration) -> Vec<Got> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got: Vec<Got> = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        for g in receive(c, 1, left, left).await {
            distinct.insert(g.payload.clone());
            got.push(g);
        }
    }
    got
}

/// Stops in-process nodes gracefully (their tasks end before the test's runtime does).
pub async fn stop(nodes: Vec<Broker>) {
    for n in nodes {
        n.shutdown().await.expect("node shut down");
    }
}

/// Publishes and completes the flow (PUBACK, or PUBREC / PUBREL / PUBCOMP); returns the
/// acknowledgement's reason code.
pub async fn publish(
    c: &mut Client,
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: u16,
    retain: bool,
) -> tern_codec::ReasonCode {
    publish_within(c, topic, payload, qos, id, retain, crate::support::DEADLINE).await
}

/// [`publish`] waiting up to `within` for each answer (while NATS fails over, an
/// acknowledgement waits for JetStream to store the message again).
pub async fn publish_within(
    c: &mut Client,
    topic: &str,
    payload: &[u8],
    qos: QoS,
    id: u16,
    retain: bool,
    within: Duration,
) -> tern_codec::ReasonCode {
    c.send_publish(topic, payload, qos, id, retain).await;
    match qos {
        QoS::AtMostOnce => tern_codec::ReasonCode::Success,
        QoS::AtLeastOnce => match next(c, within).await {
            Packet::PubAck(a) => a.reason,
            other => panic!("expected PUBACK, got {other:?}"),
        },
        QoS::ExactlyOnce => {
            let rec = match next(c, within).await {
                Packet::PubRec(a) => a,
                other => panic!("expected PUBREC, got {other:?}"),
            };
            c.send(Packet::PubRel(PubResp::new(pid(id)))).await;
            match next(c, within).await {
                Packet::PubComp(_) => rec.reason,
                other => panic!("expected PUBCOMP, got {other:?}"),
            }
        }
    }
}

/// The next packet within `within`; panics on close or timeout.
async fn next(c: &mut Client, within: Duration) -> Packet {
    match c.next_event(within).await {
        Event::Packet(p) => p,
        other => panic!("{}: no packet within {within:?}: {other:?}", c.name),
    }
}

/// Publishes QoS 0 probes on `publisher` until `subscriber` gets one: NATS has spread the
/// subscriber's interest through the NATS cluster (it does so asynchronously). Returns
/// the probes' payload prefix (later probes may still arrive; filter them out).
pub async fn await_route(
    publisher: &mut Client,
    subscriber: &mut Client,
    topic: &str,
) -> &'static str {
    for i in 0..200u32 {
        publisher
            .send_publish(
                topic,
                format!("probe-{i}").as_bytes(),
                QoS::AtMostOnce,
                1,
                false,
            )
            .await;
        let got = receive(
            subscriber,
            1,
            Duration::from_millis(100),
            Duration::from_millis(100),
        )
        .await;
        if got.iter().any(|g| g.payload.starts_with(b"probe-")) {
            return "probe-";
        }
    }
    panic!("QoS 0 messages on {topic} never reached the subscriber's node");
}

pub const V5: Version = Version::V5;
pub const V311: Version = Version::V3_1_1;
