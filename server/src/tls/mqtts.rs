//! The MQTT-over-TLS accept loop (Mosquitto's `listener 8883` with `certfile`/`keyfile`).
//! Like the TCP loop, but the `max_connections` slot is taken before the TLS handshake, so
//! clients stuck in the handshake count too, and the handshake has the `connect_timeout`
//! deadline. The session itself is the same as over TCP.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::broker::Broker;
use crate::session::{self, SessionContext, Transport};
use crate::shutdown::Shutdown;
use crate::tcp;

/// Accepts until shutdown.
pub async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    broker: Broker,
    shutdown: Shutdown,
) {
    let mut backoff = tcp::BACKOFF_START;
    while let Some((stream, peer)) = tcp::accept(&listener, shutdown.token(), &mut backoff).await {
        let Ok(permit) = Arc::clone(broker.connection_limit()).try_acquire_owned() else {
            tracing::warn!(%peer, "max_connections reached, closing new TLS connection");
            drop(stream);
            continue;
        };
        let acceptor = acceptor.clone();
        let broker = broker.clone();
        let token = shutdown.token().clone();
        shutdown.spawn(async move {
            let deadline = broker.config().connect_timeout;
            let Some(tls) = super::handshake(&acceptor, stream, peer, deadline, &token).await
            else {
                return;
            };
            // Counted and labelled as TCP in /metrics and $SYS: the MQTT session is the same.
            let ctx = SessionContext {
                broker,
                shutdown: token,
                peer,
                transport: Transport::Tls,
                permit: Some(permit),
            };
            let (reader, writer) = tokio::io::split(tls);
            session::run(reader, writer, ctx).await;
        });
    }
}
