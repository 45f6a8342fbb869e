//! Socket-level fuzzer (issue 10, item 5): many concurrent clients over TCP and WebSocket
//! drive the real `tern` binary with random valid and invalid packet sequences — MQTT 3.1,
//! 3.1.1 and 5.0, wildcards and `$` topics, QoS 1 and 2 flows left half done, 60,000-level
//! and 60,000-byte topics, payloads over `max_packet_size`, declared lengths of 256 MiB,
//! takeovers of one client id, corrupted CONNECTs, sockets that never send CONNECT, silent
//! clients and abrupt closes — for a bounded time. Along the way every byte the broker sends
//! must decode and respect the client's limits. At the end the broker must still run,
//! answer a QoS 1 round trip, hold exactly the sessions, subscriptions and queued messages
//! that remain after every fuzz client id is cleaned up (read from `$SYS`), and exit 0 on
//! SIGTERM.
//!
//! ```text
//! cargo test -p tern-server --test socket_fuzz -- --nocapture      # 30 s, fresh seed
//! TERN_FUZZ_SEED=123 cargo test -p tern-server --test socket_fuzz  # replay a seed
//! TERN_FUZZ_SECS=600 TERN_FUZZ_WORKERS=48 cargo test --release -p tern-server --test socket_fuzz
//! ```
//!
//! Settings (environment): `TERN_FUZZ_SEED` (decimal or 0x-hex; default: from the clock,
//! printed), `TERN_FUZZ_SECS` (default 30), `TERN_FUZZ_WORKERS` (concurrent clients,
//! default 24), `TERN_FUZZ_WS_PERCENT` (default 20), `TERN_FUZZ_TERN` (broker binary;
//! default the `tern` cargo built for this test). A seed fixes every packet each worker
//! sends, episode by episode; how the workers interleave is up to the scheduler.

mod checks;
mod conn;
mod episode;
mod packets;
mod rng;
mod session;

#[path = "../support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use conn::{Conn, ReadMode};
use rng::Rng;
use support::TernProcess;
use support::process::describe;

/// Findings kept (the first one stops the run).
const MAX_FINDINGS: usize = 10;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub struct Stats {
    pub episodes: Counter,
    pub connections: Counter,
    pub ws_connections: Counter,
    /// CONNECTs accepted (CONNACK success), and of those over WebSocket.
    pub sessions: Counter,
    pub ws_sessions: Counter,
    pub packets: Counter,
    pub takeovers: Counter,
    /// Answers the broker owed but did not give within the driver's patience (counted, not
    /// failed: a paced publisher may wait legitimately).
    pub unanswered: Counter,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} episodes, {} connections ({} WebSocket), {} sessions ({} WebSocket), \
             {} packets sent, {} takeovers, {} answers not within 10 s",
            self.episodes.get(),
            self.connections.get(),
            self.ws_connections.get(),
            self.sessions.get(),
            self.ws_sessions.get(),
            self.packets.get(),
            self.takeovers.get(),
            self.unanswered.get()
        )
    }
}

/// State shared by all workers.
pub struct Shared {
    pub addr: SocketAddr,
    pub ws_url: String,
    pub ws_percent: usize,
    pub connect_timeout: Duration,
    pub cancel: CancellationToken,
    pub stats: Stats,
    findings: Mutex<Vec<String>>,
    /// Client ids that may have a session when their connection is gone.
    ids: Mutex<BTreeSet<String>>,
}

impl Shared {
    /// Records a broken expectation and stops the run.
    pub fn finding(&self, what: String) {
        let mut f = self.findings.lock().unwrap_or_else(PoisonError::into_inner);
        if f.len() < MAX_FINDINGS {
            f.push(what);
        }
        self.cancel.cancel();
    }

    pub fn findings(&self) -> Vec<String> {
        self.findings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn may_have_session(&self, id: &str) {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
    }

    pub fn session_ids(&self) -> BTreeSet<String> {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A new connection (`None` if it could not be opened).
    pub async fn open(self: &Arc<Self>, mode: ReadMode, rng: &mut Rng, ws: bool) -> Option<Conn> {
        self.stats.connections.inc();
        if ws {
            self.stats.ws_connections.inc();
        }
        let url = ws.then_some(self.ws_url.as_str());
        Conn::open(self.addr, url, mode, self, rng.fork(0xC0))
            .await
            .ok()
    }
}

struct Settings {
    seed: u64,
    secs: u64,
    workers: u64,
    ws_percent: usize,
    binary: PathBuf,
}

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        }
    }
}

impl Settings {
    fn from_env() -> Settings {
        Settings {
            seed: env_num("TERN_FUZZ_SEED", rng::fresh_seed()),
            secs: env_num("TERN_FUZZ_SECS", 30),
            workers: env_num("TERN_FUZZ_WORKERS", 24).max(1),
            ws_percent: env_num("TERN_FUZZ_WS_PERCENT", 20).min(100) as usize,
            binary: std::env::var_os("TERN_FUZZ_TERN")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(support::TERN_BIN)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_survives_socket_fuzzing() {
    let s = Settings::from_env();
    let release = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    let replay = format!(
        "seed {0} (replay: TERN_FUZZ_SEED={0} TERN_FUZZ_SECS={1} TERN_FUZZ_WORKERS={2} \
         cargo test{release} -p tern-server --test socket_fuzz -- --nocapture)",
        s.seed, s.secs, s.workers
    );
    eprintln!(
        "socket fuzz: {replay}, {} s, {} workers, {}% WebSocket, broker {}",
        s.secs,
        s.workers,
        s.ws_percent,
        s.binary.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = start_broker(&s.binary, dir.path()).await;
    let shared = Arc::new(Shared {
        addr: broker.tcp,
        ws_url: format!("ws://{}/mqtt", broker.http),
        ws_percent: s.ws_percent,
        connect_timeout: tern_server::Config::default().connect_timeout,
        cancel: CancellationToken::new(),
        stats: Stats::default(),
        findings: Mutex::new(Vec::new()),
        ids: Mutex::new(BTreeSet::new()),
    });
    let root = Rng::new(s.seed);
    let mut workers = JoinSet::new();
    for w in 0..s.workers {
        workers.spawn(episode::run_worker(Arc::clone(&shared), root.fork(w)));
    }
    let fail = |what: String| -> ! {
        panic!(
            "{what}\n{replay}\n{}\nbroker peak RSS {:?} KiB{}",
            shared.stats,
            broker.peak_rss_kib(),
            broker.log_tail()
        )
    };
    // The time budget is what bounds the run; a finding or the broker's death ends it early.
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(s.secs)) => {}
        _ = shared.cancel.cancelled() => {}
        status = broker.wait_exit() => {
            fail(format!("tern died during the fuzz run: {}", describe(status)))
        }
    }
    shared.cancel.cancel();
    let joined = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(r) = workers.join_next().await {
            if let Err(e) = r {
                return Err(format!("a fuzz worker panicked: {e}"));
            }
        }
        Ok(())
    })
    .await;
    match joined {
        Err(_) => fail("fuzz workers did not stop within 30 s of the end".into()),
        Ok(Err(e)) => fail(e),
        Ok(Ok(())) => {}
    }
    if let Some(status) = broker.exited() {
        fail(format!(
            "tern died during the fuzz run: {}",
            describe(status)
        ));
    }
    let findings = shared.findings();
    if !findings.is_empty() {
        fail(format!("the fuzzer found:\n  {}", findings.join("\n  ")));
    }
    eprintln!("socket fuzz: {}", shared.stats);
    // In a task, so that a panic in a helper becomes a failure with the seed and log.
    match tokio::spawn(checks::after_run(broker.tcp, Arc::clone(&shared))).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => fail(e),
        Err(e) => fail(format!("end-of-run check panicked: {}", panic_text(e))),
    }
    let peak = broker.peak_rss_kib();
    // The broker shuts down gracefully within its `shutdown_timeout` (5 s by default).
    match broker.terminate(Duration::from_secs(20)).await {
        Some(status) if status.success() => {}
        Some(status) => fail(format!("tern exited with {} on SIGTERM", describe(status))),
        None => fail("tern did not exit within 20 s of SIGTERM".into()),
    }
    eprintln!("socket fuzz: passed; broker peak RSS {peak:?} KiB");
}

/// `binary` with the shipped defaults, except loopback port-0 listeners and `$SYS` every
/// second (the end-of-run checks read it); `dir` holds the config and the web root.
async fn start_broker(binary: &Path, dir: &Path) -> TernProcess {
    let config = dir.join("tern.toml");
    std::fs::write(
        &config,
        format!(
            "tcp = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\nweb_root = {dir:?}\nsys_interval = 1\n"
        ),
    )
    .expect("write config");
    std::fs::write(dir.join("index.html"), "<h1>fuzz</h1>").expect("index.html");
    let mut cmd = tokio::process::Command::new(binary);
    cmd.arg("--config").arg(&config).env("RUST_LOG", "warn");
    TernProcess::spawn(cmd).await
}

fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(no message)".into()),
        Err(e) => e.to_string(),
    }
}
