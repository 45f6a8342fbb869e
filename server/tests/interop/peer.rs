//! Real MQTT clients as child processes: locating them, running them with a bound, reading
//! their output line by line. Children are killed when dropped (`kill_on_drop`), so a failed
//! assertion never leaves a client behind.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Bound for one peer step (connect, subscribe, a message).
pub const STEP: Duration = Duration::from_secs(10);
/// Bound for a whole peer script.
pub const SCRIPT: Duration = Duration::from_secs(60);

const SETUP_HINT: &str = "run `cargo xtask setup` (it installs mosquitto-clients, the paho-mqtt \
                          venv and MQTT.js) and test through `cargo xtask test`, which sets \
                          TERN_PYTHON and NODE_PATH";

/// `~/.cache/tern` (or `$TERN_CACHE`), where `cargo xtask setup` installs the peers.
fn tern_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("TERN_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    home.join(".cache").join("tern")
}

/// An executable on `PATH` (or `/usr/sbin`); fails the test with the setup hint otherwise.
pub fn on_path(name: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` not found on PATH: {SETUP_HINT}"))
}

/// The Python with paho-mqtt: `$TERN_PYTHON`, else the venv `cargo xtask setup` creates.
pub fn python() -> PathBuf {
    let p = std::env::var_os("TERN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| tern_cache().join("venv").join("bin").join("python"));
    assert!(
        p.is_file(),
        "TERN_PYTHON ({}) does not exist: {SETUP_HINT}",
        p.display()
    );
    p
}

/// `NODE_PATH` holding MQTT.js: `$NODE_PATH`, else the prefix `cargo xtask setup` fills.
pub fn node_path() -> PathBuf {
    let p = std::env::var_os("NODE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| tern_cache().join("node").join("node_modules"));
    assert!(
        p.join("mqtt").join("package.json").is_file(),
        "MQTT.js not found under NODE_PATH ({}): {SETUP_HINT}",
        p.display()
    );
    p
}

/// A peer script in `tests/interop/peers/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
        .join("peers")
        .join(name)
}

/// A mosquitto client (`mosquitto_pub`, `mosquitto_sub`, ...) aimed at `host:port` with
/// protocol `version`. Run under `stdbuf -oL` (coreutils): mosquitto_sub's `-d` log lines are
/// otherwise block-buffered into the pipe and "received SUBACK" would only show up at exit.
pub fn mosquitto(tool: &str, host: &str, port: u16, version: &str) -> Command {
    let mut c = Command::new(on_path("stdbuf"));
    c.arg("-oL").arg(on_path(tool));
    c.args(["-h", host, "-p", &port.to_string(), "-V", version]);
    c
}

/// Runs `cmd` to completion within [`SCRIPT`]; panics with its output unless it exits 0.
/// Returns stdout.
pub async fn run_ok(what: &str, mut cmd: Command) -> String {
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(SCRIPT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within {SCRIPT:?} (killed)"))
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "{what}: exited with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

/// A long-running peer whose stdout is read line by line.
pub struct Peer {
    name: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Peer {
    pub fn spawn(name: &str, mut cmd: Command) -> Peer {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        Peer {
            name: name.to_string(),
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `needle` (within [`STEP`]); returns it.
    pub async fn line_containing(&mut self, needle: &str) -> String {
        let wait = async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        };
        match tokio::time::timeout(STEP, wait).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!(
                "{}: exited before printing {needle:?}; output {:?}",
                self.name, self.seen
            ),
            Err(_) => panic!(
                "{}: no {needle:?} within {STEP:?}; output {:?}",
                self.name, self.seen
            ),
        }
    }

    /// Waits (bounded) for the peer to exit; returns its status.
    pub async fn exit(mut self) -> ExitStatus {
        tokio::time::timeout(STEP, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{}: did not exit within {STEP:?}", self.name))
            .expect("wait")
    }

    /// SIGKILL: the peer's sockets close without an MQTT DISCONNECT.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
