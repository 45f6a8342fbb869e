//! Markdown tables of the memory-under-attack scenarios (see `attack`): one row per run,
//! and medians per state and broker when there were several runs.

use std::fmt::Write;

use crate::attack::{AttackOutcome, State};
use crate::broker::Kind;
use crate::report::{median, mib};

pub fn markdown(rows: &[(Kind, usize, AttackOutcome)], runs: usize) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "### Memory under attack\n\n| state | broker | run | clients | set-up s | RSS before MiB | RSS in state MiB | peak RSS MiB | bytes per client | RSS after MiB | check |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for (kind, run, o) in rows {
        let after = o
            .after
            .map(|m| format!("{:.1}", mib(m.rss_kib)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {kind} | {run} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {after} | {} |",
            o.state.label(),
            o.clients,
            o.setup.as_secs_f64(),
            mib(o.before.rss_kib),
            mib(o.loaded.rss_kib),
            mib(o.loaded.hwm_kib),
            o.bytes_per_client(),
            o.check
        );
    }
    if runs > 1 {
        let _ = writeln!(
            s,
            "\nMedian of {runs} runs:\n\n| state | broker | RSS in state MiB | bytes per client | peak RSS MiB (max) |\n|---|---|---:|---:|---:|"
        );
        let mut keys: Vec<(State, Kind)> = Vec::new();
        for (kind, _, o) in rows {
            if !keys.contains(&(o.state, *kind)) {
                keys.push((o.state, *kind));
            }
        }
        for (state, kind) in keys {
            let os: Vec<&AttackOutcome> = rows
                .iter()
                .filter(|(k, _, o)| *k == kind && o.state == state)
                .map(|(_, _, o)| o)
                .collect();
            let rss = median(os.iter().map(|o| mib(o.loaded.rss_kib)).collect());
            let per = median(os.iter().map(|o| o.bytes_per_client()).collect());
            let peak = os.iter().map(|o| o.loaded.hwm_kib).max().unwrap_or(0);
            let _ = writeln!(
                s,
                "| {} | {kind} | {rss:.1} | {per:.0} | {:.1} |",
                state.label(),
                mib(peak)
            );
        }
    }
    s.push('\n');
    s
}
