//! The HTTPS listener: the same axum app as the HTTP listener (web UI, `/mqtt` WebSocket,
//! `/healthz`, `/metrics`) behind our own TLS accept loop, each connection served by
//! hyper-util. `axum::serve` only takes plain listeners, hence the loop.
//!
//! A `max_connections` slot is held from accept on: during the TLS handshake (which has the
//! `connect_timeout` deadline), then by the HTTP connection, whose WebSocket upgrade on
//! `/mqtt` takes it over (`http/serve.rs`, which also bounds header reads and idle time).
//! Connection tasks are tracked, and on shutdown each one is asked to finish gracefully
//! (idle keep-alive connections close at once, requests in progress complete).

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::broker::Broker;
use crate::http::serve;
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
    let mut backoff = tcp::BACKOFF_START;
    while let Some((stream, peer)) = tcp::accept(&listener, shutdown.token(), &mut backoff).await {
        let Ok(permit) = Arc::clone(broker.connection_limit()).try_acquire_owned() else {
            tracing::warn!(%peer, "max_connections reached, closing new HTTPS connection");
            drop(stream);
            continue;
        };
        let (acceptor, app, token) = (acceptor.clone(), app.clone(), shutdown.token().clone());
        let deadline = broker.config().connect_timeout;
        let limits = serve::Limits::of(&broker);
        shutdown.spawn(async move {
            let Some(tls) = super::handshake(&acceptor, stream, peer, deadline, &token).await
            else {
                return;
            };
            serve::connection(tls, peer, app, permit, limits, true, token).await;
        });
    }
}
