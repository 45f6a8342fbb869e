//! Serving one HTTP or HTTPS connection with the app, bounded in time and in number.
//!
//! `axum::serve` has no header-read timeout and no connection limit: 400 clients that sent
//! half a request line and stopped were held forever. Both listeners therefore run their own
//! accept loops and serve each connection here with hyper-util:
//! - every connection holds a `max_connections` slot, like an MQTT connection; a WebSocket
//!   upgrade on `/mqtt` takes that same slot over (`ConnSlot`), so a session counts once;
//! - a request's header must arrive within `connect_timeout` (hyper's header-read timeout);
//! - a connection with no bytes in either direction for `http_idle_timeout` is closed (idle
//!   keep-alive connections, HTTP/2 prefaces that never complete);
//! - on shutdown each connection finishes its requests and closes.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::broker::Broker;
use crate::shutdown::Shutdown;
use crate::tcp;

/// The `max_connections` slot of the HTTP connection a request came on, for a WebSocket
/// upgrade to take over (a request extension).
#[derive(Clone, Debug)]
pub struct ConnSlot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl ConnSlot {
    pub fn new(permit: OwnedSemaphorePermit) -> ConnSlot {
        ConnSlot(Arc::new(Mutex::new(Some(permit))))
    }

    /// Moves the slot out; the connection then no longer releases it when it ends.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Whether a request came over TLS (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct Secure(pub bool);

/// Accepts plain HTTP connections until shutdown.
pub async fn accept_loop(listener: TcpListener, app: Router, broker: Broker, shutdown: Shutdown) {
    let mut backoff = tcp::BACKOFF_START;
    while let Some((stream, peer)) = tcp::accept(&listener, shutdown.token(), &mut backoff).await {
        let Ok(permit) = Arc::clone(broker.connection_limit()).try_acquire_owned() else {
            tracing::warn!(%peer, "max_connections reached, closing new HTTP connection");
            drop(stream);
            continue;
        };
        let limits = Limits::of(&broker);
        let (app, token) = (app.clone(), shutdown.token().clone());
        shutdown.spawn(async move {
            connection(stream, peer, app, permit, limits, false, token).await;
        });
    }
}

/// The time bounds of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read: Duration,
    pub idle: Duration,
}

impl Limits {
    pub fn of(broker: &Broker) -> Limits {
        let c = broker.config();
        Limits {
            header_read: c.connect_timeout,
            idle: c.http_idle_timeout,
        }
    }
}

/// Serves `io` until the client closes it, it idles out, or shutdown.
pub async fn connection<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    permit: OwnedSemaphorePermit,
    limits: Limits,
    secure: bool,
    token: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = Watched {
        io,
        started,
        last: Arc::clone(&last),
    };
    let service = PerConnection {
        app,
        peer,
        slot: ConnSlot::new(permit),
        secure,
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let idle = tokio::time::sleep(limits.idle);
    tokio::pin!(idle);
    let result = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            () = token.cancelled() => {
                conn.as_mut().graceful_shutdown();
                break conn.await;
            }
            () = &mut idle => {
                let active = started + Duration::from_millis(last.load(Ordering::Relaxed));
                let due = active + limits.idle;
                if due <= Instant::now() {
                    tracing::debug!(%peer, "closing idle HTTP connection");
                    return;
                }
                idle.as_mut().reset(due);
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}

/// The router with what a connection adds to each request: the peer address (as
/// `into_make_service_with_connect_info` would) and the connection's slot.
#[derive(Clone)]
struct PerConnection {
    app: Router,
    peer: SocketAddr,
    slot: ConnSlot,
    secure: bool,
}

impl Service<Request<hyper::body::Incoming>> for PerConnection {
    type Response = <Router as Service<Request>>::Response;
    type Error = <Router as Service<Request>>::Error;
    type Future = <Router as Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        <Router as Service<Request>>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, req: Request<hyper::body::Incoming>) -> Self::Future {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        req.extensions_mut().insert(self.slot.clone());
        req.extensions_mut().insert(Secure(self.secure));
        self.app.call(req)
    }
}

/// Records when bytes last moved, for the idle timeout (milliseconds since `started`).
struct Watched<I> {
    io: I,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl<I> Watched<I> {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
