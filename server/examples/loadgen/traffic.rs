//! Message scenarios: P publishers → S subscribers through the broker, every subscriber
//! receiving every message. Fan-in: publisher i sends to `bench/in/i`, one subscriber on
//! the wildcard `bench/in/+`; fan-out: one topic `bench/out`, every subscriber on it.
//! Publishers are paced by [`Flow`] (see `flow.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use bytes::{Buf, BytesMut};
use tern_codec::QoS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Mem, cpu_of};
use crate::client::{Conn, PUBACK, PUBLISH, Template, next_pid, publish_parts, put_puback, scan};
use crate::flow::Flow;

/// Space offered to each socket read on the receive paths.
const READ_CHUNK: usize = 64 * 1024;
/// Most PUBLISH packets copied into one write.
const BATCH: u64 = 64;
/// A subscriber that hears nothing for this long after the publishers finished is done
/// (the rest was dropped by the broker).
const IDLE_AFTER_DONE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    FanIn,
    FanOut,
}

impl Shape {
    fn topic(self, publisher: usize) -> String {
        match self {
            Shape::FanIn => format!("bench/in/{publisher}"),
            Shape::FanOut => "bench/out".to_owned(),
        }
    }

    fn filter(self) -> &'static str {
        match self {
            Shape::FanIn => "bench/in/+",
            Shape::FanOut => "bench/out",
        }
    }
}

/// One message scenario.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub shape: Shape,
    pub publishers: usize,
    pub subscribers: usize,
    /// Messages published in total (each subscriber should receive all of them).
    pub messages: u64,
    pub qos: QoS,
    pub payload: usize,
    /// QoS 1: PUBLISH packets in flight (not yet PUBACKed) per publisher.
    pub window: usize,
    /// Flow control bound (see the module docs); 0 = open loop.
    pub ahead: u64,
    /// Subscribers keep persistent sessions (Clean Session 0): with persistence on, their
    /// QoS 1 messages are stored before the publisher's PUBACK.
    pub persistent: bool,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Messages delivered to subscribers, summed over subscribers.
    pub delivered: u64,
    /// `messages × subscribers`.
    pub expected: u64,
    /// From the first PUBLISH written to the last delivery (QoS 1: or the last PUBACK).
    pub elapsed: Duration,
    pub broker_cpu: Duration,
    pub loadgen_cpu: Duration,
    /// Broker memory at the end of the run (VmHWM = peak of the run: fresh broker).
    pub mem: Mem,
    pub timed_out: bool,
    pub stalls: u64,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Broker CPU seconds per million delivered messages.
    pub fn cpu_per_million(&self) -> f64 {
        self.broker_cpu.as_secs_f64() * 1e6 / (self.delivered.max(1) as f64)
    }
}

/// What one publisher did.
#[derive(Debug, Clone, Copy, Default)]
pub struct PubOutcome {
    /// PUBLISH packets written.
    pub sent: u64,
    /// PUBACKs received (QoS 1).
    pub acked: u64,
    /// Since the start, when the last PUBACK arrived.
    pub last_ack: Option<Duration>,
    pub timed_out: bool,
}

/// What one publisher is to do.
pub struct PubPlan {
    pub tpl: Template,
    pub qos: QoS,
    /// Messages to publish (`u64::MAX`: until the deadline).
    pub count: u64,
    /// QoS 1: most PUBLISH packets not yet acknowledged.
    pub window: usize,
    pub flow: Arc<Flow>,
    pub deadline: Instant,
    /// Start of the run (times are reported relative to it).
    pub t0: Instant,
}

/// Publishes `count` copies of `tpl` (stopping at `deadline`); at QoS 1 with at most
/// `window` unacknowledged, returning once every PUBLISH written is acknowledged.
pub async fn publisher(conn: Conn, plan: PubPlan) -> Result<PubOutcome> {
    let PubPlan {
        tpl,
        qos,
        count,
        window,
        flow,
        deadline,
        t0,
    } = plan;
    let (rd, mut wr) = conn.stream.into_split();
    let sem = Arc::new(Semaphore::new(window.max(1)));
    let stop = CancellationToken::new();
    let acks = (qos == QoS::AtLeastOnce).then(|| {
        let (sem, stop) = (Arc::clone(&sem), stop.clone());
        tokio::spawn(ack_reader(rd, conn.buf, sem, stop, deadline, t0))
    });
    let mut out = BytesMut::with_capacity(BATCH as usize * tpl.len());
    let mut outcome = PubOutcome::default();
    let mut pid = 0;
    while outcome.sent < count {
        let mut n = (count - outcome.sent).min(BATCH);
        if acks.is_some() {
            n = n.min(sem.available_permits().max(1) as u64);
            match timeout_at(deadline, sem.acquire_many(n as u32)).await {
                Ok(Ok(permits)) => permits.forget(),
                _ => break,
            }
        }
        if !flow.admit(n, deadline).await {
            break;
        }
        out.clear();
        for _ in 0..n {
            pid = next_pid(pid);
            tpl.put(&mut out, pid);
        }
        match timeout_at(deadline, wr.write_all(&out)).await {
            Ok(r) => r?,
            Err(_) => break,
        }
        outcome.sent += n;
    }
    outcome.timed_out = outcome.sent < count;
    if let Some(acks) = acks {
        // Every PUBLISH written is acknowledged when `window` permits are back.
        let all_back = timeout_at(deadline, sem.acquire_many(window.max(1) as u32)).await;
        outcome.timed_out |= !matches!(all_back, Ok(Ok(_)));
        stop.cancel();
        let (acked, last) = acks.await??;
        outcome.acked = acked;
        outcome.last_ack = last;
    }
    // Keep the write half (and so the connection) open until the acks are in.
    drop(wr);
    Ok(outcome)
}

/// Reads PUBACKs, handing their window slots back, until the publisher says stop (after
/// every slot came back) or the deadline.
async fn ack_reader(
    mut rd: OwnedReadHalf,
    mut buf: BytesMut,
    sem: Arc<Semaphore>,
    stop: CancellationToken,
    deadline: Instant,
    t0: Instant,
) -> Result<(u64, Option<Duration>)> {
    let mut acked = 0;
    let mut last = None;
    loop {
        let mut n = 0;
        let used = scan(&buf, |first, _| {
            if first >> 4 == PUBACK {
                n += 1;
            }
            Ok(())
        })?;
        buf.advance(used);
        if n > 0 {
            acked += n;
            last = Some(t0.elapsed());
            sem.add_permits(n as usize);
        }
        buf.reserve(READ_CHUNK / 4);
        tokio::select! {
            () = stop.cancelled() => return Ok((acked, last)),
            () = tokio::time::sleep_until(deadline) => return Ok((acked, last)),
            r = rd.read_buf(&mut buf) => if r? == 0 {
                bail!("the broker closed a publisher's connection");
            },
        }
    }
}

/// What one subscriber got.
#[derive(Debug, Clone, Copy, Default)]
struct SubOutcome {
    received: u64,
    last: Option<Duration>,
    timed_out: bool,
}

/// Counts PUBLISH packets (checking their payload length) and PUBACKs QoS 1 ones at once.
async fn subscriber(
    mut conn: Conn,
    idx: usize,
    expected: u64,
    payload: usize,
    flow: Arc<Flow>,
    deadline: Instant,
    t0: Instant,
) -> Result<SubOutcome> {
    let mut out = SubOutcome::default();
    let mut acks = BytesMut::new();
    let mut buf = std::mem::take(&mut conn.buf);
    loop {
        let mut n = 0;
        let used = scan(&buf, |first, body| {
            if first >> 4 == PUBLISH {
                let (pid, len) = publish_parts(first, body)?;
                ensure!(
                    len == payload,
                    "PUBLISH with {len} payload bytes, sent {payload}"
                );
                if let Some(pid) = pid {
                    put_puback(&mut acks, pid);
                }
                n += 1;
            }
            Ok(())
        })?;
        buf.advance(used);
        if n > 0 {
            out.received += n;
            out.last = Some(t0.elapsed());
            flow.on_received(idx, n);
        }
        if !acks.is_empty() {
            match timeout_at(deadline, conn.stream.write_all(&acks)).await {
                Ok(r) => r?,
                Err(_) => out.timed_out = true,
            }
            acks.clear();
        }
        if out.received >= expected || out.timed_out {
            return Ok(out);
        }
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let idle = (Instant::now() + IDLE_AFTER_DONE).min(deadline);
        tokio::select! {
            r = conn.stream.read_buf(&mut buf) => if r? == 0 {
                bail!("the broker closed subscriber {idx}'s connection");
            },
            () = tokio::time::sleep_until(idle) => {
                if Instant::now() >= deadline {
                    out.timed_out = true;
                    return Ok(out);
                }
                if flow.publishers_done.load(Relaxed) {
                    return Ok(out);
                }
            }
        }
    }
}

/// Runs one scenario against a fresh broker.
pub async fn run(broker: &mut Broker, t: &Traffic, limit: Duration) -> Result<Outcome> {
    let addr = broker.addr;
    let mut subs = Vec::with_capacity(t.subscribers);
    for i in 0..t.subscribers {
        let mut c = Conn::connect_with(addr, &format!("lg-sub-{i}"), !t.persistent).await?;
        c.subscribe(t.shape.filter(), t.qos).await?;
        subs.push(c);
    }
    let mut pubs = Vec::with_capacity(t.publishers);
    for i in 0..t.publishers {
        pubs.push(Conn::connect(addr, &format!("lg-pub-{i}")).await?);
    }
    let flow = Arc::new(Flow::new(t.subscribers, t.ahead));
    let (cpu0, self0) = (broker.cpu()?, cpu_of("self")?);
    let t0 = Instant::now();
    let deadline = t0 + limit;

    let sub_tasks: Vec<_> = subs
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let f = Arc::clone(&flow);
            tokio::spawn(subscriber(c, i, t.messages, t.payload, f, deadline, t0))
        })
        .collect();
    let p = t.publishers as u64;
    let mut pub_tasks = Vec::with_capacity(t.publishers);
    for (i, c) in pubs.into_iter().enumerate() {
        let count = t.messages / p + u64::from((i as u64) < t.messages % p);
        let plan = PubPlan {
            tpl: Template::new(&t.shape.topic(i), t.payload, t.qos)?,
            qos: t.qos,
            count,
            window: t.window,
            flow: Arc::clone(&flow),
            deadline,
            t0,
        };
        pub_tasks.push(tokio::spawn(publisher(c, plan)));
    }

    let mut end = Duration::ZERO;
    let mut timed_out = false;
    for task in pub_tasks {
        let o = task.await??;
        end = end.max(o.last_ack.unwrap_or_default());
        timed_out |= o.timed_out;
    }
    flow.publishers_done.store(true, Relaxed);
    let mut delivered = 0;
    for task in sub_tasks {
        let o = task.await??;
        delivered += o.received;
        end = end.max(o.last.unwrap_or_default());
        timed_out |= o.timed_out;
    }
    let broker_cpu = broker.cpu()?.saturating_sub(cpu0);
    let loadgen_cpu = cpu_of("self")?.saturating_sub(self0);
    broker.check_alive()?;
    Ok(Outcome {
        delivered,
        expected: t.messages * t.subscribers as u64,
        elapsed: if end.is_zero() { t0.elapsed() } else { end },
        broker_cpu,
        loadgen_cpu,
        mem: broker.mem()?,
        timed_out,
        stalls: flow.stalls.load(Relaxed),
    })
}
