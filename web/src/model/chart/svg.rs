//! The chart drawn as one SVG string: nice value ticks, time ticks, a polyline per series
//! (thinned to two points per pixel column, so a long window stays a small drawing), and
//! the hover line with the nearest value of each series.

use std::fmt::Write;

use super::Charts;
use crate::model::html::push_esc;
use crate::model::num::{self, fixed};
use crate::state::clock;

/// The drawing's coordinate space (it scales with the page).
pub const W: f64 = 800.0;
pub const H: f64 = 280.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// What one hover position reads: the time under the pointer and, per series, its nearest
/// value (label, colour, time, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Hover {
    pub at_ms: u64,
    pub values: Vec<(String, &'static str, u64, f64)>,
}

struct Frame {
    t0: u64,
    t1: u64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn x(&self, t: u64) -> f64 {
        #[allow(clippy::cast_precision_loss)] // milliseconds within a window
        let f = t.saturating_sub(self.t0) as f64 / (self.t1 - self.t0).max(1) as f64;
        LEFT + f * (W - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        let f = (v - self.y0) / (self.y1 - self.y0);
        H - BOTTOM - f * (H - TOP - BOTTOM)
    }

    fn time_at(&self, x: f64) -> u64 {
        let f = ((x - LEFT) / (W - LEFT - RIGHT)).clamp(0.0, 1.0);
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let dt = (f * (self.t1 - self.t0) as f64) as u64;
        self.t0 + dt
    }
}

fn frame(c: &Charts, now_ms: u64) -> Frame {
    let (t0, t1) = c.span(now_ms);
    let t1 = t1.max(t0 + 1);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in c.series() {
        for (_, v) in visible(&s.points, t0, t1) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let pad = (hi - lo) * 0.08;
    Frame {
        t0,
        t1,
        y0: lo - pad,
        y1: hi + pad,
    }
}

fn visible(
    points: &std::collections::VecDeque<(u64, f64)>,
    t0: u64,
    t1: u64,
) -> impl Iterator<Item = (u64, f64)> + '_ {
    let start = points.partition_point(|p| p.0 < t0);
    points
        .range(start..)
        .take_while(move |p| p.0 <= t1)
        .copied()
}

/// About `n` round values covering `[lo, hi]` (steps of 1, 2 or 5 × 10^k).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> (Vec<f64>, u32) {
    #[allow(clippy::cast_precision_loss)]
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = num::pow10(num::floor_log10(raw));
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let decimals = (-num::floor_log10(step)).max(0).unsigned_abs();
    let mut v = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while v <= hi + step * 1e-9 && out.len() < 50 {
        out.push(v);
        v += step;
    }
    (out, decimals)
}

/// A time step giving at most about six ticks over `span_ms`.
fn time_step(span_ms: u64) -> u64 {
    const STEPS: [u64; 14] = [
        1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
        1_800_000, 3_600_000, 7_200_000,
    ];
    STEPS
        .into_iter()
        .find(|s| span_ms / s <= 6)
        .unwrap_or(86_400_000)
}

/// The accessible name: "Chart: " and what is plotted, with each series' last value.
pub fn label(c: &Charts) -> String {
    if c.series().is_empty() {
        return "Chart: no series yet".into();
    }
    let parts: Vec<String> = c
        .series()
        .iter()
        .map(|s| match s.last() {
            Some((_, v)) => format!("{} (last {})", s.label(), short(v)),
            None => s.label(),
        })
        .collect();
    let paused = if c.is_paused() { ", paused" } else { "" };
    format!(
        "Chart: {} over {}{paused}",
        parts.join(", "),
        c.window.words()
    )
}

/// A value with up to 4 decimals, without trailing zeros.
pub fn short(v: f64) -> String {
    num::short(v, 4)
}

/// A drawing coordinate with one decimal, without float formatting.
fn d1(v: f64) -> String {
    fixed(v, 1)
}

/// The nearest value of each series to the time under `x` (drawing units).
pub fn hover(c: &Charts, now_ms: u64, x: f64) -> Option<Hover> {
    let f = frame(c, now_ms);
    if c.series().is_empty() || !(LEFT..=W - RIGHT).contains(&x) {
        return None;
    }
    let at = f.time_at(x);
    let values = c
        .series()
        .iter()
        .filter_map(|s| {
            visible(&s.points, f.t0, f.t1)
                .min_by_key(|p| p.0.abs_diff(at))
                .map(|(t, v)| (s.label(), s.color, t, v))
        })
        .collect();
    Some(Hover { at_ms: at, values })
}

/// The whole chart; `hover_x` draws the hover line there.
pub fn svg(c: &Charts, now_ms: u64, tz: i64, hover_x: Option<f64>) -> String {
    let f = frame(c, now_ms);
    let mut h = String::with_capacity(8 * 1024);
    h.push_str(
        r#"<svg role="img" viewBox="0 0 800 280" preserveAspectRatio="xMidYMid meet" class="chart" aria-label=""#,
    );
    push_esc(&mut h, &label(c));
    h.push_str(r#""><g class="grid">"#);
    let (ticks, decimals) = nice_ticks(f.y0, f.y1, 5);
    for v in ticks {
        let _ = write!(
            h,
            r#"<line x1="{}" x2="{}" y1="{y}" y2="{y}"/><text x="{}" y="{}" text-anchor="end">{}</text>"#,
            d1(LEFT),
            d1(W - RIGHT),
            d1(LEFT - 6.0),
            d1(f.y(v) + 4.0),
            fixed(v, decimals),
            y = d1(f.y(v)),
        );
    }
    let step = time_step(f.t1 - f.t0);
    let mut t = f.t0.div_ceil(step) * step;
    while t <= f.t1 {
        let x = d1(f.x(t));
        let text = &clock(t, tz)[..8];
        let _ = write!(
            h,
            r#"<line x1="{x}" x2="{x}" y1="{}" y2="{}"/><text x="{x}" y="{}" text-anchor="middle">{text}</text>"#,
            d1(TOP),
            d1(H - BOTTOM),
            d1(H - 8.0)
        );
        t += step;
    }
    h.push_str("</g>");
    if c.series().is_empty() {
        h.push_str(r#"<text x="400" y="140" text-anchor="middle" class="chart-empty">Select a topic with numbers to plot them here.</text>"#);
    }
    // Two points (min and max) per pixel column at most.
    let columns = (W - LEFT - RIGHT) as usize;
    for s in c.series() {
        let pts: Vec<(u64, f64)> = visible(&s.points, f.t0, f.t1).collect();
        let _ = write!(
            h,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round" points=""#,
            s.color
        );
        if pts.len() <= 2 * columns {
            for (t, v) in &pts {
                let _ = write!(h, "{},{} ", d1(f.x(*t)), d1(f.y(*v)));
            }
        } else {
            thin(&mut h, &f, &pts, columns);
        }
        h.push_str(r#""/>"#);
        if let Some((t, v)) = pts.last() {
            let _ = write!(
                h,
                r#"<circle cx="{}" cy="{}" r="3" fill="{}"/>"#,
                d1(f.x(*t)),
                d1(f.y(*v)),
                s.color
            );
        }
    }
    if let Some(x) = hover_x
        && let Some(hv) = hover(c, now_ms, x)
    {
        let _ = write!(
            h,
            r#"<line class="hover" x1="{x}" x2="{x}" y1="{}" y2="{}"/>"#,
            d1(TOP),
            d1(H - BOTTOM),
            x = d1(x)
        );
        for (_, color, t, v) in &hv.values {
            let _ = write!(
                h,
                r#"<circle cx="{}" cy="{}" r="5" fill="none" stroke="{color}" stroke-width="2"/>"#,
                d1(f.x(*t)),
                d1(f.y(*v))
            );
        }
    }
    h.push_str("</svg>");
    h
}

fn thin(h: &mut String, f: &Frame, pts: &[(u64, f64)], columns: usize) {
    let mut col = usize::MAX;
    let (mut lo, mut hi) = ((0, 0.0), (0, 0.0));
    let flush = |h: &mut String, lo: (u64, f64), hi: (u64, f64)| {
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        let _ = write!(
            h,
            "{},{} {},{} ",
            d1(f.x(a.0)),
            d1(f.y(a.1)),
            d1(f.x(b.0)),
            d1(f.y(b.1))
        );
    };
    for &(t, v) in pts {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let c = (((f.x(t) - LEFT) / (W - LEFT - RIGHT)) * columns as f64) as usize;
        if c != col {
            if col != usize::MAX {
                flush(h, lo, hi);
            }
            col = c;
            lo = (t, v);
            hi = (t, v);
        } else {
            if v < lo.1 {
                lo = (t, v);
            }
            if v > hi.1 {
                hi = (t, v);
            }
        }
    }
    if col != usize::MAX {
        flush(h, lo, hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chart::Window;

    fn chart() -> Charts {
        let mut c = Charts::default();
        c.add(
            "h/t",
            "t",
            [(40_000, 20.0), (70_000, 22.5), (100_000, 21.0)],
        )
        .unwrap();
        c.add("h/x", "value", [(90_000, -5.0)]).unwrap();
        c
    }

    #[test]
    fn the_drawing_is_an_image_named_chart_with_one_line_per_series() {
        let s = svg(&chart(), 101_000, 0, None);
        assert!(s.starts_with(r#"<svg role="img""#), "{s}");
        assert!(
            s.contains(
                r#"aria-label="Chart: h/t · t (last 21), h/x (last -5) over the last minute""#
            ),
            "{s}"
        );
        assert_eq!(s.matches("<polyline").count(), 2);
        // 40 s is outside the last minute (41 s to 101 s): two points of h/t are drawn.
        let first = s.split("<polyline").nth(1).unwrap();
        let pts = first
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(pts.split_whitespace().count(), 2, "{pts}");
        assert!(
            s.contains(">00:01:40<") || s.contains(">00:01:30<"),
            "time ticks: {s}"
        );
    }

    #[test]
    fn hover_reads_the_nearest_value_of_each_series() {
        let c = chart();
        let x = LEFT + (W - LEFT - RIGHT) * 0.5; // 70 s
        let hv = hover(&c, 100_000, x).unwrap();
        assert_eq!(hv.at_ms, 70_000);
        assert_eq!(hv.values[0].2, 70_000);
        assert_eq!(hv.values[0].3, 22.5);
        assert_eq!(hv.values[1].3, -5.0);
        assert!(hover(&c, 100_000, 5.0).is_none(), "left of the plot");
        assert!(svg(&c, 100_000, 0, Some(x)).contains(r#"class="hover""#));
    }

    #[test]
    fn long_series_are_thinned_to_the_pixel_columns() {
        let mut c = Charts {
            window: Window::All,
            ..Default::default()
        };
        let seed: Vec<(u64, f64)> = (0..9_000).map(|i| (i * 10, (i % 7) as f64)).collect();
        c.add("n", "value", seed).unwrap();
        let s = svg(&c, 90_000, 0, None);
        let pts = s
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let n = pts.split_whitespace().count();
        assert!(n <= 2 * 726 && n > 500, "{n}");
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 0)
        );
        let (t, d) = nice_ticks(20.1, 20.9, 4);
        assert_eq!(d, 1);
        assert_eq!(t.len(), 4);
        assert_eq!(short(21.0), "21");
        assert_eq!(short(-0.00001), "0");
        assert_eq!(short(1.23456), "1.2346");
        assert_eq!(label(&Charts::default()), "Chart: no series yet");
    }
}
