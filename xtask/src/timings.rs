//! Where the test time goes: `cargo test` per test binary (libtest's "finished in"), the
//! browser tests per file and per test (node's spec reporter), listed slowest first at the end
//! of `cargo xtask test`.

use std::time::Duration;

#[derive(Default)]
pub struct Timings {
    /// (label, duration, tests) per cargo test binary or doc-test run.
    binaries: Vec<(String, Duration, usize)>,
    current: Option<String>,
    /// (file, duration, tests) per browser test file.
    files: Vec<(String, Duration, usize)>,
    /// (name, duration) per browser test.
    tests: Vec<(String, Duration)>,
}

impl Timings {
    /// Feeds one line of `cargo test` output (stdout and stderr interleaved).
    pub fn cargo_line(&mut self, line: &str) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Running ") {
            self.current = Some(binary_label(rest));
        } else if let Some(rest) = line.strip_prefix("Doc-tests ") {
            self.current = Some(format!("{rest} (doc-tests)"));
        } else if let Some(rest) = line.strip_prefix("test result: ") {
            let secs = rest
                .rsplit_once("finished in ")
                .and_then(|(_, s)| s.trim_end_matches('s').parse::<f64>().ok());
            let passed = rest
                .split(". ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if let (Some(label), Some(secs)) = (self.current.take(), secs) {
                self.binaries
                    .push((label, Duration::from_secs_f64(secs), passed));
            }
        }
    }

    /// Feeds one line of node's spec reporter output for `file`.
    pub fn node_line(&mut self, line: &str) {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("✔ ").or_else(|| line.strip_prefix("✖ ")) else {
            return;
        };
        if let Some((name, ms)) = rest.rsplit_once(" (")
            && let Some(ms) = ms.strip_suffix("ms)").and_then(|m| m.parse::<f64>().ok())
        {
            self.tests
                .push((name.to_string(), Duration::from_secs_f64(ms / 1000.0)));
        }
    }

    pub fn node_file(&mut self, file: &str, took: Duration, tests_before: usize) {
        let tests = self.tests.len() - tests_before;
        self.files.push((file.to_string(), took, tests));
    }

    pub fn node_tests_so_far(&self) -> usize {
        self.tests.len()
    }

    pub fn print(&self) {
        let show = |d: &Duration| crate::cmd::human(*d);
        if !self.binaries.is_empty() {
            let total: Duration = self.binaries.iter().map(|b| b.1).sum();
            eprintln!(
                "\nslowest test binaries (cargo test; {} binaries, {} in all):",
                self.binaries.len(),
                show(&total)
            );
            for (label, took, n) in sorted(&self.binaries).into_iter().take(8) {
                eprintln!("    {:>9}  {label} ({n} tests)", show(&took));
            }
        }
        if !self.files.is_empty() {
            let total: Duration = self.files.iter().map(|f| f.1).sum();
            eprintln!(
                "\nslowest browser test files (web/e2e; {} files, {} in all):",
                self.files.len(),
                show(&total)
            );
            for (file, took, n) in sorted(&self.files).into_iter().take(8) {
                eprintln!("    {:>9}  {file} ({n} tests)", show(&took));
            }
            let mut tests = self.tests.clone();
            tests.sort_by_key(|t| std::cmp::Reverse(t.1));
            eprintln!("\nslowest browser tests:");
            for (name, took) in tests.iter().take(5) {
                eprintln!("    {:>9}  {name}", show(took));
            }
        }
    }
}

fn sorted(rows: &[(String, Duration, usize)]) -> Vec<(String, Duration, usize)> {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    rows
}

/// `unittests src/lib.rs (target/debug/deps/tern_server-0a1b)` → `tern_server: unittests src/lib.rs`.
fn binary_label(running: &str) -> String {
    let (what, path) = running
        .rsplit_once(" (")
        .map_or((running, ""), |(w, p)| (w, p.trim_end_matches(')')));
    let file = path.rsplit('/').next().unwrap_or(path);
    let name = file.rsplit_once('-').map_or(file, |(n, _)| n);
    if name.is_empty() {
        what.to_string()
    } else {
        format!("{name}: {what}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_each_binary_with_its_result() {
        let mut t = Timings::default();
        t.cargo_line("     Running tests/conformance/main.rs (/t/debug/deps/conformance-99ab)");
        t.cargo_line("test a ... ok");
        t.cargo_line(
            "test result: ok. 212 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 41.50s",
        );
        t.cargo_line("   Doc-tests tern_codec");
        t.cargo_line(
            "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.20s",
        );
        assert_eq!(
            t.binaries,
            [
                (
                    "conformance: tests/conformance/main.rs".to_string(),
                    Duration::from_millis(41_500),
                    212
                ),
                (
                    "tern_codec (doc-tests)".to_string(),
                    Duration::from_millis(200),
                    3
                )
            ]
        );
    }

    #[test]
    fn reads_node_spec_durations() {
        let mut t = Timings::default();
        t.node_line("✔ scenario 4: two pages — one publishes (4170.126096ms)");
        t.node_line("  ✖ fails (12.5ms)");
        t.node_line("ℹ tests 2");
        assert_eq!(t.tests.len(), 2);
        assert_eq!(t.tests[0].1, Duration::from_secs_f64(4.170126096));
    }
}
