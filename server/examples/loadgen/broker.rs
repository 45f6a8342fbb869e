//! The brokers under test: `tern` from its release binary and Mosquitto with a generated
//! config, each started fresh on 127.0.0.1 for every measured run (so the kernel's peak-RSS
//! counter `VmHWM` is the peak of that run), and their CPU time and memory read from /proc.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long a broker may take to report that it listens.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a broker may take to exit after SIGTERM, and again after SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Log lines kept per broker, shown when something goes wrong.
const LOG_TAIL: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Tern,
    Mosquitto,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Tern => "tern",
            Kind::Mosquitto => "mosquitto",
        })
    }
}

/// Where the broker executables are.
#[derive(Debug, Clone)]
pub struct Paths {
    pub tern: PathBuf,
    pub mosquitto: PathBuf,
    /// Extra lines for the generated mosquitto.conf (default: none).
    pub mosquitto_conf: Vec<String>,
    /// Lines of a TOML config file for tern, passed with `--config` (default: none, so
    /// tern runs with its built-in defaults).
    pub tern_conf: Vec<String>,
}

/// A running broker child process; killed when dropped.
pub struct Broker {
    pub kind: Kind,
    pub addr: SocketAddr,
    pid: u32,
    child: Child,
    log: Arc<Mutex<VecDeque<String>>>,
    /// Holds the generated config file.
    _dir: Option<tempfile::TempDir>,
}

impl Broker {
    pub async fn start(kind: Kind, paths: &Paths) -> Result<Broker> {
        match kind {
            Kind::Tern => start_tern(paths).await,
            Kind::Mosquitto => {
                // The free port is found by binding and releasing it, so another process can
                // take it in between; that shows up as a failed start, so try a few ports.
                let mut last = None;
                for _ in 0..3 {
                    match start_mosquitto(paths).await {
                        Ok(b) => return Ok(b),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| anyhow!("mosquitto did not start")))
            }
        }
    }

    /// Broker CPU time so far (user + system, all threads).
    pub fn cpu(&self) -> Result<Duration> {
        cpu_of(&self.pid.to_string())
    }

    pub fn mem(&self) -> Result<Mem> {
        let path = format!("/proc/{}/status", self.pid);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        Mem::parse(&text).with_context(|| format!("parsing {path}"))
    }

    /// Open file descriptors of the broker (sockets included), from /proc/<pid>/fd.
    pub fn open_fds(&self) -> Result<usize> {
        let path = format!("/proc/{}/fd", self.pid);
        Ok(std::fs::read_dir(&path)
            .with_context(|| format!("reading {path}"))?
            .count())
    }

    /// Whether the process is still running (it must be, for its figures to mean anything).
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("{} exited with {status}{}", self.kind, self.log_tail()),
        }
    }

    /// The last log lines, for error messages.
    pub fn log_tail(&self) -> String {
        let tail = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!(
            "\n--- last {} log lines ---\n{}",
            lines.len(),
            lines.join("\n")
        )
    }

    /// SIGTERM (both brokers shut down gracefully on it, which also lets a profiler
    /// wrapping the binary write its output), then SIGKILL if it does not exit in time.
    pub async fn stop(mut self) -> Result<()> {
        let term = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if term.is_ok_and(|s| s.success())
            && let Ok(status) = tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await
        {
            status?;
            return Ok(());
        }
        self.child.start_kill()?;
        tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .with_context(|| format!("{} did not exit after SIGKILL", self.kind))??;
        Ok(())
    }
}

async fn start_tern(paths: &Paths) -> Result<Broker> {
    if !paths.tern.is_file() {
        bail!(
            "tern binary not found at {}: build it first with \
             `cargo build --release -p tern-server --bin tern` (same CARGO_TARGET_DIR) or pass --tern",
            paths.tern.display()
        );
    }
    let mut cmd = Command::new(&paths.tern);
    cmd.args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        // The broker's default log level, like Mosquitto's default log types.
        .env("RUST_LOG", "info");
    let dir = if paths.tern_conf.is_empty() {
        None
    } else {
        let dir = tempfile::tempdir()?;
        let conf = dir.path().join("tern.toml");
        let text = paths.tern_conf.join("\n") + "\n";
        std::fs::write(&conf, text.replace("{dir}", &dir.path().to_string_lossy()))?;
        cmd.arg("--config").arg(&conf);
        Some(dir)
    };
    let (child, pid, log, mut lines) = spawn(cmd, Kind::Tern)?;
    // Contract: the first stdout line is "tern: mqtt listening on tcp://ADDR".
    let addr = wait_line(&mut lines, |l| {
        l.strip_prefix("tern: mqtt listening on tcp://")
            .and_then(|a| a.trim().parse::<SocketAddr>().ok())
    })
    .await
    .map_err(|e| anyhow!("tern did not start: {e}{}", tail(&log)))?;
    Ok(Broker {
        kind: Kind::Tern,
        addr,
        pid,
        child,
        log,
        _dir: dir,
    })
}

async fn start_mosquitto(paths: &Paths) -> Result<Broker> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("mosquitto.conf");
    // Defaults everywhere else (max_queued_messages 1000, max_inflight_messages 20, default
    // log types), as the issue asks.
    let mut text = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
    );
    for line in &paths.mosquitto_conf {
        text.push_str(&line.replace("{dir}", &dir.path().to_string_lossy()));
        text.push('\n');
    }
    std::fs::write(&conf, text)?;
    let mut cmd = Command::new(&paths.mosquitto);
    cmd.arg("-c").arg(&conf);
    let (child, pid, log, mut lines) = spawn(cmd, Kind::Mosquitto)?;
    // "mosquitto version 2.0.11 running" comes after the listener is open.
    wait_line(&mut lines, |l| l.contains(" running").then_some(()))
        .await
        .map_err(|e| anyhow!("mosquitto did not start: {e}{}", tail(&log)))?;
    Ok(Broker {
        kind: Kind::Mosquitto,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        pid,
        child,
        log,
        _dir: Some(dir),
    })
}

type Spawned = (
    Child,
    u32,
    Arc<Mutex<VecDeque<String>>>,
    mpsc::Receiver<String>,
);

/// Starts the child with both output pipes drained into a log tail, and a channel of lines
/// for the start-up wait (closed when the process exits).
fn spawn(mut cmd: Command, kind: Kind) -> Result<Spawned> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {kind}"))?;
    let pid = child.id().ok_or_else(|| anyhow!("{kind} exited at once"))?;
    let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_TAIL)));
    let (tx, rx) = mpsc::channel(64);
    if let Some(out) = child.stdout.take() {
        drain(out, Arc::clone(&log), tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        drain(err, Arc::clone(&log), tx);
    }
    Ok((child, pid, log, rx))
}

fn drain(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
    tx: mpsc::Sender<String>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // Only the start-up wait listens; later lines are just kept in the tail.
            let _ = tx.try_send(line.clone());
            let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
            if log.len() == LOG_TAIL {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
}

fn tail(log: &Mutex<VecDeque<String>>) -> String {
    let log = log.lock().unwrap_or_else(PoisonError::into_inner);
    let lines: Vec<&str> = log.iter().map(String::as_str).collect();
    format!("\n--- log ---\n{}", lines.join("\n"))
}

async fn wait_line<T>(
    lines: &mut mpsc::Receiver<String>,
    pred: impl Fn(&str) -> Option<T>,
) -> Result<T> {
    let found = async {
        while let Some(line) = lines.recv().await {
            if let Some(v) = pred(&line) {
                return Ok(v);
            }
        }
        Err(anyhow!("the process exited"))
    };
    tokio::time::timeout(START_TIMEOUT, found)
        .await
        .map_err(|_| anyhow!("no start-up line within {START_TIMEOUT:?}"))?
}

/// Memory figures from /proc/<pid>/status, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mem {
    /// Resident set size now.
    pub rss_kib: u64,
    /// Peak resident set size since the process started.
    pub hwm_kib: u64,
}

impl Mem {
    fn parse(status: &str) -> Result<Mem> {
        let field = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .ok_or_else(|| anyhow!("no {name} line"))?;
            let kib = line.trim().trim_end_matches("kB").trim();
            kib.parse().with_context(|| format!("{name} {kib:?}"))
        };
        Ok(Mem {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }
}

/// utime + stime of a process (`"self"` or a pid) from /proc/<pid>/stat.
pub fn cpu_of(pid: &str) -> Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let ticks = parse_stat_ticks(&text).with_context(|| format!("parsing {path}"))?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// utime + stime (fields 14 and 15) in clock ticks. The command name (field 2) is in
/// parentheses and may itself contain spaces and parentheses, so fields are counted from
/// the last ')'.
fn parse_stat_ticks(stat: &str) -> Result<u64> {
    let (_, rest) = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow!("no ')' in stat"))?;
    // `rest` starts at field 3 (state): utime is field 14, i.e. index 11 here.
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || -> Result<u64> {
        let f = fields.next().ok_or_else(|| anyhow!("stat too short"))?;
        Ok(f.parse()?)
    };
    Ok(next()? + next()?)
}

/// USER_HZ, from `getconf CLK_TCK` (100 on every Linux this runs on, but ask).
fn clock_ticks() -> u64 {
    static TCK: OnceLock<u64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_paren() {
        // Field 2 with spaces and a ')' must not shift utime (14) / stime (15).
        let stat = "1234 (we ird) (name) S 1 2 3 4 5 6 7 8 9 10 250 31 0 0 20 0 1 0";
        assert_eq!(parse_stat_ticks(stat).unwrap(), 281);
        assert!(parse_stat_ticks("1234 (x) S 1 2").is_err());
    }

    #[test]
    fn status_memory_lines_are_parsed() {
        let status = "Name:\tmosquitto\nVmHWM:\t    8120 kB\nVmRSS:\t    7001 kB\n";
        assert_eq!(
            Mem::parse(status).unwrap(),
            Mem {
                rss_kib: 7001,
                hwm_kib: 8120
            }
        );
        assert!(Mem::parse("VmRSS: 1 kB\n").is_err());
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_of("self").is_ok());
    }
}
