//! The broker under test: the real [`tern_server::Server`] in-process — its own tokio task
//! in the test's runtime, real sockets on loopback port 0 — with the test's configuration.
//!
//! Two ways to start it, on purpose:
//! * [`Broker::start`] / [`Broker::with`]: always tern. Most tests check tern's own
//!   behaviour (its config keys, its `$SYS`, its persistence) and mean nothing elsewhere.
//! * [`Broker::target`] / [`Broker::target_with`]: the broker the *conformance* cases run
//!   against — tern, or a `mosquitto` child process when `TERN_CONFORMANCE_TARGET=mosquitto`
//!   is set, to check that a case's expectation matches a mature broker. A case that only
//!   applies to tern starts with `if tern_only("…") { return; }`. `cargo test` (and CI) never
//!   set the variable: the suite always checks tern.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tern_server::{Config, Server};
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::certs::TestPki;
use super::mosquitto;

/// How long [`Broker::shutdown`] waits for `Server::run` to return.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(10);

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

/// A running broker. Dropping it starts tern's graceful shutdown (or kills Mosquitto).
pub struct Broker {
    pub tcp: SocketAddr,
    pub http: SocketAddr,
    /// The TLS listeners, when the config enables them (never for Mosquitto).
    pub tls: Option<SocketAddr>,
    pub https: Option<SocketAddr>,
    pub config: Config,
    /// Web root holding an `index.html` (`<h1>tern test ui</h1>`) unless the test set its
    /// own; removed when the broker is dropped.
    pub web_root: tempfile::TempDir,
    running: Running,
}

/// `true` when the conformance suite runs against Mosquitto to validate its expectations.
pub fn against_mosquitto() -> bool {
    std::env::var("TERN_CONFORMANCE_TARGET").is_ok_and(|v| v == "mosquitto")
}

/// For conformance cases of tern-only features (HTTP UI, CONNECT deadline, graceful shutdown
/// API, …): returns `true` (and says so) when the target is Mosquitto, so the caller returns.
pub fn tern_only(what: &str) -> bool {
    let mosquitto = against_mosquitto();
    if mosquitto {
        eprintln!("not applicable to mosquitto: {what}");
    }
    mosquitto
}

/// Test defaults: loopback port 0 for both listeners (tests run in parallel), `$SYS` every
/// second so `$SYS` tests observe updates quickly; everything else as shipped.
pub fn test_config() -> Config {
    Config {
        tcp: SocketAddr::from(([127, 0, 0, 1], 0)),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        sys_interval: Duration::from_secs(1),
        ..Config::default()
    }
}

impl Broker {
    /// tern with [`test_config`].
    pub async fn start() -> Broker {
        Broker::with(|_| {}).await
    }

    /// tern with [`test_config`] changed by `adjust` (the web root is set after `adjust`
    /// runs unless `adjust` changed it).
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Broker {
        let web_root = web_root();
        let mut config = test_config();
        let default_root = config.web_root.clone();
        adjust(&mut config);
        if config.web_root == default_root {
            config.web_root = Some(web_root.path().to_owned());
        }
        let server = Server::bind(config.clone())
            .await
            .expect("Server::bind on 127.0.0.1:0");
        let (tcp, http) = (server.tcp_addr(), server.http_addr());
        let (tls, https) = (server.tls_addr(), server.https_addr());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Broker {
            tcp,
            http,
            tls,
            https,
            config,
            web_root,
            running: Running::Tern {
                shutdown: Some(tx),
                task: Some(task),
            },
        }
    }

    /// The conformance target with [`test_config`]: tern, or Mosquitto (module docs).
    pub async fn target() -> Broker {
        Broker::target_with(|_| {}).await
    }

    /// The conformance target with [`test_config`] adjusted by `adjust`. For Mosquitto the
    /// settings it shares with tern are translated into its configuration file.
    pub async fn target_with(adjust: impl FnOnce(&mut Config)) -> Broker {
        if !against_mosquitto() {
            return Broker::with(adjust).await;
        }
        let mut config = test_config();
        adjust(&mut config);
        let (tcp, http, child, dir) = mosquitto::start(&config).await;
        Broker {
            tcp,
            http,
            tls: None,
            https: None,
            config,
            web_root: web_root(),
            running: Running::Mosquitto { child, _dir: dir },
        }
    }

    /// tern with both TLS listeners (`tls` for MQTT, `https` for the web and `wss`) on
    /// loopback port 0, serving `pki`'s server certificate; then `adjust`.
    pub async fn with_tls(pki: &TestPki, adjust: impl FnOnce(&mut Config)) -> Broker {
        let (cert, key) = (pki.cert.clone(), pki.key.clone());
        Broker::with(move |c| {
            c.tls = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
            c.https = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
            c.certfile = Some(cert);
            c.keyfile = Some(key);
            adjust(c);
        })
        .await
    }

    /// tern with `persistence = true` on `dir` and no `$SYS` (its retained values would be
    /// stored too): restart it on the same `dir` to test what survives.
    pub async fn persistent(dir: &Path) -> Broker {
        let dir = dir.to_owned();
        Broker::with(move |c| {
            c.persistence = true;
            c.persistence_location = Some(dir);
            c.sys_interval = Duration::ZERO;
        })
        .await
    }

    /// `ws://…/mqtt` of the HTTP listener.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/mqtt", self.http)
    }

    /// Graceful shutdown, waiting up to 10 s for `Server::run` to return; its result.
    pub async fn shutdown(self) -> Result<(), String> {
        self.shutdown_within(SHUTDOWN_BOUND).await
    }

    /// Triggers graceful shutdown and waits up to `bound` for `Server::run` to return (for
    /// Mosquitto: kills it and waits for the exit).
    pub async fn shutdown_within(mut self, bound: Duration) -> Result<(), String> {
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
    /// Starts a graceful shutdown and lets it finish in the background (a persistence test
    /// that drops a broker must not leave its store half written), or kills Mosquitto.
    fn drop(&mut self) {
        match &mut self.running {
            Running::Tern { shutdown, .. } => {
                if let Some(tx) = shutdown.take() {
                    let _ = tx.send(());
                }
            }
            Running::Mosquitto { child, .. } => {
                let _ = child.start_kill();
            }
        }
    }
}

/// A temporary web root with the `index.html` tests recognise.
fn web_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><h1>tern test ui</h1>",
    )
    .expect("write index.html");
    dir
}
