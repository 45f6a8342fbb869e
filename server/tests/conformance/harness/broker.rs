//! Starts the broker under test: the real `tern_server::Server` in-process on 127.0.0.1:0
//! (the default), or — to check that a test's *expectation* matches a mature broker — a
//! `mosquitto` child process when `TERN_CONFORMANCE_TARGET=mosquitto` is set. The second mode
//! is a development aid only; `cargo test` always runs against tern.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tern_server::{Config, Server};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound for anything the broker is expected to do "now" (answer, close, deliver).
pub const DEADLINE: Duration = Duration::from_secs(5);

enum Running {
    Tern {
        shutdown: Option<oneshot::Sender<()>>,
        task: Option<JoinHandle<Result<(), tern_server::Error>>>,
    },
    Mosquitto {
        child: Child,
        _dir: tempfile::TempDir,
    },
}

/// A running broker; stopped when dropped.
pub struct Broker {
    pub tcp: SocketAddr,
    pub http: SocketAddr,
    pub config: Config,
    running: Running,
}

/// `true` when the suite runs against Mosquitto to validate expectations.
pub fn against_mosquitto() -> bool {
    std::env::var("TERN_CONFORMANCE_TARGET").is_ok_and(|v| v == "mosquitto")
}

/// For tests of tern-only features (HTTP UI, CONNECT deadline, graceful shutdown API, …):
/// returns `true` (and says so) when the target is Mosquitto, so the caller can return.
pub fn tern_only(what: &str) -> bool {
    let mosquitto = against_mosquitto();
    if mosquitto {
        eprintln!("not applicable to mosquitto: {what}");
    }
    mosquitto
}

/// Test defaults: loopback port 0 for both listeners, `$SYS` every second so `$SYS` tests
/// observe updates quickly, and a web root that does not exist unless a test sets one.
pub fn test_config() -> Config {
    Config {
        tcp: SocketAddr::from(([127, 0, 0, 1], 0)),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        sys_interval: Duration::from_secs(1),
        ..Config::default()
    }
}

impl Broker {
    /// A broker with [`test_config`].
    pub async fn start() -> Broker {
        Broker::with(|_| {}).await
    }

    /// A broker with [`test_config`] adjusted by `adjust`.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Broker {
        let mut config = test_config();
        adjust(&mut config);
        if against_mosquitto() {
            return start_mosquitto(config).await;
        }
        let server = Server::bind(config.clone())
            .await
            .expect("Server::bind on 127.0.0.1:0");
        let tcp = server.tcp_addr();
        let http = server.http_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Broker {
            tcp,
            http,
            config,
            running: Running::Tern {
                shutdown: Some(tx),
                task: Some(task),
            },
        }
    }

    /// `ws://…/mqtt` of the HTTP listener.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/mqtt", self.http)
    }

    /// Triggers graceful shutdown and waits (bounded) for `run` to return; returns its result.
    pub async fn shutdown(mut self, bound: Duration) -> Result<(), String> {
        match &mut self.running {
            Running::Tern { shutdown, task } => {
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
                let task = task.take().ok_or("already shut down")?;
                match tokio::time::timeout(bound, task).await {
                    Err(_) => Err(format!("Server::run did not return within {bound:?}")),
                    Ok(Err(join)) => Err(format!("Server::run panicked: {join}")),
                    Ok(Ok(Err(e))) => Err(format!("Server::run failed: {e}")),
                    Ok(Ok(Ok(()))) => Ok(()),
                }
            }
            Running::Mosquitto { child, .. } => {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(bound, child.wait()).await;
                Ok(())
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        match &mut self.running {
            Running::Tern { shutdown, task } => {
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
            Running::Mosquitto { child, .. } => {
                let _ = child.start_kill();
            }
        }
    }
}

/// A free loopback port (validation mode only: Mosquitto cannot report a port-0 binding).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn start_mosquitto(config: Config) -> Broker {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tcp_port, ws_port) = (free_port(), free_port());
    // Listener-scoped options follow each `listener` line.
    let per_listener = format!(
        "max_qos {}\nmax_connections {}\nmax_topic_alias {}\n",
        config.max_qos, config.max_connections, config.max_topic_alias
    );
    let mut conf = format!(
        "per_listener_settings false\nallow_anonymous true\npersistence false\n\
         max_keepalive {}\nmax_inflight_messages {}\nmax_queued_messages {}\nsys_interval {}\n\
         retain_available {}\nallow_zero_length_clientid {}\n\
         listener {tcp_port} 127.0.0.1\n{per_listener}\
         listener {ws_port} 127.0.0.1\nprotocol websockets\n{per_listener}",
        config.max_keepalive,
        config.max_inflight_messages,
        config.max_queued_messages,
        config.sys_interval.as_secs(),
        config.retain_available,
        config.allow_zero_length_clientid,
    );
    if config.max_packet_size != 0 {
        conf.push_str(&format!("max_packet_size {}\n", config.max_packet_size));
    }
    let path: PathBuf = dir.path().join("mosquitto.conf");
    std::fs::write(&path, conf).expect("write mosquitto.conf");
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mosquitto (apt-get install mosquitto)");
    let tcp = SocketAddr::from(([127, 0, 0, 1], tcp_port));
    let http = SocketAddr::from(([127, 0, 0, 1], ws_port));
    // Readiness: poll until both ports accept (bounded).
    for addr in [tcp, http] {
        let ready = tokio::time::timeout(DEADLINE, async {
            loop {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(ready.is_ok(), "mosquitto did not listen on {addr}");
    }
    Broker {
        tcp,
        http,
        config,
        running: Running::Mosquitto { child, _dir: dir },
    }
}
