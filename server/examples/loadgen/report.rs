//! Markdown tables of the results: one row per run, and a median summary when there were
//! several runs.

use std::fmt::Write;

use crate::attack::AttackOutcome;
use crate::broker::Kind;
use crate::capacity::{IdleOutcome, OverloadOutcome};
use crate::traffic::Outcome;

#[derive(Default)]
pub struct Report {
    pub traffic: Vec<(String, Kind, usize, Outcome)>,
    pub idle: Vec<(Kind, usize, IdleOutcome)>,
    pub overload: Vec<(Kind, usize, OverloadOutcome)>,
    pub attack: Vec<(Kind, usize, AttackOutcome)>,
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Groups values by (label, broker) in first-seen order.
fn groups<T>(rows: &[(String, Kind, T)]) -> Vec<(String, Kind, Vec<&T>)> {
    let mut out: Vec<(String, Kind, Vec<&T>)> = Vec::new();
    for (label, kind, v) in rows {
        match out.iter_mut().find(|(l, k, _)| l == label && k == kind) {
            Some((_, _, vs)) => vs.push(v),
            None => out.push((label.clone(), *kind, vec![v])),
        }
    }
    out
}

impl Report {
    pub fn markdown(&self, runs: usize) -> String {
        let mut s = String::new();
        self.traffic_tables(&mut s, runs);
        self.idle_tables(&mut s, runs);
        self.overload_tables(&mut s, runs);
        s.push_str(&crate::attack::markdown(&self.attack, runs));
        s
    }

    fn traffic_tables(&self, s: &mut String, runs: usize) {
        if self.traffic.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "### Throughput\n\n| scenario | broker | run | delivered / expected | msg/s | broker CPU s | CPU-s per M msgs | peak RSS MiB | loadgen CPU s | notes |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for (label, kind, run, o) in &self.traffic {
            let mut notes = Vec::new();
            if o.timed_out {
                notes.push("timed out".to_owned());
            }
            if o.stalls > 0 {
                notes.push(format!("{} stalls", o.stalls));
            }
            let _ = writeln!(
                s,
                "| {label} | {kind} | {run} | {} / {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} | {} |",
                o.delivered,
                o.expected,
                o.rate(),
                o.broker_cpu.as_secs_f64(),
                o.cpu_per_million(),
                mib(o.mem.hwm_kib),
                o.loadgen_cpu.as_secs_f64(),
                notes.join(", ")
            );
        }
        if runs > 1 {
            let rows: Vec<_> = self
                .traffic
                .iter()
                .map(|(l, k, _, o)| (l.clone(), *k, o.clone()))
                .collect();
            let _ = writeln!(
                s,
                "\nMedian of {runs} runs:\n\n| scenario | broker | msg/s | CPU-s per M msgs | peak RSS MiB (max) |\n|---|---|---:|---:|---:|"
            );
            for (label, kind, os) in groups(&rows) {
                let rate = median(os.iter().map(|o| o.rate()).collect());
                let cpu = median(os.iter().map(|o| o.cpu_per_million()).collect());
                let peak = os.iter().map(|o| o.mem.hwm_kib).max().unwrap_or(0);
                let _ = writeln!(
                    s,
                    "| {label} | {kind} | {rate:.0} | {cpu:.2} | {:.1} |",
                    mib(peak)
                );
            }
        }
        s.push('\n');
    }

    fn idle_tables(&self, s: &mut String, runs: usize) {
        if self.idle.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "### Idle connections\n\n| broker | run | connections | RSS before MiB | RSS after MiB | bytes per connection | connect time s | broker CPU ms per 1000 connects |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (kind, run, o) in &self.idle {
            let _ = writeln!(
                s,
                "| {kind} | {run} | {} | {:.1} | {:.1} | {:.0} | {:.2} | {:.0} |",
                o.connections,
                mib(o.before.rss_kib),
                mib(o.after.rss_kib),
                o.bytes_per_connection(),
                o.connect_time.as_secs_f64(),
                o.broker_cpu.as_secs_f64() * 1e6 / o.connections.max(1) as f64
            );
        }
        if runs > 1 {
            let rows: Vec<_> = self
                .idle
                .iter()
                .map(|(k, _, o)| ("idle".to_owned(), *k, *o))
                .collect();
            let _ = writeln!(
                s,
                "\nMedian of {runs} runs:\n\n| broker | bytes per connection |\n|---|---:|"
            );
            for (_, kind, os) in groups(&rows) {
                let b = median(os.iter().map(|o| o.bytes_per_connection()).collect());
                let _ = writeln!(s, "| {kind} | {b:.0} |");
            }
        }
        s.push('\n');
    }

    fn overload_tables(&self, s: &mut String, _runs: usize) {
        if self.overload.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "### Overload (one subscriber never reads)\n\n| broker | QoS | run | flood s | msgs accepted | accepted msg/s | RSS before MiB | peak RSS MiB | RSS at end MiB | broker CPU s | probe round trip ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (kind, run, o) in &self.overload {
            let secs = o.duration.as_secs_f64();
            let _ = writeln!(
                s,
                "| {kind} | {} | {run} | {secs:.1} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |",
                u8::from(o.qos),
                o.accepted,
                o.accepted as f64 / secs.max(1e-9),
                mib(o.before.rss_kib),
                mib(o.end.hwm_kib),
                mib(o.end.rss_kib),
                o.broker_cpu.as_secs_f64(),
                o.probe.as_secs_f64() * 1e3
            );
        }
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn groups_keep_first_seen_order() {
        let rows = vec![
            ("a".to_owned(), Kind::Tern, 1),
            ("a".to_owned(), Kind::Mosquitto, 2),
            ("a".to_owned(), Kind::Tern, 3),
        ];
        let g = groups(&rows);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].1, g[0].2.clone()), (Kind::Tern, vec![&1, &3]));
        assert_eq!((g[1].1, g[1].2.clone()), (Kind::Mosquitto, vec![&2]));
    }
}
