//! Bounds that need more than reading one config value: topic depth, the connection budget
//! derived from the file-descriptor limit, and TCP keepalive on accepted sockets.
//!
//! The configurable limits themselves live in [`Config`](crate::Config) with their defaults
//! and are documented together in server/README.md ("Limits").

use std::time::Duration;

use tokio::net::TcpStream;

/// File descriptors kept back from `max_connections = -1` for everything that is not a
/// client connection: listeners, the persistence file, password/ACL reloads, logs.
const FD_RESERVE: u64 = 64;

/// Whether `topic` (a topic name or the inner part of a filter) has more than `max` levels;
/// `max` 0 means no limit. Counts separators and stops at the first one past the limit, so
/// a 65,535-byte topic costs no more than the limit.
pub fn too_many_levels(topic: &str, max: usize) -> bool {
    // Levels = separators + 1, so "more than max levels" = "at least max separators".
    max != 0 && topic.bytes().filter(|&b| b == b'/').take(max).count() >= max
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (as Go's runtime and nginx's
/// `worker_rlimit_nofile` do): the default soft limit of 1,024 would cap a broker at about
/// a thousand clients for no reason. Returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        let wanted = rustix::process::Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        match setrlimit(Resource::Nofile, wanted) {
            Ok(()) => lim = getrlimit(Resource::Nofile),
            Err(e) => tracing::debug!(error = %e, "cannot raise RLIMIT_NOFILE"),
        }
    }
    lim.current.unwrap_or(u64::MAX)
}

/// Connections `max_connections = -1` allows: the soft file-descriptor limit less
/// [`FD_RESERVE`] (every connection holds one descriptor), at least 1.
pub fn fd_connection_budget() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    usize::try_from(soft.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX)
}

/// TCP keepalive on accepted sockets: a client whose machine vanished (power cut, NAT
/// timeout) leaves a half-open connection that a `keep_alive = 0` session would otherwise
/// hold forever. Probes start after 2 minutes of silence, every 30 s, 4 times: such a
/// connection is reaped within 4 minutes. Live clients never notice (the kernel answers).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(120);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_RETRIES: u32 = 4;

/// Sets `SO_KEEPALIVE` with the timings above; failures are logged, not fatal.
pub fn set_keepalive(stream: &TcpStream) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_RETRIES);
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot set SO_KEEPALIVE");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_separators_plus_one() {
        assert!(!too_many_levels("a", 1));
        assert!(too_many_levels("a/b", 1));
        assert!(!too_many_levels("a/b", 2));
        assert!(!too_many_levels(&"/".repeat(199), 200), "200 levels");
        assert!(too_many_levels(&"/".repeat(200), 200), "201 levels");
        assert!(!too_many_levels(&"/".repeat(60_000), 0), "0 = no limit");
    }

    #[test]
    fn fd_budget_is_positive_and_below_the_soft_limit() {
        let soft = raise_fd_limit();
        let budget = fd_connection_budget() as u64;
        assert!(budget >= 1);
        assert!(budget < soft.max(2));
    }
}
