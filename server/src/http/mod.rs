//! The HTTP listener's routes: `GET /mqtt` upgrades to MQTT over WebSocket (section 6),
//! `GET /healthz` answers "ok", `GET /metrics` is the Prometheus scrape endpoint
//! (`metrics.rs`; always on, like `/healthz`), everything else serves the web UI (`web_ui.rs`:
//! built into the binary, or `--web-root DIR`).
//!
//! `origin.rs` decides which pages may open the WebSocket; `serve.rs` serves each HTTP(S)
//! connection with its slot and time bounds.

pub mod basic;
pub mod origin;
pub mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::trace::TraceLayer;

use crate::broker::Broker;
use crate::session::{self, SessionContext, Transport};
use crate::shutdown::Shutdown;
use crate::{metrics, web_ui, ws};

/// What the HTTP handlers need.
#[derive(Clone)]
pub struct AppState {
    pub broker: Broker,
    pub shutdown: Shutdown,
    /// `--web-root`; `None` serves the UI built into the binary.
    pub web_root: Arc<Option<PathBuf>>,
    /// Which pages may open the WebSocket (`allowed_origins`).
    pub origins: Arc<origin::OriginPolicy>,
}

/// Subprotocols we accept, in order of preference [MQTT-6.0.0-3]; `mqttv3.1` is what
/// legacy 3.1 clients offer.
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];

/// The router for the HTTP and HTTPS listeners, served per connection by `serve.rs` (or
/// with `into_make_service_with_connect_info::<SocketAddr>()`).
pub fn app(state: AppState) -> Router {
    let files = web_ui::service(state.web_root.as_deref());
    let admin = crate::admin::router(state.broker.clone());
    Router::new()
        .route("/mqtt", get(mqtt_upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback_service(files)
        .with_state(state)
        .merge(admin)
        .layer(TraceLayer::new_for_http())
}

/// The scrape: atomics only (`Broker::snapshot`), never the broker lock. With
/// `metrics_auth`, HTTP Basic credentials from the `password_file` are required, checked
/// like an MQTT login (same throttle after failures).
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if state.broker.config().metrics_auth
        && let Err(refusal) = basic::authenticate(&state.broker, peer, &headers, "/metrics").await
    {
        return refusal;
    }
    let body = metrics::render(&state.broker);
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

async fn mqtt_upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<Extension<serve::ConnSlot>>,
    secure: Option<Extension<serve::Secure>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.shutdown.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("?"));
    if !state.origins.allows(origin, text(header::HOST)) {
        tracing::warn!(%peer, origin = origin.unwrap_or_default(), "refusing WebSocket: Origin not allowed (add it to allowed_origins)");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    // The HTTP connection's `max_connections` slot becomes the session's.
    let permit = slot.and_then(|Extension(s)| s.take()).or_else(|| {
        Arc::clone(state.broker.connection_limit())
            .try_acquire_owned()
            .ok()
    });
    let Some(permit) = permit else {
        tracing::warn!(%peer, "max_connections reached, refusing WebSocket connection");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    // Count the session from now on: shutdown must wait for it even though axum runs the
    // upgraded connection on a task it does not track.
    let tracked = state.shutdown.track();
    let max = state.broker.config().effective_max_packet_size() as usize;
    ws.protocols(SUBPROTOCOLS)
        // A frame may carry several packets; the codec enforces the per-packet limit.
        .max_message_size(max.saturating_add(16).max(64 * 1024))
        .max_frame_size(max.saturating_add(16).max(64 * 1024))
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let _tracked = tracked;
            let (reader, writer) = ws::split(socket);
            let ctx = SessionContext {
                broker: state.broker.clone(),
                shutdown: state.shutdown.token().clone(),
                peer,
                transport: if secure.is_some_and(|Extension(serve::Secure(s))| s) {
                    Transport::Wss
                } else {
                    Transport::WebSocket
                },
                permit: Some(permit),
            };
            session::run(reader, writer, ctx).await;
        })
}
