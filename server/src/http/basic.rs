//! HTTP Basic authentication against the broker's `password_file`, for `/metrics`
//! (`metrics_auth`) and the admin API. Failed attempts count against the same per-address
//! throttle as MQTT logins (`auth::throttle`).

use std::net::SocketAddr;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::throttle::Turn;
use crate::broker::Broker;

/// 401 with the Basic challenge.
pub fn challenge() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"tern\", charset=\"UTF-8\"",
        )],
        "credentials required",
    )
        .into_response()
}

/// The user name and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let decoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Checks the request's Basic credentials; the authenticated user name, or the 401 / 429
/// answer. `what` names the endpoint in the log line of a failure.
pub async fn authenticate(
    broker: &Broker,
    peer: SocketAddr,
    headers: &HeaderMap,
    what: &str,
) -> Result<String, Response> {
    let Some((user, password)) = credentials(headers) else {
        return Err(challenge());
    };
    match broker.throttle().turn(peer.ip(), Instant::now()) {
        Turn::Refuse => {
            return Err((StatusCode::TOO_MANY_REQUESTS, "too many failed logins").into_response());
        }
        Turn::After(wait) => tokio::time::sleep(wait).await,
    }
    let ok = broker
        .auth()
        .authenticate(Some(&user), Some(password.as_bytes()))
        .await
        .is_ok();
    broker.throttle().record(peer.ip(), ok, Instant::now());
    if ok {
        Ok(user)
    } else {
        tracing::warn!(%peer, user, "{what}: bad user name or password");
        Err(challenge())
    }
}
