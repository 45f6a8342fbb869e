//! [`Server`]: binds the listeners (MQTT/TCP and HTTP always; MQTT/TLS and HTTPS when
//! configured), runs the accept loops and background tasks, and shuts everything down
//! gracefully within `shutdown_timeout`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::broker::Broker;
use crate::broker::Expired;
use crate::cluster::Node;
use crate::config::Config;
use crate::error::Error;
use crate::http::origin::{self, OriginPolicy};
use crate::http::{self, AppState, serve};
use crate::shutdown::Shutdown;
use crate::store::{Opened, SqliteStore};
use crate::tls::{self, TlsAcceptors};
use crate::{sys, tcp};

/// A bound, not yet running broker.
pub struct Server {
    config: Config,
    tcp: TcpListener,
    http: TcpListener,
    tcp_addr: SocketAddr,
    http_addr: SocketAddr,
    /// The TLS listeners with their acceptors (both `None` without TLS).
    tls: Option<(TcpListener, SocketAddr)>,
    https: Option<(TcpListener, SocketAddr)>,
    acceptors: Option<TlsAcceptors>,
    broker: Broker,
}

impl Server {
    /// Binds the MQTT/TCP and HTTP listeners, and the MQTT/TLS and HTTPS ones when
    /// configured (port 0 picks a free port).
    pub async fn bind(mut config: Config) -> Result<Server, Error> {
        config.validate()?;
        // Security files first: a broken password or ACL file must stop start-up before
        // any port is open.
        let auth = Auth::load(&config)?;
        // And a persistence database that cannot be opened or read: never start without
        // its data.
        let opened = open_store(&config)?;
        // So must an unusable certificate or key.
        let acceptors = tls::acceptors(&config)?;
        // And, for a cluster node, NATS that cannot be reached (waits up to 30 s).
        let node = match &config.cluster {
            Some(c) => {
                let node = Node::start(c, config.max_queued_messages)
                    .await
                    .map_err(Error::Cluster)?;
                // A message travels as one NATS message: announce a v5 Maximum Packet Size
                // that fits NATS's `max_payload`.
                let fit = node.max_packet_size();
                if config.effective_max_packet_size() > fit {
                    tracing::info!(
                        max_packet_size = fit,
                        "cluster: max_packet_size lowered to fit NATS max_payload"
                    );
                    config.max_packet_size = fit;
                }
                Some(node)
            }
            None => None,
        };
        let bind = |what: &'static str, addr: SocketAddr| async move {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Bind { what, addr, source })?;
            let local = l.local_addr()?;
            Ok::<_, Error>((l, local))
        };
        let (tcp, tcp_addr) = bind("mqtt", config.tcp).await?;
        let (http, http_addr) = bind("http", config.http).await?;
        let tls = match config.tls {
            Some(addr) => Some(bind("mqtt tls", addr).await?),
            None => None,
        };
        let https = match config.https {
            Some(addr) => Some(bind("https", addr).await?),
            None => None,
        };
        let broker = match (opened, node) {
            (_, Some(node)) => {
                let broker = Broker::with_cluster(config.clone(), auth, node.clone(), node.clone());
                node.run(&broker).await;
                broker
            }
            (None, None) => Broker::with_auth(config.clone(), auth),
            (Some(o), None) => {
                let broker = Broker::with_store(config.clone(), auth, Arc::new(o.store));
                let expired = Expired {
                    entries: o.expired_entries,
                    retained: o.expired_retained,
                };
                let r = broker.restore(o.image, expired);
                tracing::info!(
                    file = %config.persistence_path().display(),
                    retained = r.retained,
                    sessions = r.sessions,
                    expired_sessions = r.expired_sessions,
                    durability = ?config.persistence_durability,
                    "persistence database loaded"
                );
                broker
            }
        };
        Ok(Server {
            config,
            tcp,
            http,
            tcp_addr,
            http_addr,
            tls,
            https,
            acceptors,
            broker,
        })
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The MQTT-over-TLS listener's address, when configured.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(_, a)| *a)
    }

    /// The HTTPS listener's address, when configured.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|(_, a)| *a)
    }

    /// The broker handle (for embedding and tests).
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Serves until `shutdown` resolves, then stops accepting, closes every TCP and
    /// WebSocket session (v5 clients get DISCONNECT 0x8B; wills are published as for any
    /// non-normal close) and returns within `shutdown_timeout`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let Server {
            config,
            tcp,
            http,
            tls,
            https,
            acceptors,
            broker,
            http_addr: self_http_addr,
            ..
        } = self;
        let sd = Shutdown::new();

        let expiry = tokio::spawn(expiry_loop(broker.clone(), sd.token().clone()));
        let sys = tokio::spawn(sys::run(
            broker.clone(),
            config.sys_interval,
            sd.token().clone(),
        ));
        let accept = tokio::spawn(tcp::accept_loop(tcp, broker.clone(), sd.clone()));
        let origins = OriginPolicy::new(
            &config.allowed_origins,
            self_http_addr,
            https.as_ref().map(|(_, a)| *a),
            origin::local_hostname(),
        );
        let app = http::app(AppState {
            broker: broker.clone(),
            shutdown: sd.clone(),
            web_root: Arc::new(config.web_root.clone()),
            origins: Arc::new(origins),
        });
        // The TLS loops; their connections are tracked by `sd` like TCP sessions.
        let mut tls_loops = Vec::new();
        if let Some(acceptors) = acceptors {
            if let Some((listener, _)) = tls {
                tls_loops.push(tokio::spawn(tls::mqtts::accept_loop(
                    listener,
                    acceptors.mqtts.clone(),
                    broker.clone(),
                    sd.clone(),
                )));
            }
            if let Some((listener, _)) = https {
                tls_loops.push(tokio::spawn(tls::https::accept_loop(
                    listener,
                    acceptors.https,
                    app.clone(),
                    broker.clone(),
                    sd.clone(),
                )));
            }
        }
        let serve = tokio::spawn(serve::accept_loop(http, app, broker.clone(), sd.clone()));

        shutdown.await;
        tracing::info!("shutting down");
        sd.trigger();

        let drain = async {
            let _ = accept.await;
            let _ = serve.await;
            for l in tls_loops {
                let _ = l.await;
            }
            sd.wait().await;
        };
        if tokio::time::timeout(config.shutdown_timeout, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                "sessions still open after {:?}; closing them",
                config.shutdown_timeout
            );
        }
        // Every session has handed its state back: with persistence, the store writes what
        // is left and stops (the sessions live on in it, delayed wills with their due
        // time); without, the sessions end with the server, so their delayed wills are sent
        // now [MQTT-3.1.3-9].
        if broker.durable() {
            let b = broker.clone();
            if tokio::task::spawn_blocking(move || b.close_store())
                .await
                .is_err()
            {
                tracing::error!("closing the persistence database failed");
            }
        } else {
            broker.flush_pending_wills();
        }
        let _ = expiry.await;
        let _ = sys.await;
        Ok(())
    }
}

/// Fires delayed wills and expires offline sessions when their time comes.
async fn expiry_loop(broker: Broker, shutdown: CancellationToken) {
    loop {
        let next = broker.expire(std::time::Instant::now());
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = broker.wait_for_deadline(next) => {}
        }
    }
}

/// Opens the persistence database when `persistence = true` (blocking; start-up only).
fn open_store(config: &Config) -> Result<Option<Opened>, Error> {
    if !config.persistence {
        return Ok(None);
    }
    let path = config.persistence_path();
    let err = |message: String| Error::Persistence {
        path: path.clone(),
        message,
    };
    // A missing directory would only show at the first write, when data is at stake.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(err(format!(
            "persistence_location {} is not a directory",
            dir.display()
        )));
    }
    SqliteStore::open(&path, config.persistence_durability)
        .map(Some)
        .map_err(err)
}
