//! The `tern` binary: parse flags, set up logging, run the broker until SIGINT/SIGTERM.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tern_server::{Config, Server};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc malloc: a message is allocated on the publisher's worker thread
/// and freed on the subscriber's, and glibc then takes the allocating arena's lock, so the
/// two workers contend on it (27 % of fan-in CPU in the profile, see README "Performance
/// notes"). mimalloc hands such frees back to the owning thread's heap without a lock.
/// Built as mimalloc v2 without transparent huge pages (Cargo features `v2`, `no_thp`):
/// v3's defaults doubled the RSS of 5,000 idle connections (3.8 → 8 KB each), v3 without
/// THP still added 10 %; v2 matches glibc there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tern: an MQTT 3.1 / 3.1.1 / 5.0 broker over TCP and WebSocket that also serves the web UI.
///
/// Logging is configured with RUST_LOG (default "info") and goes to stderr.
#[derive(Debug, Parser)]
#[command(name = "tern", version)]
struct Cli {
    /// MQTT over TCP listen address [default: 127.0.0.1:1883]
    #[arg(long, value_name = "ADDR:PORT")]
    tcp: Option<SocketAddr>,
    /// HTTP listen address (WebSocket at /mqtt, web UI at /) [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR:PORT")]
    http: Option<SocketAddr>,
    /// MQTT over TLS listen address, e.g. 0.0.0.0:8883 (needs --certfile and --keyfile)
    #[arg(long, value_name = "ADDR:PORT")]
    tls: Option<SocketAddr>,
    /// HTTPS listen address: the HTTP routes over TLS, WebSocket at wss://.../mqtt (needs
    /// --certfile and --keyfile)
    #[arg(long, value_name = "ADDR:PORT")]
    https: Option<SocketAddr>,
    /// PEM certificate chain for --tls and --https (config key certfile)
    #[arg(long, value_name = "FILE")]
    certfile: Option<PathBuf>,
    /// PEM private key of the certificate (config key keyfile)
    #[arg(long, value_name = "FILE")]
    keyfile: Option<PathBuf>,
    /// Serve the web UI from this directory (e.g. a `trunk serve` or `cargo xtask dist` build)
    /// [default: the UI built into this binary]
    #[arg(long, value_name = "DIR")]
    web_root: Option<PathBuf>,
    /// TOML config file; keys use Mosquitto's option names (e.g. max_keepalive = 60)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let mut config = match &cli.config {
        Some(path) => Config::from_toml_file(path)?,
        None => Config::default(),
    };
    if let Some(addr) = cli.tcp {
        config.tcp = addr;
    }
    if let Some(addr) = cli.http {
        config.http = addr;
    }
    if let Some(addr) = cli.tls {
        config.tls = Some(addr);
    }
    if let Some(addr) = cli.https {
        config.https = Some(addr);
    }
    if let Some(file) = cli.certfile {
        config.certfile = Some(file);
    }
    if let Some(file) = cli.keyfile {
        config.keyfile = Some(file);
    }
    if let Some(dir) = cli.web_root {
        config.web_root = Some(dir);
    }

    // Before binding: `max_connections = -1` is derived from the descriptor limit.
    let fds = tern_server::limits::raise_fd_limit();
    tracing::debug!(fds, "file-descriptor limit");
    tracing::info!(
        "{}",
        tern_server::web_ui::describe(config.web_root.as_deref())
    );
    let server = Server::bind(config).await?;
    let shutdown = shutdown_signal()?;
    let (tcp, http) = (server.tcp_addr(), server.http_addr());
    let mut out = std::io::stdout().lock();
    writeln!(out, "tern: mqtt listening on tcp://{tcp}")?;
    writeln!(
        out,
        "tern: http listening on http://{http} (websocket ws://{http}/mqtt, web ui http://{http}/)"
    )?;
    if let Some(tls) = server.tls_addr() {
        writeln!(out, "tern: mqtts listening on tls://{tls}")?;
    }
    if let Some(https) = server.https_addr() {
        writeln!(
            out,
            "tern: https listening on https://{https} (websocket wss://{https}/mqtt)"
        )?;
    }
    out.flush().context("flushing stdout")?;
    drop(out);

    reload_on_sighup(server.broker().clone())?;
    server.run(shutdown).await?;
    Ok(())
}

/// SIGHUP reloads `password_file` and `acl_file` (Mosquitto's behaviour) without dropping
/// connections; a file that fails to load leaves the previous settings in force.
#[cfg(unix)]
fn reload_on_sighup(broker: tern_server::broker::Broker) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match broker.reload_auth() {
                Ok(()) => tracing::info!("SIGHUP: password_file and acl_file reloaded"),
                Err(e) => tracing::error!(
                    "SIGHUP: reload failed, keeping the previous security settings: {e}"
                ),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_sighup(_broker: tern_server::broker::Broker) -> anyhow::Result<()> {
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled, so a signal sent right after the startup lines is not lost.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received");
    })
}
