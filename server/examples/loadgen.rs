//! Broker load generator: measures `tern` and Mosquitto side by side in one run, on
//! 127.0.0.1 only, with a fresh broker process per measured run.
//!
//! ```text
//! cargo build --release -p tern-server --bin tern
//! cargo run --release -p tern-server --example loadgen -- [--runs 3] [--scenarios fan-in,idle]
//! ```
//!
//! Scenarios: `fan-in` (QoS 0, N publishers → 1 wildcard subscriber), `qos1` (the same at
//! QoS 1 with PUBACKs both ways), `fan-out` (1 publisher → 50 subscribers), `idle` (5,000
//! connected clients, RSS per connection), `overload` (a subscriber that never reads while
//! publishers flood, at QoS 0 and 1), and the memory-under-attack states `never-connect`
//! (10,000 sockets that never send CONNECT), `slow-consumers` (10,000 subscribers that
//! never read, queues filled) and `abandoned` (100,000 persistent sessions left behind),
//! together `--scenarios attack`. Per run it reads the broker's CPU time (utime + stime)
//! and memory (VmRSS, VmHWM) from /proc and prints Markdown tables on stdout; progress goes
//! to stderr. Every wait is bounded and the tool exits by itself.
//!
//! The generator runs on one thread (a current-thread runtime) so that on a 2-core machine
//! it takes at most one core; its own CPU time is reported next to the broker's.
//!
//! Modules (in `loadgen/`, one concept each): `broker` (processes, /proc figures), `client`
//! (handshakes via tern-codec, PUBLISH template, frame scanner), `flow` (publisher
//! pacing), `traffic` (message scenarios), `capacity` (idle connections, overload),
//! `attack` (memory under attack), `report` and `attack_report` (tables).

#[path = "loadgen/attack.rs"]
mod attack;
#[path = "loadgen/attack_report.rs"]
mod attack_report;
#[path = "loadgen/broker.rs"]
mod broker;
#[path = "loadgen/capacity.rs"]
mod capacity;
#[path = "loadgen/client.rs"]
mod client;
#[path = "loadgen/flow.rs"]
mod flow;
#[path = "loadgen/report.rs"]
mod report;
#[path = "loadgen/traffic.rs"]
mod traffic;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use tern_codec::QoS;

use attack::{AttackOpts, State};
use broker::{Broker, Kind, Paths};
use report::Report;
use traffic::{Shape, Traffic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    FanIn,
    Qos1,
    FanOut,
    /// Fan-out at QoS 1 (1 publisher, --fanout-subscribers, PUBACKs both ways).
    FanOutQos1,
    Idle,
    Overload,
    /// The three memory-under-attack states below, in this order.
    Attack,
    NeverConnect,
    SlowConsumers,
    Abandoned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BrokerArg {
    Tern,
    Mosquitto,
}

/// Load generator: tern vs Mosquitto on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Cli {
    /// Scenarios to run, in this order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fan-in,qos1,fan-out,idle,overload"
    )]
    scenarios: Vec<Scenario>,
    /// Brokers to measure (each run alternates which one goes first).
    #[arg(long, value_delimiter = ',', default_value = "tern,mosquitto")]
    brokers: Vec<BrokerArg>,
    /// Runs per scenario and broker; with more than one, medians are printed too.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// The tern release binary [default: `tern` next to this example's directory].
    #[arg(long)]
    tern: Option<PathBuf>,
    /// The Mosquitto broker binary.
    #[arg(long, default_value = "/usr/sbin/mosquitto")]
    mosquitto: PathBuf,
    /// Extra line for the generated mosquitto.conf (repeatable), e.g. "set_tcp_nodelay true".
    #[arg(long = "mosquitto-conf", value_name = "LINE")]
    mosquitto_conf: Vec<String>,
    /// Line of a TOML config file for tern (repeatable), e.g. "max_connections = 20000";
    /// without any, tern runs with its defaults.
    #[arg(long = "tern-conf", value_name = "LINE")]
    tern_conf: Vec<String>,
    /// Subscribers keep persistent sessions (Clean Session 0), so a broker with persistence
    /// must store their QoS 1 messages (persistence benchmark; `{dir}` in --tern-conf and
    /// --mosquitto-conf lines is the broker's own fresh directory).
    #[arg(long)]
    persistent_subscribers: bool,
    /// Fan-in: messages published in total (QoS 0).
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Fan-in / QoS 1: publisher connections.
    #[arg(long, default_value_t = 8)]
    publishers: usize,
    /// Payload bytes of every message (except overload).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// QoS 1 fan-in: messages published in total.
    #[arg(long, default_value_t = 200_000)]
    qos1_messages: u64,
    /// QoS 1: PUBLISH packets in flight per publisher.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Fan-out: subscribers of the one topic.
    #[arg(long, default_value_t = 50)]
    fanout_subscribers: usize,
    /// Fan-out: messages published (each delivered to every subscriber).
    #[arg(long, default_value_t = 20_000)]
    fanout_messages: u64,
    /// Flow control: most messages on their way to the slowest subscriber. 0 = open loop
    /// (publishers send as fast as the broker reads; a broker may then drop messages beyond
    /// its queue limit, shown as delivered < expected). Below 1000 (both brokers'
    /// max_queued_messages) no drops are possible.
    #[arg(long, default_value_t = 0)]
    ahead: u64,
    /// Flow control for the QoS 1 round trip (see --ahead). On by default: both brokers
    /// PUBACK a publisher on receipt, so the subscriber's queue is not bounded by the
    /// publishers' windows, and Mosquitto 2.0.11 was seen dropping QoS 1 messages to a
    /// connected subscriber ("Outgoing messages are being dropped") with 200 outstanding,
    /// well below max_queued_messages; with 100 it delivers all.
    #[arg(long, default_value_t = 100)]
    qos1_ahead: u64,
    /// Idle scenario: connections to open.
    #[arg(long, default_value_t = 5000)]
    idle_connections: usize,
    /// Overload: flooding publishers.
    #[arg(long, default_value_t = 4)]
    overload_publishers: usize,
    /// Overload: payload bytes.
    #[arg(long, default_value_t = 1024)]
    overload_payload: usize,
    /// Overload: seconds of flooding.
    #[arg(long, default_value_t = 10)]
    overload_secs: u64,
    /// Overload: QoS levels to flood with.
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    overload_qos: Vec<u8>,
    /// never-connect: sockets opened that never send CONNECT.
    #[arg(long, default_value_t = 10_000)]
    never_connect: usize,
    /// never-connect: how long to watch for the broker to close them, in seconds (tern's
    /// default connect_timeout is 10 s).
    #[arg(long, default_value_t = 30)]
    close_wait: u64,
    /// slow-consumers: subscribers of `slow/all` that never read.
    #[arg(long, default_value_t = 10_000)]
    slow_consumers: usize,
    /// slow-consumers: QoS 1 messages published to `slow/all` (default: enough to fill
    /// max_queued_messages 1000 + max_inflight_messages 20 of both brokers, plus 80).
    #[arg(long, default_value_t = 1100)]
    slow_messages: u64,
    /// slow-consumers: publishers (tern pauses each for up to 500 ms per message once
    /// the subscribers are congested, so more publishers fill the queues sooner).
    #[arg(long, default_value_t = 32)]
    slow_publishers: usize,
    /// slow-consumers: payload bytes.
    #[arg(long, default_value_t = 64)]
    slow_payload: usize,
    /// abandoned: persistent sessions left behind.
    #[arg(long, default_value_t = 100_000)]
    abandoned: usize,
    /// Upper bound on one measured run, in seconds (the attack scenarios get 5 times this).
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.runs == 0 || cli.publishers == 0 || cli.fanout_subscribers == 0 {
        bail!("--runs, --publishers and --fanout-subscribers must be at least 1");
    }
    let mut need = 0;
    if cli.scenarios.contains(&Scenario::Idle) {
        need = cli.idle_connections;
    }
    if cli.scenarios.iter().any(|s| {
        matches!(
            s,
            Scenario::Attack | Scenario::NeverConnect | Scenario::SlowConsumers
        )
    }) {
        need = need.max(cli.never_connect).max(cli.slow_consumers);
    }
    if need > 0 {
        // Ours and the broker's (inherited) descriptor limit must hold every connection.
        raise_nofile(need as u64 + 256)?;
    }
    let paths = Paths {
        tern: match &cli.tern {
            Some(p) => p.clone(),
            None => default_tern()?,
        },
        mosquitto: cli.mosquitto.clone(),
        mosquitto_conf: cli.mosquitto_conf.clone(),
        tern_conf: cli.tern_conf.clone(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let before = environment(&paths);
    let report = rt.block_on(run_all(&cli, &paths))?;
    println!("{before}load average at the end: {}\n", loadavg());
    println!("{}", report.markdown(cli.runs));
    Ok(())
}

/// The first line of a command's output, or "?" (for the report header only).
fn first_line(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("?")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// Report header: when, where, what was measured, and how busy the machine was.
fn environment(paths: &Paths) -> String {
    let tern_built = std::fs::metadata(&paths.tern)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| {
            first_line(
                "date",
                &["-u", "-d", &format!("@{}", d.as_secs()), "+%F %T UTC"],
            )
        })
        .unwrap_or_else(|| "?".to_owned());
    format!(
        "{} on {} CPUs, Linux {}; tern {} (built {tern_built}); {}\nload average at the start: {}\n",
        first_line("date", &["-u", "+%F %T UTC"]),
        first_line("nproc", &[]),
        first_line("uname", &["-r"]),
        paths.tern.display(),
        first_line(&paths.mosquitto.to_string_lossy(), &["-h"]),
        loadavg(),
    )
}

/// `target/<profile>/examples/loadgen` → `target/<profile>/tern`.
fn default_tern() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .context("cannot locate the target directory")?;
    Ok(profile_dir.join("tern"))
}

/// One measured unit: a scenario (an overload per QoS level), run on a fresh broker.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Scenario(Scenario),
    Overload(QoS),
    Attack(State),
}

fn units(cli: &Cli) -> Result<Vec<Unit>> {
    let mut out = Vec::new();
    for &s in &cli.scenarios {
        let states: &[State] = match s {
            Scenario::Attack => &[State::NeverConnect, State::SlowConsumers, State::Abandoned],
            Scenario::NeverConnect => &[State::NeverConnect],
            Scenario::SlowConsumers => &[State::SlowConsumers],
            Scenario::Abandoned => &[State::Abandoned],
            _ => &[],
        };
        if !states.is_empty() {
            out.extend(states.iter().map(|&st| Unit::Attack(st)));
            continue;
        }
        if s != Scenario::Overload {
            out.push(Unit::Scenario(s));
            continue;
        }
        for &q in &cli.overload_qos {
            match QoS::try_from(q) {
                Ok(qos @ (QoS::AtMostOnce | QoS::AtLeastOnce)) => out.push(Unit::Overload(qos)),
                _ => bail!("--overload-qos takes 0 and/or 1, not {q}"),
            }
        }
    }
    Ok(out)
}

async fn run_all(cli: &Cli, paths: &Paths) -> Result<Report> {
    let mut report = Report::default();
    let limit = Duration::from_secs(cli.timeout);
    let kinds: Vec<Kind> = cli
        .brokers
        .iter()
        .map(|b| match b {
            BrokerArg::Tern => Kind::Tern,
            BrokerArg::Mosquitto => Kind::Mosquitto,
        })
        .collect();
    let units = units(cli)?;
    for run in 1..=cli.runs {
        for &unit in &units {
            // Alternate who goes first, so that neither always gets the cooler machine.
            let mut order = kinds.clone();
            if run % 2 == 0 {
                order.reverse();
            }
            for &kind in &order {
                // A fresh broker per measured run: VmHWM is this run's peak, and no state
                // (sessions, allocator caches) carries over.
                let mut b = Broker::start(kind, paths).await?;
                let r = measure(cli, unit, run, &mut b, limit, &mut report).await;
                let tail = b.log_tail();
                b.stop().await?;
                r.with_context(|| format!("{unit:?} on {kind}, run {run}{tail}"))?;
            }
        }
    }
    Ok(report)
}

async fn measure(
    cli: &Cli,
    unit: Unit,
    run: usize,
    b: &mut Broker,
    limit: Duration,
    report: &mut Report,
) -> Result<()> {
    let kind = b.kind;
    let traffic = |shape, publishers, subscribers, messages, qos| Traffic {
        shape,
        publishers,
        subscribers,
        messages,
        qos,
        payload: cli.payload,
        window: cli.window,
        ahead: match qos {
            QoS::AtMostOnce => cli.ahead,
            _ => cli.qos1_ahead,
        },
        persistent: cli.persistent_subscribers,
    };
    let (label, t) = match unit {
        Unit::Scenario(Scenario::FanIn) => (
            format!("fan-in QoS 0, {}→1", cli.publishers),
            traffic(
                Shape::FanIn,
                cli.publishers,
                1,
                cli.messages,
                QoS::AtMostOnce,
            ),
        ),
        Unit::Scenario(Scenario::Qos1) => (
            format!("fan-in QoS 1, {}→1", cli.publishers),
            traffic(
                Shape::FanIn,
                cli.publishers,
                1,
                cli.qos1_messages,
                QoS::AtLeastOnce,
            ),
        ),
        Unit::Scenario(Scenario::FanOut) => (
            format!("fan-out QoS 0, 1→{}", cli.fanout_subscribers),
            traffic(
                Shape::FanOut,
                1,
                cli.fanout_subscribers,
                cli.fanout_messages,
                QoS::AtMostOnce,
            ),
        ),
        Unit::Scenario(Scenario::FanOutQos1) => (
            format!("fan-out QoS 1, 1→{}", cli.fanout_subscribers),
            traffic(
                Shape::FanOut,
                1,
                cli.fanout_subscribers,
                cli.fanout_messages,
                QoS::AtLeastOnce,
            ),
        ),
        Unit::Scenario(Scenario::Idle) => {
            let o = capacity::idle(b, cli.idle_connections, limit).await?;
            eprintln!(
                "[idle] {kind} run {run}: {} connections, {:.0} B/connection",
                o.connections,
                o.bytes_per_connection()
            );
            report.idle.push((kind, run, o));
            return Ok(());
        }
        Unit::Scenario(
            Scenario::Overload
            | Scenario::Attack
            | Scenario::NeverConnect
            | Scenario::SlowConsumers
            | Scenario::Abandoned,
        ) => bail!("expanded into units"),
        Unit::Attack(state) => {
            let opts = AttackOpts {
                never_connect: cli.never_connect,
                close_wait: Duration::from_secs(cli.close_wait),
                slow_consumers: cli.slow_consumers,
                slow_messages: cli.slow_messages,
                slow_publishers: cli.slow_publishers,
                slow_payload: cli.slow_payload,
                abandoned: cli.abandoned,
            };
            let o = attack::run(state, b, &opts, limit * 5).await?;
            eprintln!(
                "[{}] {kind} run {run}: {} clients, RSS {} KiB ({:.0} B/client); {}",
                state.label(),
                o.clients,
                o.loaded.rss_kib,
                o.bytes_per_client(),
                o.check
            );
            report.attack.push((kind, run, o));
            return Ok(());
        }
        Unit::Overload(qos) => {
            let secs = Duration::from_secs(cli.overload_secs);
            let (n, payload) = (cli.overload_publishers, cli.overload_payload);
            let o = capacity::overload(b, n, payload, qos, secs).await?;
            eprintln!(
                "[overload QoS {}] {kind} run {run}: {} msgs accepted, peak RSS {} KiB",
                u8::from(qos),
                o.accepted,
                o.end.hwm_kib
            );
            report.overload.push((kind, run, o));
            return Ok(());
        }
    };
    let o = traffic::run(b, &t, limit).await?;
    eprintln!(
        "[{label}] {kind} run {run}: {}/{} delivered, {:.0} msg/s, {:.2} CPU-s/M, loadgen {:.2} CPU-s",
        o.delivered,
        o.expected,
        o.rate(),
        o.cpu_per_million(),
        o.loadgen_cpu.as_secs_f64()
    );
    report.traffic.push((label, kind, run, o));
    Ok(())
}

/// Raises this process's soft RLIMIT_NOFILE (inherited by the brokers it starts) to at
/// least `need`, with util-linux `prlimit` (the workspace forbids `unsafe`, so no setrlimit).
fn raise_nofile(need: u64) -> Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .context("no 'Max open files' in /proc/self/limits")?;
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| match w {
            "unlimited" => Some(u64::MAX),
            w => w.parse().ok(),
        })
        .collect();
    let [soft, hard] = nums[..] else {
        bail!("cannot parse {line:?}");
    };
    if soft >= need {
        return Ok(());
    }
    if hard < need {
        bail!("open-file limit {hard} is below {need}: run `ulimit -n {need}` as root first");
    }
    let target = need.max(soft).to_string();
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={target}:{hard}"))
        .status()
        .context("running prlimit (util-linux) to raise the open-file limit")?;
    if !status.success() {
        bail!("prlimit failed ({status}): run `ulimit -n {need}` first");
    }
    Ok(())
}
