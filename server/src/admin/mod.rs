//! The admin API under `/api/v1/` on the HTTP(S) port: JSON views of the running broker
//! (connected clients, sessions, subscriptions, retained messages; paged by cursor) and the
//! operator's actions (disconnect a client, discard a session, clear a retained message).
//!
//! Who may use it (`access.rs`): with a `password_file`, HTTP Basic credentials of a user in
//! `admin_users`; without one, requests from loopback addresses only. `admin_api = false`
//! removes the routes. Every destructive call is logged with who made it.
//!
//! Endpoints (server/README.md "Admin API" has `curl` examples):
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/v1/clients?client_id=&after=&limit=` | connected clients |
//! | `GET /api/v1/sessions?client_id=&after=&limit=` | sessions, offline ones included |
//! | `GET /api/v1/subscriptions?client_id=&after=&limit=` | subscriptions |
//! | `GET /api/v1/retained?prefix=&after=&limit=` | retained messages |
//! | `DELETE /api/v1/clients/{client_id}` | disconnect (v5 DISCONNECT 0x98) |
//! | `DELETE /api/v1/sessions/{client_id}` | disconnect if connected, discard the session |
//! | `DELETE /api/v1/retained/{topic}` | clear the retained message |

mod access;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::broker::Broker;
use crate::broker::admin::PageRequest;
use crate::http::serve::Secure;

/// Page size when none is asked for, and the most one request may ask for.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// The admin routes (empty with `admin_api = false`), to merge into the HTTP app.
pub fn router(broker: Broker) -> Router {
    // Anything else under /api/ is a 404, not the web UI's index.html.
    if !broker.config().admin_api {
        return Router::new().route("/api/{*rest}", any(no_such_endpoint));
    }
    Router::new()
        .route("/api/{*rest}", any(no_such_endpoint))
        .route("/api/v1/clients", get(clients))
        .route("/api/v1/clients/{client_id}", delete(disconnect))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{client_id}", delete(discard))
        .route("/api/v1/subscriptions", get(subscriptions))
        .route("/api/v1/retained", get(retained))
        .route("/api/v1/retained/{*topic}", delete(clear_retained))
        .with_state(broker)
}

async fn no_such_endpoint() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such API endpoint (or admin_api = false)",
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct Paging {
    client_id: Option<String>,
    prefix: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

impl Paging {
    fn request(&self) -> PageRequest<'_> {
        PageRequest {
            prefix: self
                .client_id
                .as_deref()
                .or(self.prefix.as_deref())
                .unwrap_or(""),
            after: self.after.as_deref(),
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        }
    }
}

/// What every handler receives to check access.
struct Caller<'a> {
    broker: &'a Broker,
    peer: SocketAddr,
    headers: &'a HeaderMap,
    secure: bool,
}

macro_rules! caller {
    ($b:expr, $peer:expr, $headers:expr, $secure:expr) => {
        Caller {
            broker: &$b,
            peer: $peer,
            headers: &$headers,
            secure: $secure.map_or(false, |Extension(Secure(s))| s),
        }
    };
}

async fn clients(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Query(q): Query<Paging>,
) -> Response {
    if let Err(r) = access::check(&caller!(b, peer, headers, secure)).await {
        return r;
    }
    Json(b.clients_page(q.request())).into_response()
}

async fn sessions(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Query(q): Query<Paging>,
) -> Response {
    if let Err(r) = access::check(&caller!(b, peer, headers, secure)).await {
        return r;
    }
    Json(b.sessions_page(q.request())).into_response()
}

async fn subscriptions(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Query(q): Query<Paging>,
) -> Response {
    if let Err(r) = access::check(&caller!(b, peer, headers, secure)).await {
        return r;
    }
    Json(b.subscriptions_page(q.request())).into_response()
}

async fn retained(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Query(q): Query<Paging>,
) -> Response {
    if let Err(r) = access::check(&caller!(b, peer, headers, secure)).await {
        return r;
    }
    Json(b.retained_page(q.request())).into_response()
}

/// 204 when done, 404 when there was nothing to act on.
fn outcome(done: bool) -> Response {
    if done {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, "no such client, session or topic").into_response()
    }
}

async fn disconnect(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let who = match access::check(&caller!(b, peer, headers, secure)).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    let done = b.admin_disconnect(&client_id, false);
    tracing::warn!(%who, %peer, client_id, done, "admin API: disconnect client");
    outcome(done)
}

async fn discard(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Path(client_id): Path<String>,
) -> Response {
    let who = match access::check(&caller!(b, peer, headers, secure)).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    let done = b.admin_disconnect(&client_id, true);
    tracing::warn!(%who, %peer, client_id, done, "admin API: discard session");
    outcome(done)
}

async fn clear_retained(
    State(b): State<Broker>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    secure: Option<Extension<Secure>>,
    headers: HeaderMap,
    Path(topic): Path<String>,
) -> Response {
    let who = match access::check(&caller!(b, peer, headers, secure)).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    let done = b.admin_clear_retained(&topic);
    tracing::warn!(%who, %peer, topic, done, "admin API: clear retained message");
    outcome(done)
}
