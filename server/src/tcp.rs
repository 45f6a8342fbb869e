//! The MQTT-over-TCP accept loop: one session task per connection, at most
//! `max_connections` at a time (shared with WebSocket), backing off on accept errors such as
//! running out of file descriptors.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::session::{self, SessionContext, Transport};
use crate::shutdown::Shutdown;

/// Accepts until shutdown.
pub async fn accept_loop(listener: TcpListener, broker: Broker, shutdown: Shutdown) {
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            () = shutdown.token().cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(s) => {
                backoff = Duration::from_millis(10);
                s
            }
            Err(e) => {
                // EMFILE and friends: wait instead of spinning; the error is per attempt.
                tracing::error!(error = %e, "accept failed, retrying in {backoff:?}");
                tokio::select! {
                    () = shutdown.token().cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Ok(permit) = Arc::clone(broker.connection_limit()).try_acquire_owned() else {
            tracing::warn!(%peer, "max_connections reached, closing new TCP connection");
            drop(stream);
            continue;
        };
        // MQTT packets are small and latency matters more than segment count.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "set_nodelay failed");
        }
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
