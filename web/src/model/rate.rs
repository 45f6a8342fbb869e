//! The header's message-rate meter: messages received per second, averaged over the last
//! few whole seconds (a ring of per-second counts, so a burst shows and then fades).

/// Seconds averaged.
pub const WINDOW_S: u64 = 5;
const SLOTS: u64 = WINDOW_S + 1;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateMeter {
    /// Counts per second; `counts[s % SLOTS]` holds second `s` for the last `SLOTS` seconds.
    counts: [u64; SLOTS as usize],
    /// The second the newest count belongs to.
    second: u64,
    /// Highest count of a whole second seen (scales the meter).
    peak: u64,
    total: u64,
}

impl RateMeter {
    pub fn hit(&mut self, now_ms: u64) {
        let second = now_ms / 1000;
        if second > self.second {
            self.peak = self.peak.max(self.counts[(self.second % SLOTS) as usize]);
            for s in (self.second + 1)..=second.min(self.second + SLOTS) {
                self.counts[(s % SLOTS) as usize] = 0;
            }
            self.second = second;
        }
        if second == self.second {
            self.counts[(second % SLOTS) as usize] += 1;
        }
        self.total += 1;
    }

    /// Messages per second over the last [`WINDOW_S`] whole seconds before `now_ms`.
    pub fn per_second(&self, now_ms: u64) -> f64 {
        let now = now_ms / 1000;
        let sum: u64 = (1..=WINDOW_S)
            .filter_map(|back| now.checked_sub(back))
            .filter(|s| *s <= self.second && s + SLOTS > self.second)
            .map(|s| self.counts[(s % SLOTS) as usize])
            .sum();
        #[allow(clippy::cast_precision_loss)]
        let r = sum as f64 / WINDOW_S as f64;
        r
    }

    /// The meter's full scale: the first of 10, 20, 50, 100, 200, 500 … at or above the
    /// busiest second seen.
    pub fn scale(&self) -> u64 {
        let mut s = 10u64;
        for m in [2, 5, 10].into_iter().cycle() {
            if s >= self.peak || s > u64::MAX / 10 {
                return s;
            }
            s = s / (m / 2).max(1) * m;
        }
        s
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_whole_seconds_and_fades() {
        let mut m = RateMeter::default();
        for s in 100..110u64 {
            for i in 0..20 {
                m.hit(s * 1000 + i * 50);
            }
        }
        assert_eq!(m.per_second(110_000), 20.0);
        assert_eq!(m.per_second(112_000), 12.0, "two quiet seconds");
        assert_eq!(m.per_second(200_000), 0.0);
        assert_eq!(m.total(), 200);
        assert_eq!(m.scale(), 20);
    }

    #[test]
    fn scale_is_round() {
        let mut m = RateMeter::default();
        assert_eq!(m.scale(), 10);
        for i in 0..2_100 {
            m.hit(1_000 + i * 1000 / 2_100);
        }
        m.hit(2_000);
        assert_eq!(m.scale(), 5_000);
    }
}
