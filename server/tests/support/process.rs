//! The real `tern` binary as a child process, for what only a process shows: its start-up
//! lines, SIGTERM/SIGHUP handling, SIGKILL in the middle of a write, and crashes (a stack
//! overflow aborts the whole process) reported with the exit signal and the last log lines
//! instead of taking the test harness down with it.
//!
//! The broker prints `tern: mqtt listening on tcp://ADDR` and then `tern: http listening on
//! http://ADDR (…)` on stdout once its listeners are bound (then `mqtts` and `https` lines
//! when TLS is on); with `--tcp 127.0.0.1:0` that is how a test learns the ports.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};

/// The binary cargo built for these tests.
pub const TERN_BIN: &str = env!("CARGO_BIN_EXE_tern");
/// Start-up of a fresh process on a loaded 2-core machine (not what any test measures).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Log lines (stdout and stderr) kept for failure messages.
const LOG_TAIL: usize = 60;
/// Lines buffered per stream for [`TernProcess::stdout_line`] / [`TernProcess::log_line`];
/// beyond that (a long fuzz run) lines only reach the tail.
const LINES_BUFFERED: usize = 4096;

pub struct TernProcess {
    pub tcp: SocketAddr,
    pub http: SocketAddr,
    /// The first two stdout lines (the `mqtt` and `http` listening lines), as printed.
    pub startup: Vec<String>,
    pid: u32,
    exit: watch::Receiver<Option<ExitStatus>>,
    /// Dropping it kills the process (if it still runs).
    _kill: oneshot::Sender<()>,
    log: Arc<Mutex<VecDeque<String>>>,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl TernProcess {
    /// `tern --tcp 127.0.0.1:0 --http 127.0.0.1:0`, for the test to add arguments and
    /// environment (`RUST_LOG`) before [`TernProcess::spawn`].
    pub fn command() -> Command {
        let mut cmd = Command::new(TERN_BIN);
        cmd.args(["--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
        cmd
    }

    /// [`TernProcess::command`] followed by `args`, started.
    pub async fn start<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> TernProcess {
        let mut cmd = TernProcess::command();
        cmd.args(args);
        TernProcess::spawn(cmd).await
    }

    /// Starts `cmd` (a `tern` command with arguments and environment as the test wants;
    /// stdio is taken over here) and waits for its two start-up lines.
    pub async fn spawn(mut cmd: Command) -> TernProcess {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", cmd.as_std().get_program()));
        let pid = child.id().expect("pid");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let mut stdout = drain(child.stdout.take().expect("stdout"), Arc::clone(&log));
        let stderr = drain(child.stderr.take().expect("stderr"), Arc::clone(&log));
        let (exit_tx, exit) = watch::channel(None);
        let (kill, killed) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status,
                _ = killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let _ = exit_tx.send(Some(status.expect("wait for tern")));
        });
        let startup = async {
            let mqtt = stdout.recv().await?;
            let http = stdout.recv().await?;
            Some(vec![mqtt, http])
        };
        let startup = tokio::time::timeout(START_TIMEOUT, startup)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("tern printed no start-up lines{}", tail(&log)));
        let tcp = startup[0]
            .strip_prefix("tern: mqtt listening on tcp://")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {:?}", startup[0]));
        let http = startup[1]
            .strip_prefix("tern: http listening on http://")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected second line {:?}", startup[1]));
        TernProcess {
            tcp,
            http,
            startup,
            pid,
            exit,
            _kill: kill,
            log,
            stdout,
            stderr,
        }
    }

    /// The next stdout line after the start-up lines (the TLS listeners' lines).
    pub async fn stdout_line(&mut self) -> String {
        tokio::time::timeout(START_TIMEOUT, self.stdout.recv())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no further stdout line{}", self.log_tail()))
    }

    /// Waits (up to 5 s) for a log line (stderr) containing `needle`; lines are read in
    /// order, each once, so a line logged before an earlier wait does not count twice.
    pub async fn log_line(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(super::DEADLINE, async {
            while let Some(line) = self.stderr.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!("tern exited before logging {needle:?}{}", self.log_tail()),
            Err(_) => panic!("no log line {needle:?}{}", self.log_tail()),
        }
    }

    /// Sends `signal` (`"TERM"`, `"HUP"`, `"KILL"`, …) with kill(1).
    pub fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} {}", self.pid);
    }

    /// SIGTERM, then the exit status within `within` (`None` if it did not exit in time).
    pub async fn terminate(&self, within: Duration) -> Option<ExitStatus> {
        self.signal("TERM");
        tokio::time::timeout(within, self.wait_exit()).await.ok()
    }

    /// SIGKILL, and waits until the process is gone.
    pub async fn kill9(self) {
        self.signal("KILL");
        self.wait_exit().await;
    }

    /// The exit status, once the process has ended.
    pub fn exited(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Resolves when the process ends.
    pub async fn wait_exit(&self) -> ExitStatus {
        let mut exit = self.exit.clone();
        let status = exit.wait_for(Option::is_some).await.expect("exit watcher");
        status.expect("checked by wait_for")
    }

    /// The last log lines, for a failure message.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Peak resident set size so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
        line.trim().trim_end_matches("kB").trim().parse().ok()
    }
}

/// "exit code 1", "signal 6 (SIGABRT)".
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(6)) => "signal 6 (SIGABRT)".to_owned(),
        (None, Some(11)) => "signal 11 (SIGSEGV)".to_owned(),
        (None, Some(sig)) => format!("signal {sig}"),
        (None, None) => format!("{status}"),
    }
}

/// Reads `pipe` to its end so the broker never blocks on a full pipe: every line goes to the
/// log tail and, while there is room, to the returned channel.
fn drain(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(LINES_BUFFERED);
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.try_send(line.clone());
            let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
            if log.len() == LOG_TAIL {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
    rx
}

fn tail(log: &Mutex<VecDeque<String>>) -> String {
    let log = log.lock().unwrap_or_else(PoisonError::into_inner);
    let lines: Vec<&str> = log.iter().map(String::as_str).collect();
    format!(
        "\n--- last {} broker log lines ---\n{}",
        lines.len(),
        lines.join("\n")
    )
}
