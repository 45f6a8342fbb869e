//! View state in plain Rust: what the screens show, with the rules that decide it. The
//! components only render it; the native tests exercise it.

pub mod json;
pub mod messages;
pub mod payload;
pub mod properties;
pub mod publish_props;
pub mod subscriptions;

/// `HH:MM:SS.mmm` local time for `epoch_ms`, given the browser's `getTimezoneOffset()`
/// (minutes to add to local time to get UTC).
pub fn clock(epoch_ms: u64, tz_offset_minutes: i64) -> String {
    let local_ms = i128::from(epoch_ms) - i128::from(tz_offset_minutes) * 60_000;
    let day_ms = local_ms.rem_euclid(86_400_000);
    let (h, rest) = (day_ms / 3_600_000, day_ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn clock_has_milliseconds_and_applies_the_offset() {
        // 2024-01-01T12:34:56.789Z
        let t = 1_704_112_496_789;
        assert_eq!(clock(t, 0), "12:34:56.789");
        assert_eq!(clock(t, -60), "13:34:56.789"); // UTC+1
        assert_eq!(clock(t, 13 * 60), "23:34:56.789"); // UTC-13, previous day
        assert_eq!(clock(5, 0), "00:00:00.005");
    }
}
