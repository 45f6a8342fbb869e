//! The broker's security settings at run time: the loaded `password_file` / `acl_file`
//! (replaced as a whole on SIGHUP, like Mosquitto's reload), the generation sessions compare
//! to notice a reload, and the failed-login throttle, which outlives reloads.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use super::Broker;
use crate::auth::Auth;
use crate::auth::throttle::Throttle;
use crate::error::Error;

impl Broker {
    /// The security settings in force (one `Arc` clone, taken per CONNECT).
    pub fn auth(&self) -> Arc<Auth> {
        Arc::clone(
            &self
                .inner
                .auth
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Incremented by every successful reload; a session whose ACL was computed under an
    /// older generation computes it again before its next check.
    pub fn auth_generation(&self) -> u64 {
        self.inner.auth_generation.load(Ordering::Acquire)
    }

    /// Failed logins per source address.
    pub fn throttle(&self) -> &Throttle {
        &self.inner.throttle
    }

    /// Reads `password_file` and `acl_file` again (SIGHUP). Connections stay up: new
    /// CONNECTs use the new files at once, connected clients get their ACL recomputed.
    /// A file that cannot be read or parsed leaves the old settings in force.
    pub fn reload_auth(&self) -> Result<(), Error> {
        let auth = Auth::load(self.config())?;
        *self
            .inner
            .auth
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(auth);
        self.inner.auth_generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}
