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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::broker::Mem;

    fn outcome(state: State, rss_kib: u64) -> AttackOutcome {
        AttackOutcome {
            state,
            clients: 1000,
            before: Mem {
                rss_kib: 1000,
                hwm_kib: 1000,
            },
            loaded: Mem {
                rss_kib,
                hwm_kib: rss_kib + 10,
            },
            after: None,
            setup: Duration::from_secs(1),
            check: "ok".into(),
        }
    }

    #[test]
    fn rows_and_medians_per_state_and_broker() {
        let rows = vec![
            (Kind::Tern, 1, outcome(State::Abandoned, 2000)),
            (Kind::Mosquitto, 1, outcome(State::Abandoned, 5000)),
            (Kind::Tern, 2, outcome(State::Abandoned, 4000)),
            (Kind::Tern, 3, outcome(State::Abandoned, 3000)),
        ];
        // 1000 KiB more for 1000 clients: 1024 bytes each.
        assert_eq!(rows[0].2.bytes_per_client(), 1024.0);
        let md = markdown(&rows, 3);
        assert_eq!(
            md.matches("| abandoned persistent sessions | tern | ")
                .count(),
            4
        );
        // Median of 2000, 4000, 3000 KiB = 3000 KiB = 2.9 MiB and 2048 bytes per client;
        // the peak column is the highest VmHWM.
        assert!(
            md.contains("| abandoned persistent sessions | tern | 2.9 | 2048 | 3.9 |"),
            "{md}"
        );
        assert!(markdown(&[], 1).is_empty());
    }
}
