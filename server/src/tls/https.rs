//! The HTTPS listener: the same axum app as the HTTP listener (web UI, `/mqtt` WebSocket,
//! `/healthz`, `/metrics`) behind our own TLS accept loop, each connection served by
//! hyper-util. `axum::serve` only takes plain listeners, hence the loop.
//!
//! A `max_connections` slot is held during the TLS handshake (which has the
//! `connect_timeout` deadline); afterwards the connection is plain HTTP, which, as on the HTTP
//! listener, holds no slot: a WebSocket upgrade on `/mqtt` takes its own (`http.rs`).
//! Connection tasks are tracked, and on shutdown each one is asked to finish gracefully
//! (idle keep-alive connections close at once, requests in progress complete).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::broker::Broker;
use crate::shutdown::Shutdown;
use crate::tcp;

/// Accepts until shutdown.
pub async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    broker: Broker,
    shutdown: Shutdown,
) {
    // Gives every connection's requests `ConnectInfo<SocketAddr>`, which `/mqtt` reads.
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut backoff = tcp::BACKOFF_START;
    while let Some((stream, peer)) = tcp::accept(&listener, shutdown.token(), &mut backoff).await {
        let Ok(permit) = Arc::clone(broker.connection_limit()).try_acquire_owned() else {
            tracing::warn!(%peer, "max_connections reached, closing new HTTPS connection");
            drop(stream);
            continue;
        };
        let service = match make_service.call(peer).await {
            Ok(s) => s,
            Err(never) => match never {},
        };
        let acceptor = acceptor.clone();
        let token = shutdown.token().clone();
        let deadline = broker.config().connect_timeout;
        shutdown.spawn(async move {
            let Some(tls) = super::handshake(&acceptor, stream, peer, deadline, &token).await
            else {
                return;
            };
            drop(permit);
            let mut builder = auto::Builder::new(TokioExecutor::new());
            // A client that opens a connection and trickles a request header must not keep
            // the task forever.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(deadline);
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(tls),
                TowerToHyperService::new(service),
            );
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = token.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "HTTPS connection ended with an error");
            }
        });
    }
}
