//! Live charts: numeric series (a topic's payload number or a JSON field, see
//! [`crate::model::series`]) recorded as messages arrive, several on one chart, over a time
//! window, with pause. [`svg`] draws them; the view only places the drawing.
//!
//! Only series someone chose are recorded (a chart of 10,000 topics helps nobody); a new
//! series starts from the values the topic tree still holds.

pub mod svg;

use std::collections::VecDeque;

use crate::model::series::number_at;
use crate::state::subscriptions::PALETTE;

/// Series on the chart at most.
pub const MAX_SERIES: usize = 8;
/// Points kept per series (at 10 values a second, about 16 minutes).
pub const MAX_POINTS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    #[default]
    Minute,
    TenMinutes,
    /// Everything kept.
    All,
}

impl Window {
    pub fn millis(self) -> Option<u64> {
        match self {
            Window::Minute => Some(60_000),
            Window::TenMinutes => Some(600_000),
            Window::All => None,
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Window::Minute => "the last minute",
            Window::TenMinutes => "the last 10 minutes",
            Window::All => "all kept values",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub topic: String,
    pub field: String,
    pub color: &'static str,
    /// (time in ms, value), oldest first.
    pub points: VecDeque<(u64, f64)>,
}

impl Series {
    /// `temp`, or `house/t · sensor.temp` for a JSON field.
    pub fn label(&self) -> String {
        if self.field == crate::model::series::WHOLE {
            self.topic.clone()
        } else {
            format!("{} · {}", self.topic, self.field)
        }
    }

    pub fn last(&self) -> Option<(u64, f64)> {
        self.points.back().copied()
    }

    fn push(&mut self, at: u64, v: f64) {
        self.points.push_back((at, v));
        if self.points.len() > MAX_POINTS {
            self.points.pop_front();
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Charts {
    series: Vec<Series>,
    pub window: Window,
    /// While paused the chart shows the moment Pause was pressed; values keep coming in.
    paused_at: Option<u64>,
}

impl Charts {
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    pub fn has(&self, topic: &str, field: &str) -> bool {
        self.series
            .iter()
            .any(|s| s.topic == topic && s.field == field)
    }

    /// Adds a series, starting from `seed` (older values, oldest first). Refused (with a
    /// reason) beyond [`MAX_SERIES`].
    pub fn add(
        &mut self,
        topic: &str,
        field: &str,
        seed: impl IntoIterator<Item = (u64, f64)>,
    ) -> Result<(), String> {
        if self.has(topic, field) {
            return Ok(());
        }
        if self.series.len() >= MAX_SERIES {
            return Err(format!(
                "A chart shows at most {MAX_SERIES} series; remove one first."
            ));
        }
        let used: Vec<&str> = self.series.iter().map(|s| s.color).collect();
        let color = PALETTE
            .iter()
            .copied()
            .find(|c| !used.contains(c))
            .unwrap_or(PALETTE[0]);
        let mut s = Series {
            topic: topic.to_owned(),
            field: field.to_owned(),
            color,
            points: VecDeque::new(),
        };
        for (t, v) in seed {
            s.push(t, v);
        }
        self.series.push(s);
        Ok(())
    }

    pub fn remove(&mut self, topic: &str, field: &str) {
        self.series
            .retain(|s| !(s.topic == topic && s.field == field));
    }

    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// A message arrived: records its numbers for the series that follow its topic.
    /// Returns whether anything was recorded.
    pub fn offer(&mut self, topic: &str, payload: &[u8], at_ms: u64) -> bool {
        let mut hit = false;
        for s in &mut self.series {
            if s.topic == topic
                && let Some(v) = number_at(payload, &s.field)
            {
                s.push(at_ms, v);
                hit = true;
            }
        }
        hit
    }

    pub fn pause(&mut self, now_ms: u64) {
        self.paused_at = Some(now_ms);
    }

    pub fn resume(&mut self) {
        self.paused_at = None;
    }

    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// The time span shown at `now_ms`: `[start, end]` in ms.
    pub fn span(&self, now_ms: u64) -> (u64, u64) {
        let end = self.paused_at.unwrap_or(now_ms);
        let start = match self.window.millis() {
            Some(w) => end.saturating_sub(w),
            None => self
                .series
                .iter()
                .filter_map(|s| s.points.front().map(|p| p.0))
                .min()
                .unwrap_or(end)
                .min(end.saturating_sub(1_000)),
        };
        (start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_follow_their_topic_and_field() {
        let mut c = Charts::default();
        c.add("h/t", "t", [(1, 20.0)]).unwrap();
        c.add("h/t", "h", []).unwrap();
        c.add("h/n", "value", []).unwrap();
        assert!(c.offer("h/t", br#"{"t":21,"h":40}"#, 2));
        assert!(c.offer("h/n", b"7", 2));
        assert!(!c.offer("other", b"1", 2));
        assert!(!c.offer("h/n", b"not a number", 3));
        let pts: Vec<Vec<(u64, f64)>> = c
            .series()
            .iter()
            .map(|s| s.points.iter().copied().collect())
            .collect();
        assert_eq!(
            pts,
            [vec![(1, 20.0), (2, 21.0)], vec![(2, 40.0)], vec![(2, 7.0)]]
        );
        assert_eq!(c.series()[0].label(), "h/t · t");
        assert_eq!(c.series()[2].label(), "h/n");
        assert_ne!(c.series()[0].color, c.series()[1].color);
        c.remove("h/t", "h");
        assert_eq!(c.series().len(), 2);
    }

    #[test]
    fn series_and_points_are_bounded() {
        let mut c = Charts::default();
        for i in 0..MAX_SERIES {
            c.add(&format!("t{i}"), "value", []).unwrap();
        }
        assert!(c.add("one/more", "value", []).is_err());
        assert!(c.add("t0", "value", []).is_ok(), "already there");
        for i in 0..MAX_POINTS + 5 {
            c.offer("t0", b"1", i as u64);
        }
        assert_eq!(c.series()[0].points.len(), MAX_POINTS);
        assert_eq!(c.series()[0].points.front().unwrap().0, 5);
    }

    #[test]
    fn windows_and_pause_set_the_span() {
        let mut c = Charts::default();
        c.add("t", "value", [(5_000, 1.0)]).unwrap();
        assert_eq!(c.span(100_000), (40_000, 100_000));
        c.window = Window::TenMinutes;
        assert_eq!(c.span(1_000_000), (400_000, 1_000_000));
        c.window = Window::All;
        assert_eq!(c.span(100_000), (5_000, 100_000));
        c.pause(100_000);
        c.offer("t", b"2", 150_000);
        assert_eq!(c.span(200_000), (5_000, 100_000), "frozen while paused");
        assert!(c.is_paused());
        c.resume();
        assert_eq!(c.span(200_000).1, 200_000);
        assert_eq!(c.series()[0].points.len(), 2, "values kept coming in");
    }
}
