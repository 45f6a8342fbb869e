//! Memory scenarios: many idle connections (broker RSS per connection), and overload (a
//! subscriber that never reads while publishers flood: the broker's memory must stay
//! bounded and it must keep serving other clients).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use tern_codec::QoS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

use crate::broker::{Broker, Mem};
use crate::client::{Conn, PUBLISH, Template, scan};
use crate::flow::Flow;
use crate::traffic::{PubPlan, publisher};

/// Connections opened concurrently by the idle scenario.
const CONNECTORS: usize = 64;
/// After the last CONNACK, time for the broker to finish per-connection work (buffers it
/// releases once a client goes quiet) before RSS is read. Nothing signals "settled", so
/// this one is a plain wait.
const SETTLE: Duration = Duration::from_secs(1);
/// QoS 1 PUBLISH packets in flight per flooding publisher.
const FLOOD_WINDOW: usize = 64;
/// Bound on the probe round trip after the flood.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct IdleOutcome {
    pub connections: usize,
    pub before: Mem,
    pub after: Mem,
    pub connect_time: Duration,
    pub broker_cpu: Duration,
}

impl IdleOutcome {
    /// RSS growth per connection, in bytes.
    pub fn bytes_per_connection(&self) -> f64 {
        let delta = self.after.rss_kib as f64 - self.before.rss_kib as f64;
        delta * 1024.0 / self.connections.max(1) as f64
    }
}

/// Opens `n` connections (CONNECT/CONNACK each), reads the broker's RSS, then checks that
/// every one of them still answers a PINGREQ.
pub async fn idle(broker: &mut Broker, n: usize, limit: Duration) -> Result<IdleOutcome> {
    let addr = broker.addr;
    // One connection first, so that one-time costs (the first session, accept buffers)
    // are in the baseline rather than spread over the measured ones.
    let warm = Conn::connect(addr, "lg-idle-warm").await?;
    let before = broker.mem()?;
    let cpu0 = broker.cpu()?;
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let workers = CONNECTORS.min(n).max(1);
    let mut set = JoinSet::new();
    for w in 0..workers {
        set.spawn(async move {
            let mut mine = Vec::with_capacity(n / workers + 1);
            for i in (w..n).step_by(workers) {
                mine.push(Conn::connect(addr, &format!("lg-idle-{i}")).await?.stream);
            }
            Ok::<_, anyhow::Error>(mine)
        });
    }
    let mut conns: Vec<TcpStream> = Vec::with_capacity(n);
    let all = timeout_at(deadline, async {
        while let Some(r) = set.join_next().await {
            conns.extend(r??);
        }
        Ok::<_, anyhow::Error>(())
    });
    all.await
        .with_context(|| format!("{n} connections not open within {limit:?}"))??;
    let connect_time = t0.elapsed();
    let broker_cpu = broker.cpu()?.saturating_sub(cpu0);
    tokio::time::sleep(SETTLE).await;
    let after = broker.mem()?;
    broker.check_alive()?;

    // Every connection must still be served: PINGREQ to all, then a PINGRESP from each.
    timeout_at(deadline + PROBE_TIMEOUT, async {
        for s in &mut conns {
            s.write_all(&[0xC0, 0x00]).await?;
        }
        for (i, s) in conns.iter_mut().enumerate() {
            let mut resp = [0u8; 2];
            s.read_exact(&mut resp)
                .await
                .with_context(|| format!("idle connection {i} closed"))?;
            ensure!(
                resp == [0xD0, 0x00],
                "connection {i}: {resp:?}, not PINGRESP"
            );
        }
        Ok(())
    })
    .await
    .context("PINGREQ sweep over the idle connections timed out")??;
    drop(warm);
    Ok(IdleOutcome {
        connections: conns.len(),
        before,
        after,
        connect_time,
        broker_cpu,
    })
}

#[derive(Debug, Clone, Copy)]
pub struct OverloadOutcome {
    pub qos: QoS,
    /// Messages the broker took from the publishers (QoS 0: written, QoS 1: acknowledged).
    pub accepted: u64,
    pub duration: Duration,
    pub before: Mem,
    /// `rss_kib` at the end of the flood; `hwm_kib` = peak of the whole run.
    pub end: Mem,
    pub broker_cpu: Duration,
    /// A new client's SUBSCRIBE + PUBLISH round trip right after the flood.
    pub probe: Duration,
}

/// Floods `flood/<i>` from `publishers` connections for `duration` while the only
/// subscriber (`flood/#`) never reads.
pub async fn overload(
    broker: &mut Broker,
    publishers: usize,
    payload: usize,
    qos: QoS,
    duration: Duration,
) -> Result<OverloadOutcome> {
    let addr = broker.addr;
    let mut stuck = Conn::connect(addr, "lg-flood-sub").await?;
    stuck.subscribe("flood/#", qos).await?;
    // From here on `stuck` is never read: whatever the broker keeps for it must be bounded.
    let mut pubs = Vec::with_capacity(publishers);
    for i in 0..publishers {
        pubs.push(Conn::connect(addr, &format!("lg-flood-pub-{i}")).await?);
    }
    let before = broker.mem()?;
    let cpu0 = broker.cpu()?;
    let t0 = Instant::now();
    let stop = t0 + duration;
    // Open loop: nothing paces the publishers but the broker itself.
    let flow = Arc::new(Flow::new(0, 0));
    let mut tasks = Vec::with_capacity(publishers);
    for (i, c) in pubs.into_iter().enumerate() {
        let plan = PubPlan {
            tpl: Template::new(&format!("flood/{i}"), payload, qos)?,
            qos,
            count: u64::MAX,
            window: FLOOD_WINDOW,
            flow: Arc::clone(&flow),
            deadline: stop,
            t0,
        };
        tasks.push(tokio::spawn(publisher(c, plan)));
    }
    let mut accepted = 0;
    for t in tasks {
        let o = t.await??;
        accepted += if qos == QoS::AtMostOnce {
            o.sent
        } else {
            o.acked
        };
    }
    let duration = t0.elapsed();
    let broker_cpu = broker.cpu()?.saturating_sub(cpu0);
    let end = broker.mem()?;
    broker.check_alive()?;
    let probe = probe(broker).await?;
    drop(stuck);
    Ok(OverloadOutcome {
        qos,
        accepted,
        duration,
        before,
        end,
        broker_cpu,
        probe,
    })
}

/// A fresh client subscribes and gets its own message back: the broker still serves.
async fn probe(broker: &Broker) -> Result<Duration> {
    let t0 = Instant::now();
    let deadline = t0 + PROBE_TIMEOUT;
    let mut c = Conn::connect(broker.addr, "lg-probe").await?;
    c.subscribe("probe/echo", QoS::AtMostOnce).await?;
    let mut out = bytes::BytesMut::new();
    Template::new("probe/echo", 8, QoS::AtMostOnce)?.put(&mut out, 0);
    c.stream.write_all(&out).await?;
    loop {
        let mut got = false;
        let used = scan(&c.buf, |first, _| {
            got |= first >> 4 == PUBLISH;
            Ok(())
        })?;
        if got {
            return Ok(t0.elapsed());
        }
        let _ = c.buf.split_to(used);
        c.buf.reserve(1024);
        match timeout_at(deadline, c.stream.read_buf(&mut c.buf)).await {
            Ok(Ok(0)) => bail!("the broker closed the probe connection"),
            Ok(r) => {
                r?;
            }
            Err(_) => bail!("probe message not delivered within {PROBE_TIMEOUT:?}"),
        }
    }
}
