//! Memory under attack (issue 10, item 6): three states a hostile or careless crowd of
//! clients can put a broker in, each reached on a fresh broker and measured as the broker's
//! resident memory (VmRSS) once the state is reached.
//!
//! * `never-connect`: N TCP connections that never send CONNECT. Measured once the broker
//!   holds them all (counted in its /proc/<pid>/fd), then again after the broker closed
//!   them (tern: `connect_timeout`), which every socket sees as end of stream.
//! * `slow-consumers`: N clients subscribe at QoS 1 to one topic and never read again;
//!   publishers send QoS 1 messages until every queue is full (max_queued_messages +
//!   max_inflight_messages + a margin, all acknowledged). Then a sample of the consumers
//!   reads its backlog, which shows the queues were full and held no more than the limit.
//! * `abandoned`: N clients with Clean Session 0 subscribe to a topic of their own and
//!   vanish. Measured once `$SYS/broker/clients/total` counts all N sessions.
//!
//! Connections come from 64 source addresses (127.0.0.2–65), so that 100,000 connections
//! opened one after another do not run out of ephemeral ports while closed ones sit in
//! TIME_WAIT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bytes::BytesMut;
use tern_codec::{DecodeConfig, Packet, QoS, decode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};

use crate::broker::{Broker, Mem};
use crate::client::{Conn, PUBLISH, Template, publish_parts, put_puback, scan};
use crate::flow::Flow;
use crate::traffic::{PubPlan, publisher};

pub use crate::attack_report::markdown;

/// Connections opened concurrently.
const CONNECTORS: usize = 64;
/// Source addresses the connections are spread over.
const SOURCES: usize = 64;
/// QoS 1 PUBLISH packets in flight per publisher.
const WINDOW: usize = 16;
/// Slow consumers that read their backlog at the end.
const SAMPLE: usize = 10;
/// A sampled consumer's backlog is over when nothing arrives for this long.
const QUIET: Duration = Duration::from_secs(1);
/// How long the broker may take to accept the never-CONNECT sockets we opened.
const ACCEPT_WAIT: Duration = Duration::from_secs(5);
/// As in the idle scenario: time for per-connection work to finish before RSS is read.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct AttackOpts {
    pub never_connect: usize,
    /// How long never-CONNECT sockets are watched for the broker to close them.
    pub close_wait: Duration,
    pub slow_consumers: usize,
    pub slow_messages: u64,
    pub slow_publishers: usize,
    pub slow_payload: usize,
    pub abandoned: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    NeverConnect,
    SlowConsumers,
    Abandoned,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::NeverConnect => "never send CONNECT",
            State::SlowConsumers => "slow consumers, full queues",
            State::Abandoned => "abandoned persistent sessions",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AttackOutcome {
    pub state: State,
    pub clients: usize,
    /// The fresh broker.
    pub before: Mem,
    /// In the state (VmRSS now, VmHWM the peak so far).
    pub loaded: Mem,
    /// never-connect: after the broker closed the sockets (or the wait ended).
    pub after: Option<Mem>,
    /// Time to reach the state.
    pub setup: Duration,
    /// What shows the state was reached (closes seen, backlog read, $SYS count).
    pub check: String,
}

impl AttackOutcome {
    /// RSS growth per client, in bytes.
    pub fn bytes_per_client(&self) -> f64 {
        let delta = self.loaded.rss_kib as f64 - self.before.rss_kib as f64;
        delta * 1024.0 / self.clients.max(1) as f64
    }
}

pub async fn run(
    state: State,
    broker: &mut Broker,
    o: &AttackOpts,
    limit: Duration,
) -> Result<AttackOutcome> {
    match state {
        State::NeverConnect => never_connect(broker, o.never_connect, o.close_wait, limit).await,
        State::SlowConsumers => slow_consumers(broker, o, limit).await,
        State::Abandoned => abandoned(broker, o.abandoned, limit).await,
    }
}

/// A TCP connection to `addr` from source address `127.0.0.(2 + i % 64)`.
async fn connect_from(i: usize, addr: SocketAddr) -> Result<TcpStream> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::from(([127, 0, 0, 2 + (i % SOURCES) as u8], 0)))?;
    Ok(sock.connect(addr).await?)
}

/// Runs `each(i)` for `i` in `0..n` on [`CONNECTORS`] concurrent workers, collecting the
/// results, all before `deadline`.
async fn for_each<T, F, Fut>(n: usize, deadline: Instant, each: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let workers = CONNECTORS.min(n).max(1);
    let mut set = JoinSet::new();
    for w in 0..workers {
        let each = each.clone();
        set.spawn(async move {
            let mut mine = Vec::with_capacity(n / workers + 1);
            for i in (w..n).step_by(workers) {
                mine.push(each(i).await.with_context(|| format!("client {i}"))?);
            }
            Ok::<_, anyhow::Error>(mine)
        });
    }
    let mut out = Vec::with_capacity(n);
    timeout_at(deadline, async {
        while let Some(r) = set.join_next().await {
            out.extend(r??);
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
    .with_context(|| format!("{n} clients not set up in time"))??;
    Ok(out)
}

/// Polls `cond` every 50 ms until it holds; for states only /proc can tell.
async fn wait_until(deadline: Instant, mut cond: impl FnMut() -> Result<bool>) -> Result<()> {
    while !cond()? {
        ensure!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn never_connect(
    broker: &mut Broker,
    n: usize,
    close_wait: Duration,
    limit: Duration,
) -> Result<AttackOutcome> {
    let addr = broker.addr;
    let before = broker.mem()?;
    let fds0 = broker.open_fds()?;
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let streams = for_each(n, deadline, move |i| connect_from(i, addr)).await?;
    let setup = t0.elapsed();
    // The broker may be closing the first ones already if opening took longer than its
    // connect_timeout: the figure is per socket it holds at the moment of measuring.
    let accepted = Instant::now() + ACCEPT_WAIT;
    let _ = wait_until(accepted, || Ok(broker.open_fds()? >= fds0 + n)).await;
    let loaded = broker.mem()?;
    let held = broker.open_fds()?.saturating_sub(fds0);
    broker.check_alive()?;

    // Each socket sees end of stream (or a reset) when the broker gives up on it.
    let opened = Instant::now();
    let mut set = JoinSet::new();
    for mut s in streams {
        set.spawn(async move {
            let mut byte = [0u8; 1];
            let _ = s.read(&mut byte).await;
            Instant::now()
        });
    }
    let (mut closed, mut last) = (0, opened);
    while let Ok(Some(r)) = timeout_at(opened + close_wait, set.join_next()).await {
        closed += 1;
        last = last.max(r?);
    }
    set.abort_all();
    while set.join_next().await.is_some() {}
    tokio::time::sleep(SETTLE).await;
    let after = broker.mem()?;
    broker.check_alive()?;
    let early = if held < n {
        " (opening took longer than the broker's CONNECT deadline: raise it, e.g. \
         --tern-conf \"connect_timeout = 60\" --close-wait 90)"
    } else {
        ""
    };
    let check = if closed == n {
        format!(
            "{n} opened, {held} held at once{early}; all closed by the broker, the last {:.1} s \
             after all were open",
            (last - opened).as_secs_f64()
        )
    } else {
        format!(
            "{n} opened, {held} held at once{early}; {closed} closed by the broker within {close_wait:?}"
        )
    };
    Ok(AttackOutcome {
        state: State::NeverConnect,
        clients: held,
        before,
        loaded,
        after: Some(after),
        setup,
        check,
    })
}

async fn slow_consumers(
    broker: &mut Broker,
    o: &AttackOpts,
    limit: Duration,
) -> Result<AttackOutcome> {
    let addr = broker.addr;
    let before = broker.mem()?;
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let consumers = for_each(o.slow_consumers, deadline, move |i| async move {
        let s = connect_from(i, addr).await?;
        let mut c = Conn::handshake(s, &format!("lg-slow-{i}"), true).await?;
        c.subscribe("slow/all", QoS::AtLeastOnce).await?;
        Ok(c)
    })
    .await?;
    // From here on the consumers do not read: the broker keeps what it cannot send.
    let tpl = Template::new("slow/all", o.slow_payload, QoS::AtLeastOnce)?;
    let flow = Arc::new(Flow::new(0, 0));
    let publishers = o.slow_publishers.max(1);
    // All connected before the first message: a busy broker may take long to accept more.
    let mut conns = Vec::with_capacity(publishers);
    for p in 0..publishers {
        conns.push(Conn::connect(addr, &format!("lg-slow-pub-{p}")).await?);
    }
    let mut tasks = Vec::with_capacity(publishers);
    for (p, conn) in conns.into_iter().enumerate() {
        let count = o.slow_messages / publishers as u64
            + u64::from((p as u64) < o.slow_messages % publishers as u64);
        let plan = PubPlan {
            tpl: tpl.clone(),
            qos: QoS::AtLeastOnce,
            count,
            window: WINDOW,
            flow: Arc::clone(&flow),
            deadline,
            t0,
        };
        tasks.push(tokio::spawn(publisher(conn, plan)));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await??.acked;
    }
    ensure!(
        acked == o.slow_messages,
        "only {acked} of {} messages acknowledged in time",
        o.slow_messages
    );
    let setup = t0.elapsed();
    tokio::time::sleep(SETTLE).await;
    let loaded = broker.mem()?;
    broker.check_alive()?;

    // The backlog of a sample: everything the broker kept for them, and no more.
    let mut rest = consumers;
    let sample: Vec<Conn> = rest.drain(..SAMPLE.min(rest.len())).collect();
    let mut set = JoinSet::new();
    for c in sample {
        set.spawn(read_backlog(c, deadline));
    }
    let mut counts = Vec::new();
    while let Some(r) = set.join_next().await {
        counts.push(r??);
    }
    drop(rest);
    let (min, max) = (counts.iter().min(), counts.iter().max());
    let check = format!(
        "{} sampled consumers then received {}–{} of the {} messages",
        counts.len(),
        min.copied().unwrap_or(0),
        max.copied().unwrap_or(0),
        o.slow_messages
    );
    Ok(AttackOutcome {
        state: State::SlowConsumers,
        clients: o.slow_consumers,
        before,
        loaded,
        after: None,
        setup,
        check,
    })
}

/// Reads and acknowledges everything a consumer gets until it is quiet for [`QUIET`];
/// returns the number of PUBLISH packets.
async fn read_backlog(mut c: Conn, deadline: Instant) -> Result<u64> {
    let mut count = 0;
    let mut acks = BytesMut::new();
    loop {
        let used = scan(&c.buf, |first, body| {
            if first >> 4 == PUBLISH {
                count += 1;
                if let (Some(pid), _) = publish_parts(first, body)? {
                    put_puback(&mut acks, pid);
                }
            }
            Ok(())
        })?;
        let _ = c.buf.split_to(used);
        if !acks.is_empty() {
            c.stream.write_all(&acks).await?;
            acks.clear();
        }
        ensure!(Instant::now() < deadline, "backlog not read in time");
        c.buf.reserve(64 * 1024);
        match timeout(QUIET, c.stream.read_buf(&mut c.buf)).await {
            Err(_) => return Ok(count),
            Ok(Ok(0)) => bail!("the broker closed a slow consumer"),
            Ok(r) => {
                r?;
            }
        }
    }
}

async fn abandoned(broker: &mut Broker, n: usize, limit: Duration) -> Result<AttackOutcome> {
    let addr = broker.addr;
    let before = broker.mem()?;
    let t0 = Instant::now();
    let deadline = t0 + limit;
    for_each(n, deadline, move |i| async move {
        let s = connect_from(i, addr).await?;
        let mut c = Conn::handshake(s, &format!("lg-ab-{i}"), false).await?;
        c.subscribe(&format!("ab/{i}"), QoS::AtLeastOnce).await?;
        // Gone without DISCONNECT: the session stays, as for a device that never returns.
        drop(c);
        Ok(())
    })
    .await?;
    let setup = t0.elapsed();
    let total = sys_value(
        addr,
        "$SYS/broker/clients/total",
        |v| v >= n as u64,
        deadline,
    )
    .await
    .context("waiting for $SYS/broker/clients/total to count every session")?;
    let loaded = broker.mem()?;
    broker.check_alive()?;
    Ok(AttackOutcome {
        state: State::Abandoned,
        clients: n,
        before,
        loaded,
        after: None,
        setup,
        check: format!("$SYS/broker/clients/total = {total}"),
    })
}

/// Subscribes to a numeric `$SYS` topic and returns the first value `want` accepts (both
/// brokers publish them retained, then every `sys_interval`, 10 s by default).
async fn sys_value(
    addr: SocketAddr,
    topic: &str,
    want: impl Fn(u64) -> bool,
    deadline: Instant,
) -> Result<u64> {
    let mut c = Conn::connect(addr, "lg-sys-monitor").await?;
    c.subscribe(topic, QoS::AtMostOnce).await?;
    let cfg = DecodeConfig::default();
    loop {
        while let Some(p) = decode(&mut c.buf, &cfg)? {
            if let Packet::Publish(p) = p {
                let text = String::from_utf8_lossy(&p.payload);
                let v: u64 = text
                    .trim()
                    .parse()
                    .with_context(|| format!("{topic} = {text:?}"))?;
                if want(v) {
                    return Ok(v);
                }
            }
        }
        c.buf.reserve(1024);
        match timeout_at(deadline, c.stream.read_buf(&mut c.buf)).await {
            Err(_) => bail!("{topic} did not reach the expected value in time"),
            Ok(Ok(0)) => bail!("the broker closed the $SYS monitor"),
            Ok(r) => {
                r?;
            }
        }
    }
}
