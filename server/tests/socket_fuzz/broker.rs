//! The broker under test: the real `tern` binary as a child process, so that a crash (a
//! stack overflow aborts the whole process) is reported with its exit signal and last log
//! lines instead of taking the test harness down with it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

/// Log lines kept for the failure message.
const LOG_TAIL: usize = 60;
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct BrokerProcess {
    pub tcp: SocketAddr,
    pub http: SocketAddr,
    pid: u32,
    exit: watch::Receiver<Option<ExitStatus>>,
    log: Arc<Mutex<VecDeque<String>>>,
    _dir: tempfile::TempDir,
}

impl BrokerProcess {
    /// Starts `binary` with the shipped defaults, except loopback port-0 listeners and
    /// `$SYS` every second (the end-of-run checks read it).
    pub async fn start(binary: PathBuf) -> BrokerProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("tern.toml");
        std::fs::write(
            &config,
            format!(
                "tcp = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:0\"\nweb_root = {:?}\nsys_interval = 1\n",
                dir.path()
            ),
        )
        .expect("write config");
        std::fs::write(dir.path().join("index.html"), "<h1>fuzz</h1>").expect("index.html");
        let mut child = Command::new(&binary)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let pid = child.id().expect("pid");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, mut lines) = mpsc::channel(16);
        drain(
            child.stdout.take().expect("stdout"),
            Arc::clone(&log),
            Some(tx),
        );
        drain(child.stderr.take().expect("stderr"), Arc::clone(&log), None);
        let (exit_tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await.expect("wait for tern");
            let _ = exit_tx.send(Some(status));
        });
        let startup = async {
            let mut tcp = None;
            while let Some(line) = lines.recv().await {
                if let Some(a) = line.strip_prefix("tern: mqtt listening on tcp://") {
                    tcp = a.trim().parse().ok();
                }
                if let Some(rest) = line.strip_prefix("tern: http listening on http://") {
                    let http = rest.split(' ').next().and_then(|a| a.parse().ok());
                    return tcp.zip(http);
                }
            }
            None
        };
        let (tcp, http) = tokio::time::timeout(START_TIMEOUT, startup)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("tern did not start{}", tail(&log)));
        BrokerProcess {
            tcp,
            http,
            pid,
            exit,
            log,
            _dir: dir,
        }
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

    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    /// Peak resident set size so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
        line.trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// SIGTERM, then the exit status (the broker shuts down gracefully within its
    /// `shutdown_timeout`, 5 s by default).
    pub async fn stop(&self) -> Option<ExitStatus> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        tokio::time::timeout(Duration::from_secs(20), self.wait_exit())
            .await
            .ok()
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

fn drain(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
    startup: Option<mpsc::Sender<String>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(tx) = &startup {
                let _ = tx.try_send(line.clone());
            }
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
    format!(
        "\n--- last {} broker log lines ---\n{}",
        lines.len(),
        lines.join("\n")
    )
}
