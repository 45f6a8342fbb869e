//! Cluster benchmark: Tern nodes on a three-server NATS cluster (JetStream, R3), all on
//! 127.0.0.1 — cross-node latency at a fixed rate, and throughput with the clients spread
//! over three nodes versus on one node.
//!
//! ```text
//! cargo build --release -p tern-server --bin tern --example cluster_bench
//! target/release/examples/cluster_bench [--runs 3] [--seconds 10] [--rate 1000]
//! ```
//!
//! Needs `nats-server` (`cargo xtask setup` installs Debian's). Latency: one publisher on
//! node A, one subscriber on node B (and, for comparison, on node A itself), `--rate`
//! messages per second for `--seconds`; each payload carries its send time, the subscriber
//! computes the delay. Throughput: `--pairs` publisher/subscriber pairs, each on its own
//! topic, publishing as fast as the broker takes it (QoS 0) or with 64 PUBLISH in flight
//! (QoS 1); "3 nodes" puts each pair's publisher and subscriber on different nodes, "1
//! node" puts every client on node A. Prints Markdown tables (medians over `--runs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use clap::Parser;
use tern_codec::{
    Connect, DecodeConfig, Packet, Pid, PubResp, Publish, QoS, QosPid, Subscribe,
    SubscriptionOptions, TopicFilter, TopicName, Version, decode, encode,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

#[derive(Debug, Parser)]
#[command(name = "cluster_bench")]
struct Cli {
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages per second of the latency measurement.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Publisher/subscriber pairs of the throughput measurement.
    #[arg(long, default_value_t = 6)]
    pairs: usize,
    /// The tern release binary [default: `tern` next to this example's directory].
    #[arg(long)]
    tern: Option<PathBuf>,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Three clustered `nats-server` processes with JetStream.
struct Nats {
    children: Vec<tokio::process::Child>,
    urls: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Nats {
    async fn start() -> Result<Nats> {
        let dir = tempfile::tempdir()?;
        let ports: Vec<(u16, u16)> = (0..3)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<Result<_>>()?;
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, c)| format!("\"nats-route://127.0.0.1:{c}\""))
            .collect();
        let mut children = Vec::new();
        let mut urls = Vec::new();
        for (i, (port, cport)) in ports.iter().enumerate() {
            let conf = dir.path().join(format!("n{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: n{i}\nlisten: \"127.0.0.1:{port}\"\n\
                     jetstream {{ store_dir: \"{}\" }}\n\
                     cluster {{ name: bench, listen: \"127.0.0.1:{cport}\", routes: [{}] }}\n",
                    dir.path().join(format!("js{i}")).display(),
                    routes.join(", ")
                ),
            )?;
            children.push(
                tokio::process::Command::new("nats-server")
                    .arg("-c")
                    .arg(&conf)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .context("starting nats-server (run `cargo xtask setup`)")?,
            );
            urls.push(format!("nats://127.0.0.1:{port}"));
        }
        Ok(Nats {
            children,
            urls,
            _dir: dir,
        })
    }
}

/// A `tern` node process.
struct Node {
    _child: tokio::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Node {
    /// A node of the cluster on `nats`, or (`None`) a single tern without `[cluster]`.
    async fn start(bin: &Path, id: &str, nats: Option<&Nats>) -> Result<Node> {
        let dir = tempfile::tempdir()?;
        let conf = dir.path().join("tern.toml");
        let mut text = "sys_interval = 0\n".to_owned();
        if let Some(nats) = nats {
            let urls: Vec<String> = nats.urls.iter().map(|u| format!("\"{u}\"")).collect();
            text.push_str(&format!(
                "[cluster]\nnode_id = \"{id}\"\nnats = [{}]\nreplicas = 3\n",
                urls.join(", ")
            ));
        }
        std::fs::write(&conf, text)?;
        let mut child = tokio::process::Command::new(bin)
            .args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--config"])
            .arg(&conf)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("tern did not start within 60 s")??
            .context("tern exited")?;
        let addr = line
            .strip_prefix("tern: mqtt listening on tcp://")
            .with_context(|| format!("unexpected line {line:?}"))?
            .parse()?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Node {
            _child: child,
            addr,
            _dir: dir,
        })
    }
}

/// A minimal MQTT 5 client half: writes packets.
struct Tx {
    w: OwnedWriteHalf,
    buf: BytesMut,
}

impl Tx {
    async fn send(&mut self, p: &Packet) -> Result<()> {
        self.queue(p)?;
        self.flush().await
    }

    fn queue(&mut self, p: &Packet) -> Result<()> {
        encode(p, Version::V5, &mut self.buf).map_err(|e| anyhow::anyhow!("{e}"))
    }

    async fn flush(&mut self) -> Result<()> {
        self.w.write_all(&self.buf).await?;
        self.buf.clear();
        Ok(())
    }
}

/// The reading half: decoded packets.
struct Rx {
    r: OwnedReadHalf,
    buf: BytesMut,
}

impl Rx {
    async fn next(&mut self) -> Result<Packet> {
        let cfg = DecodeConfig {
            version: Version::V5,
            max_packet_size: 1 << 20,
        };
        loop {
            if let Some(p) = decode(&mut self.buf, &cfg).map_err(|e| anyhow::anyhow!("{e}"))? {
                return Ok(p);
            }
            if self.r.read_buf(&mut self.buf).await? == 0 {
                bail!("connection closed");
            }
        }
    }
}

async fn connect(addr: SocketAddr, id: &str) -> Result<(Tx, Rx)> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let (r, w) = s.into_split();
    let (mut tx, mut rx) = (
        Tx {
            w,
            buf: BytesMut::new(),
        },
        Rx {
            r,
            buf: BytesMut::new(),
        },
    );
    let c = Connect {
        version: Version::V5,
        clean_start: true,
        keep_alive: 60,
        client_id: id.into(),
        will: None,
        username: None,
        password: None,
        properties: Default::default(),
    };
    tx.send(&Packet::Connect(Box::new(c))).await?;
    match rx.next().await? {
        Packet::ConnAck(a) if !a.reason.is_error() => Ok((tx, rx)),
        other => bail!("CONNACK expected, got {other:?}"),
    }
}

async fn subscribe(tx: &mut Tx, rx: &mut Rx, filter: &str, qos: QoS) -> Result<()> {
    tx.send(&Packet::Subscribe(Subscribe {
        pid: Pid::new(1).context("pid")?,
        filters: vec![(TopicFilter::new(filter)?, SubscriptionOptions::new(qos))],
        properties: Default::default(),
    }))
    .await?;
    match rx.next().await? {
        Packet::SubAck(_) => Ok(()),
        other => bail!("SUBACK expected, got {other:?}"),
    }
}

fn publish(topic: &TopicName, payload: Bytes, qos: QoS, pid: u16) -> Packet {
    let qos_pid = match qos {
        QoS::AtMostOnce => QosPid::AtMostOnce,
        _ => QosPid::from_parts(qos, Pid::new(pid)).unwrap_or(QosPid::AtMostOnce),
    };
    Packet::Publish(Publish {
        dup: false,
        qos_pid,
        retain: false,
        topic: topic.clone(),
        payload,
        properties: Default::default(),
    })
}

/// Reads PUBLISHes until `until`, acknowledging QoS 1, calling `f` with each payload.
async fn drain(
    mut tx: Tx,
    mut rx: Rx,
    until: Instant,
    mut f: impl FnMut(&Bytes) + Send,
) -> Result<()> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let Ok(p) = tokio::time::timeout(left, rx.next()).await else {
            return Ok(());
        };
        if let Packet::Publish(p) = p? {
            f(&p.payload);
            if let QosPid::AtLeastOnce(pid) = p.qos_pid {
                tx.send(&Packet::PubAck(PubResp::new(pid))).await?;
            }
        }
    }
}

/// Microseconds of send-to-receive delay at `rate` msg/s from `from` to `to`.
async fn latency(
    from: SocketAddr,
    to: SocketAddr,
    qos: QoS,
    rate: u64,
    seconds: u64,
    tag: &str,
) -> Result<(Vec<u64>, u64)> {
    let topic = TopicName::new(format!("lat/{tag}"))?;
    let (mut stx, mut srx) = connect(to, &format!("lat-sub-{tag}")).await?;
    subscribe(&mut stx, &mut srx, topic.as_str(), qos).await?;
    let (mut ptx, mut prx) = connect(from, &format!("lat-pub-{tag}")).await?;
    // Interest in QoS 0 subjects spreads through NATS asynchronously: warm up first.
    let epoch = Instant::now();
    tokio::spawn(async move { while prx.next().await.is_ok() {} });
    for _ in 0..200 {
        ptx.send(&publish(&topic, Bytes::from_static(b"warm"), qos, 1))
            .await?;
        if let Ok(Ok(Packet::Publish(_))) =
            tokio::time::timeout(Duration::from_millis(20), srx.next()).await
        {
            break;
        }
    }
    let total = rate * seconds;
    let end = Instant::now() + Duration::from_secs(seconds + 5);
    let reader = tokio::spawn(async move {
        let mut out = Vec::with_capacity(total as usize);
        let r = drain(stx, srx, end, |p| {
            if p.len() == 8 {
                let sent = (&p[..]).get_u64();
                let now = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
                out.push(now.saturating_sub(sent));
            }
        })
        .await;
        r.map(|()| out)
    });
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut pid = 1u16;
    for _ in 0..total {
        tick.tick().await;
        let mut b = BytesMut::with_capacity(8);
        b.put_u64(u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX));
        ptx.send(&publish(&topic, b.freeze(), qos, pid)).await?;
        pid = pid.checked_add(1).filter(|p| *p <= 60000).unwrap_or(1);
    }
    let mut got = reader.await??;
    let lost = total.saturating_sub(got.len() as u64);
    got.sort_unstable();
    Ok((got, lost))
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Messages per second delivered with `pairs` pairs; `place(i)` = (publisher node,
/// subscriber node) of pair `i`.
async fn throughput(
    nodes: &[SocketAddr],
    pairs: usize,
    qos: QoS,
    seconds: u64,
    place: impl Fn(usize) -> (usize, usize),
    tag: &str,
) -> Result<f64> {
    let received = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut readers = Vec::new();
    let mut pubs = Vec::new();
    for i in 0..pairs {
        let (p, s) = place(i);
        let topic = TopicName::new(format!("tp/{tag}/{i}"))?;
        let (mut stx, mut srx) = connect(nodes[s], &format!("tp-sub-{tag}-{i}")).await?;
        subscribe(&mut stx, &mut srx, topic.as_str(), qos).await?;
        let n = Arc::clone(&received);
        readers.push(tokio::spawn(drain(
            stx,
            srx,
            end + Duration::from_secs(2),
            move |_| {
                if Instant::now() < end {
                    n.fetch_add(1, Ordering::Relaxed);
                }
            },
        )));
        pubs.push((
            connect(nodes[p], &format!("tp-pub-{tag}-{i}")).await?,
            topic,
        ));
    }
    let payload = Bytes::from(vec![b'x'; 64]);
    let mut tasks = Vec::new();
    for ((mut tx, mut rx), topic) in pubs {
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let inflight = Arc::new(tokio::sync::Semaphore::new(64));
            let acks = Arc::clone(&inflight);
            let acker = tokio::spawn(async move {
                while let Ok(p) = rx.next().await {
                    if matches!(p, Packet::PubAck(_)) {
                        acks.add_permits(1);
                    }
                }
            });
            let mut pid = 1u16;
            while Instant::now() < end {
                for _ in 0..32 {
                    if qos != QoS::AtMostOnce {
                        let Ok(permit) = inflight.acquire().await else {
                            break;
                        };
                        permit.forget();
                    }
                    tx.queue(&publish(&topic, payload.clone(), qos, pid))?;
                    pid = pid.checked_add(1).filter(|p| *p <= 60000).unwrap_or(1);
                }
                tx.flush().await?;
            }
            acker.abort();
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    for r in readers {
        r.await??;
    }
    Ok(received.load(Ordering::Relaxed) as f64 / seconds as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let bin = match &cli.tern {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("tern"))
            .context("tern binary path")?,
    };
    let nats = Nats::start().await?;
    eprintln!(
        "NATS cluster at {}; starting 3 tern nodes",
        nats.urls.join(", ")
    );
    let mut nodes = Vec::new();
    for id in ["a", "b", "c"] {
        nodes.push(Node::start(&bin, id, Some(&nats)).await?);
    }
    let plain = Node::start(&bin, "plain", None).await?;
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    println!(
        "| latency at {} msg/s, {} s | p50 µs | p99 µs | max µs | lost |",
        cli.rate, cli.seconds
    );
    println!("|---|---:|---:|---:|---:|");
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let cases = [
            ("node A → node B", addrs[0], addrs[1]),
            ("node A → node A", addrs[0], addrs[0]),
            ("tern without [cluster]", plain.addr, plain.addr),
        ];
        for (name, from, to) in cases {
            let mut p50 = Vec::new();
            let mut p99 = Vec::new();
            let mut max = Vec::new();
            let mut lost = 0;
            for run in 0..cli.runs {
                let tag = format!("{}-{}-{}-{run}", qos as u8, from.port(), to.port());
                let (sorted, l) = latency(from, to, qos, cli.rate, cli.seconds, &tag).await?;
                p50.push(pct(&sorted, 0.5) as f64);
                p99.push(pct(&sorted, 0.99) as f64);
                max.push(sorted.last().copied().unwrap_or(0) as f64);
                lost += l;
            }
            println!(
                "| QoS {} {name} | {:.0} | {:.0} | {:.0} | {lost} |",
                qos as u8,
                median(p50),
                median(p99),
                median(max)
            );
        }
    }
    println!();
    println!(
        "| throughput, {} pairs, 64 B, {} s | 3 nodes msg/s | 1 node msg/s | tern without [cluster] msg/s |",
        cli.pairs, cli.seconds
    );
    println!("|---|---:|---:|---:|");
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let (mut three, mut one, mut alone) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..cli.runs {
            let tag = format!("{}-{run}", qos as u8);
            three.push(
                throughput(
                    &addrs,
                    cli.pairs,
                    qos,
                    cli.seconds,
                    |i| (i % 3, (i + 1) % 3),
                    &format!("3-{tag}"),
                )
                .await?,
            );
            one.push(
                throughput(
                    &addrs,
                    cli.pairs,
                    qos,
                    cli.seconds,
                    |_| (0, 0),
                    &format!("1-{tag}"),
                )
                .await?,
            );
            alone.push(
                throughput(
                    &[plain.addr],
                    cli.pairs,
                    qos,
                    cli.seconds,
                    |_| (0, 0),
                    &format!("p-{tag}"),
                )
                .await?,
            );
        }
        println!(
            "| QoS {} | {:.0} | {:.0} | {:.0} |",
            qos as u8,
            median(three),
            median(one),
            median(alone)
        );
    }
    drop(plain);
    drop(nodes);
    drop(nats.children);
    Ok(())
}
