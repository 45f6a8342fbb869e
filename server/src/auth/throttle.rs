//! Slowing down password guessing: failed logins delay the next ones from the same source.
//!
//! After `n` failed attempts from an address, each further attempt from it waits its turn:
//! turns are `BASE_DELAY × 2^(n-1)` apart, at most `MAX_DELAY`, so attempts are serialised
//! (opening many connections at once does not help) and a password file cannot be tried at
//! line rate: after 10 failures, one guess per 5 s. An attempt that would have to wait more
//! than `MAX_WAIT` is refused at once without checking the password ("connection rate
//! exceeded"). A success forgets the address; so does `FORGET_AFTER` without failures.
//!
//! IPv6 sources are grouped by /64 (one customer's allocation), IPv4 by address. At most
//! `MAX_TRACKED` sources are remembered; when full, expired entries are swept, then the
//! oldest is dropped — so the table's memory is bounded whatever the attacker's address space.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const BASE_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);
const MAX_WAIT: Duration = Duration::from_secs(10);
const FORGET_AFTER: Duration = Duration::from_secs(600);
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Earliest time the next attempt may be checked.
    next_turn: Instant,
    last_failure: Instant,
}

impl Entry {
    fn delay(&self) -> Duration {
        let shift = self.failures.saturating_sub(1).min(16);
        (BASE_DELAY * (1u32 << shift)).min(MAX_DELAY)
    }
}

/// What an attempt must do before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Check now, or after waiting this long.
    After(Duration),
    /// Too many queued attempts from this source: refuse without checking.
    Refuse,
}

/// Failed-login bookkeeping per source address.
#[derive(Debug, Default)]
pub struct Throttle {
    sources: Mutex<HashMap<IpAddr, Entry>>,
}

/// The key an address is counted under: IPv6 by /64 prefix.
fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Throttle {
    /// Takes the next turn for an attempt from `ip` at `now`.
    pub fn turn(&self, ip: IpAddr, now: Instant) -> Turn {
        let mut map = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(e) = map.get_mut(&source(ip)) else {
            return Turn::After(Duration::ZERO);
        };
        if now.duration_since(e.last_failure) > FORGET_AFTER {
            map.remove(&source(ip));
            return Turn::After(Duration::ZERO);
        }
        let at = e.next_turn.max(now);
        let wait = at - now;
        if wait > MAX_WAIT {
            return Turn::Refuse;
        }
        e.next_turn = at + e.delay();
        Turn::After(wait)
    }

    /// Records the outcome of a checked attempt.
    pub fn record(&self, ip: IpAddr, ok: bool, now: Instant) {
        let key = source(ip);
        let mut map = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if ok {
            map.remove(&key);
            return;
        }
        if !map.contains_key(&key) && map.len() >= MAX_TRACKED {
            map.retain(|_, e| now.duration_since(e.last_failure) <= FORGET_AFTER);
            if map.len() >= MAX_TRACKED
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.last_failure)
                    .map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        let e = map.entry(key).or_insert(Entry {
            failures: 0,
            next_turn: now,
            last_failure: now,
        });
        e.failures = e.failures.saturating_add(1);
        e.last_failure = now;
        e.next_turn = e.next_turn.max(now + e.delay());
    }

    /// Sources currently remembered.
    pub fn len(&self) -> usize {
        self.sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_space_out_further_attempts_exponentially() {
        let t = Throttle::default();
        let a = ip("192.0.2.1");
        let now = Instant::now();
        assert_eq!(t.turn(a, now), Turn::After(Duration::ZERO));
        t.record(a, false, now);
        // One failure: the next attempt waits 100 ms, the one after it 200 ms more.
        assert_eq!(t.turn(a, now), Turn::After(Duration::from_millis(100)));
        assert_eq!(t.turn(a, now), Turn::After(Duration::from_millis(200)));
        for _ in 0..20 {
            t.record(a, false, now);
        }
        // Capped delay; parallel attempts queue up until the wait bound, then are refused.
        let mut refused = false;
        for _ in 0..10 {
            refused |= t.turn(a, now) == Turn::Refuse;
        }
        assert!(refused);
        // Other sources are not affected; a success forgets the source.
        assert_eq!(t.turn(ip("192.0.2.2"), now), Turn::After(Duration::ZERO));
        t.record(a, true, now);
        assert_eq!(t.turn(a, now), Turn::After(Duration::ZERO));
    }

    #[test]
    fn ipv6_counts_per_64_and_old_failures_are_forgotten() {
        let t = Throttle::default();
        let now = Instant::now();
        t.record(ip("2001:db8::1"), false, now);
        assert_ne!(
            t.turn(ip("2001:db8::ffff"), now),
            Turn::After(Duration::ZERO)
        );
        let later = now + FORGET_AFTER + Duration::from_secs(1);
        assert_eq!(
            t.turn(ip("2001:db8::1"), later),
            Turn::After(Duration::ZERO)
        );
        assert!(t.is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 500) {
            t.record(IpAddr::V4(i.into()), false, now);
        }
        assert_eq!(t.len(), MAX_TRACKED);
    }
}
