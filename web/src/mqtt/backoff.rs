//! Exponential back-off between reconnect attempts, with jitter so that a class of thirty
//! browsers does not hammer a restarted broker in lock-step.

pub const BASE_MS: u64 = 1_000;
pub const MAX_MS: u64 = 30_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The wait before the next attempt: 1 s, 2 s, 4 s … capped at 30 s, each scaled by a
    /// factor in [0.75, 1.25) from `jitter` in [0, 1).
    pub fn next_delay(&mut self, jitter: f64) -> u64 {
        let exp = BASE_MS.saturating_mul(1 << self.attempt.min(5)).min(MAX_MS);
        self.attempt = self.attempt.saturating_add(1);
        let factor = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )] // small positive milliseconds
        let ms = (exp as f64 * factor) as u64;
        ms.min(MAX_MS)
    }

    /// Attempts since the last successful connection.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Whole seconds left, rounded up, for the visible countdown.
pub fn seconds_left(remaining_ms: u64) -> u64 {
    remaining_ms.div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<u64> = (0..8).map(|_| b.next_delay(0.5)).collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(b.attempt(), 8);
        b.reset();
        assert_eq!(b.next_delay(0.5), 1_000);
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let mut lo = Backoff::default();
        let mut hi = Backoff::default();
        assert_eq!(lo.next_delay(0.0), 750);
        assert_eq!(hi.next_delay(0.999_999), 1_249);
        assert!(
            hi.next_delay(7.0) <= 2_500,
            "out-of-range jitter is clamped"
        );
    }

    #[test]
    fn countdown_rounds_up() {
        assert_eq!(seconds_left(0), 0);
        assert_eq!(seconds_left(1), 1);
        assert_eq!(seconds_left(1_000), 1);
        assert_eq!(seconds_left(1_001), 2);
    }
}
