//! Who may use the admin API.
//!
//! - With a `password_file`: HTTP Basic credentials of a user of that file who is listed in
//!   `admin_users` (an empty list admits nobody). The page's console sends the credentials
//!   the user connected with.
//! - Without one (an open broker): only requests from a loopback address; the broker holds
//!   no identity to check, and anyone who can reach the port must not be able to kick
//!   clients.
//! - With an HTTPS listener configured, credentials are only accepted over it (or from
//!   loopback): they are not sent in clear text over the network.

use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Caller;
use crate::http::basic;

/// Who made a request (for the log line of a destructive call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    User(String),
    /// No password file: a process on this machine.
    Loopback,
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::User(u) => write!(f, "user {u}"),
            Who::Loopback => f.write_str("loopback (no password_file)"),
        }
    }
}

fn refuse(code: StatusCode, why: &'static str) -> Response {
    (code, why).into_response()
}

pub(super) async fn check(c: &Caller<'_>) -> Result<Who, Response> {
    let config = c.broker.config();
    let loopback = c.peer.ip().is_loopback()
        || matches!(c.peer.ip(), std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()));
    if !c.broker.auth().has_password_file() {
        return if loopback {
            Ok(Who::Loopback)
        } else {
            tracing::warn!(peer = %c.peer, "admin API refused: without a password_file only loopback clients may use it");
            Err(refuse(
                StatusCode::FORBIDDEN,
                "the admin API is only open to loopback clients when no password_file is set",
            ))
        };
    }
    if config.https.is_some() && !c.secure && !loopback {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "use the https listener for the admin API",
        ));
    }
    let user = basic::authenticate(c.broker, c.peer, c.headers, "admin API").await?;
    if !config.admin_users.contains(&user) {
        tracing::warn!(peer = %c.peer, user, "admin API refused: not in admin_users");
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "this user is not in admin_users",
        ));
    }
    Ok(Who::User(user))
}
