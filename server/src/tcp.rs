//! The MQTT-over-TCP accept loop: one session task per connection, at most
//! `max_connections` at a time (shared with WebSocket and TLS), backing off on accept errors
//! such as running out of file descriptors. [`accept`] is shared with the TLS listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::session::{self, SessionContext, Transport};
use crate::shutdown::Shutdown;

/// First wait after a failed `accept`; doubled per consecutive failure up to 1 s.
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(10);

/// The next connection, or `None` on shutdown. Accept errors (EMFILE and friends) are per
/// attempt: wait instead of spinning, doubling `backoff` up to 1 s.
pub(crate) async fn accept(
    listener: &TcpListener,
    shutdown: &CancellationToken,
    backoff: &mut Duration,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return None,
            r = listener.accept() => r,
        };
        match accepted {
            Ok(s) => {
                *backoff = BACKOFF_START;
                // MQTT packets are small and latency matters more than segment count.
                if let Err(e) = s.0.set_nodelay(true) {
                    tracing::debug!(peer = %s.1, error = %e, "set_nodelay failed");
                }
                // Half-open connections (a vanished client with keep alive 0) are reaped.
                crate::limits::set_keepalive(&s.0);
                return Some(s);
            }
            Err(e) => {
                tracing::error!(error = %e, "accept failed, retrying in {backoff:?}");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(*backoff) => {}
                }
                *backoff = (*backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Accepts until shutdown.
pub async fn accept_loop(listener: TcpListener, broker: Broker, shutdown: Shutdown) {
    let mut backoff = BACKOFF_START;
    while let Some((stream, peer)) = accept(&listener, shutdown.token(), &mut backoff).await {
        let Ok(permit) = Arc::clone(broker.connection_limit()).try_acquire_owned() else {
            tracing::warn!(%peer, "max_connections reached, closing new TCP connection");
            drop(stream);
            continue;
        };
        let ctx = SessionContext {
            broker: broker.clone(),
            shutdown: shutdown.token().clone(),
            peer,
            transport: Transport::Tcp,
            permit: Some(permit),
        };
        shutdown.spawn(async move {
            let (reader, writer) = stream.into_split();
            session::run(reader, writer, ctx).await;
        });
    }
}
