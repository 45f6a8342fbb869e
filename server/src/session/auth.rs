//! The session's side of authentication and authorization: admitting a CONNECT, and the
//! write / subscribe / read checks. Each check is one `Option` test when no `acl_file` is
//! configured.

use std::net::IpAddr;
use std::time::Instant;

use tern_codec::{Connect, ReasonCode};

use super::Session;
use super::connect::Refusal;
use crate::auth::throttle::Turn;
use crate::auth::{Access, ClientAcl, Refused};
use crate::broker::Broker;

/// Checks CONNECT's credentials and its will against the ACL; returns the client's ACL.
/// A CONNECT with a user name, checked against a `password_file`, waits its turn after
/// failed logins from the same source address (`auth::throttle`).
pub(super) async fn admit(
    broker: &Broker,
    peer: IpAddr,
    c: &Connect,
    client_id: &str,
    username: Option<&str>,
) -> Result<Option<Box<ClientAcl>>, Refusal> {
    let auth = broker.auth();
    let checked = username.is_some() && auth.has_password_file();
    if checked {
        match broker.throttle().turn(peer, Instant::now()) {
            Turn::After(wait) if wait.is_zero() => {}
            Turn::After(wait) => tokio::time::sleep(wait).await,
            Turn::Refuse => {
                // v5 0x9F; 3.1.1 CONNACK 3 Server unavailable (no closer code exists).
                return Err((
                    ReasonCode::ConnectionRateExceeded,
                    "too many failed logins from this address: try again later",
                ));
            }
        }
    }
    let outcome = auth.authenticate(username, c.password.as_deref()).await;
    if checked {
        broker
            .throttle()
            .record(peer, outcome.is_ok(), Instant::now());
    }
    if let Err(refused) = outcome {
        // 3.1.1 return code 4 / 5 (section 3.2.2.3), v5 0x86 / 0x87 (section 3.2.2.2);
        // the codec writes the 3.1.1 code for the v5 one.
        return Err(match refused {
            Refused::NotAuthorized => (
                ReasonCode::NotAuthorized,
                "not authorized: anonymous clients are not allowed (allow_anonymous false)",
            ),
            Refused::BadUserNameOrPassword => (
                ReasonCode::BadUserNameOrPassword,
                "bad user name or password",
            ),
        });
    }
    let acl = auth.client_acl(client_id, username);
    if let (Some(acl), Some(will)) = (&acl, &c.will)
        && !acl.allows(will.topic.as_str(), Access::WRITE)
    {
        // A will is published on the client's behalf, so it needs the client's write
        // access; refusing at CONNECT tells the client now instead of dropping the will
        // when it would be sent.
        return Err((
            ReasonCode::NotAuthorized,
            "not authorized: the acl_file does not allow this client to write the will topic",
        ));
    }
    Ok(acl)
}

impl Session {
    /// Recomputes this client's ACL after `password_file` / `acl_file` were reloaded
    /// (one atomic load when nothing changed). Called once per turn of the session loop.
    pub(super) fn refresh_acl(&mut self) {
        let generation = self.broker.auth_generation();
        if generation != self.acl_generation {
            self.acl_generation = generation;
            self.acl = self
                .broker
                .auth()
                .client_acl(&self.client_id, self.username.as_deref());
        }
    }

    /// Write access for a PUBLISH from this client.
    pub(super) fn may_publish(&self, topic: &str) -> bool {
        let ok = self
            .acl
            .as_ref()
            .is_none_or(|acl| acl.allows(topic, Access::WRITE));
        if !ok {
            tracing::debug!(client_id = %self.client_id, %topic, "PUBLISH denied by acl_file");
        }
        ok
    }

    /// Whether a SUBSCRIBE to `filter` (without any `$share/group/` prefix) is granted.
    pub(super) fn may_subscribe(&self, filter: &str) -> bool {
        let ok = self
            .acl
            .as_ref()
            .is_none_or(|acl| acl.may_subscribe(filter));
        if !ok {
            tracing::info!(client_id = %self.client_id, %filter, "SUBSCRIBE denied by acl_file");
        }
        ok
    }

    /// Read access for one message about to be delivered (live, retained, will, `$SYS`).
    pub(super) fn may_read(&self, topic: &str) -> bool {
        self.acl
            .as_ref()
            .is_none_or(|acl| acl.allows(topic, Access::READ))
    }
}
