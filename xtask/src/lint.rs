//! Clippy without a second compile: builds run with `clippy-driver` as cargo's
//! `RUSTC_WORKSPACE_WRAPPER`, so the workspace's own crates are linted while they are compiled
//! for real (the test build natively, the page's release build for wasm32), and dependencies
//! are compiled once, by plain rustc. `cargo clippy` would check everything a second time.
//!
//! Lints stay warnings at compile time, so the same build serves `cargo xtask run` (which
//! shows them) and `cargo xtask test` (which fails on any): the compiler flags, and so cargo's
//! fingerprints, are identical and neither command recompiles what the other built. Cargo
//! replays the diagnostics of crates it does not recompile, so nothing goes unseen.

use crate::cmd::{self, Result, output};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::Command;

pub struct Lint {
    driver: Option<PathBuf>,
    /// Warnings and errors reported for the workspace's crates so far.
    findings: Vec<String>,
}

impl Lint {
    /// `required` (for `test`): clippy must be there, installed with rustup if missing.
    pub fn new(required: bool) -> Result<Lint> {
        let mut driver = find_driver();
        if driver.is_none() && required {
            let mut c = Command::new("timeout");
            c.args(["90", "rustup", "component", "add", "clippy"]);
            cmd::run(c)?;
            driver = find_driver();
        }
        if driver.is_none() {
            if required {
                return Err("clippy-driver not found (rustup component add clippy)".into());
            }
            eprintln!("    clippy-driver not found: building without lints");
        }
        Ok(Lint {
            driver,
            findings: Vec::new(),
        })
    }

    /// Gives a cargo command the same compiler wrapper, so it reuses what [`Lint::build`]
    /// compiled instead of compiling it again without lints.
    pub fn apply_wrapper(&self, c: &mut Command) {
        if let Some(driver) = &self.driver {
            c.env("RUSTC_WORKSPACE_WRAPPER", driver);
        }
    }

    /// Runs a `cargo build`/`cargo test --no-run` with the lints on, shows every diagnostic,
    /// and remembers the workspace's.
    pub fn build(&mut self, mut c: Command) -> Result {
        self.apply_wrapper(&mut c);
        let format = if std::io::stderr().is_terminal() {
            "--message-format=json-diagnostic-rendered-ansi"
        } else {
            "--message-format=json"
        };
        c.arg(format);
        let findings = &mut self.findings;
        cmd::run_watching_json(c, &mut |line| {
            if let Some(d) = diagnostic(line) {
                eprint!("{}", d.rendered);
                if d.counts {
                    findings.push(d.first_line);
                }
            }
        })
    }

    /// Fails when any lint or compiler warning was reported (what `-D warnings` would do).
    pub fn require_clean(&self) -> Result {
        if self.findings.is_empty() {
            return Ok(());
        }
        Err(format!(
            "clippy / rustc reported {} warning(s) in the workspace's crates:\n    {}",
            self.findings.len(),
            self.findings.join("\n    ")
        ))
    }
}

fn find_driver() -> Option<PathBuf> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
    let driver = PathBuf::from(sysroot).join("bin").join("clippy-driver");
    driver.exists().then_some(driver)
}

struct Diagnostic {
    rendered: String,
    first_line: String,
    /// A real finding (not the "N warnings emitted" summary).
    counts: bool,
}

/// A cargo `compiler-message` line: its rendered text, and whether it is a finding.
///
/// Only the top-level diagnostic has a rendered text (its children's is `null`), and that
/// text starts with its level (`warning: …`, `error[E0308]: …`), whatever order cargo writes
/// the keys in.
fn diagnostic(line: &str) -> Option<Diagnostic> {
    if !line.starts_with("{\"reason\":\"compiler-message\"") {
        return None;
    }
    let rendered = json_string(line, "\"rendered\":\"")?;
    let plain = strip_ansi(&rendered);
    let mut lines = plain.lines();
    let mut first_line = lines.next().unwrap_or_default().to_string();
    if let Some(at) = lines.find_map(|l| l.trim_start().strip_prefix("--> ")) {
        first_line = format!("{first_line} ({at})");
    }
    let finding = first_line.starts_with("warning") || first_line.starts_with("error");
    let summary = first_line.ends_with(" emitted") || first_line.contains("aborting due to");
    Some(Diagnostic {
        counts: finding && !summary,
        first_line,
        rendered,
    })
}

/// The JSON string value that starts right after `key` (which ends with the opening quote).
fn json_string(json: &str, key: &str) -> Option<String> {
    let start = json.find(key)? + key.len();
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).ok()?;
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As cargo writes it: "rendered" first, then the other keys sorted, children before
    /// the top level's "level".
    const WARNING: &str = r#"{"reason":"compiler-message","package_id":"path+file:///w/web#tern-web@0.1.0","manifest_path":"/w/web/Cargo.toml","target":{"kind":["bin"],"name":"tern-web"},"message":{"rendered":"\u001b[33mwarning\u001b[0m: unneeded `return`\n  --> web/src/main.rs:3:5\n","$message_type":"diagnostic","children":[{"children":[],"code":null,"level":"help","message":"x","rendered":null,"spans":[]}],"code":{"code":"clippy::needless_return","explanation":null},"level":"warning","message":"unneeded `return`","spans":[]}}"#;

    #[test]
    fn finds_the_level_and_rendered_text_of_a_warning() {
        let d = diagnostic(WARNING).unwrap();
        assert!(d.counts);
        assert_eq!(
            d.first_line,
            "warning: unneeded `return` (web/src/main.rs:3:5)"
        );
        assert!(d.rendered.ends_with("web/src/main.rs:3:5\n"));
    }

    #[test]
    fn the_summary_line_is_not_a_finding() {
        let line = r#"{"reason":"compiler-message","package_id":"p","message":{"rendered":"warning: 2 warnings emitted\n\n","$message_type":"diagnostic","children":[],"code":null,"level":"warning","message":"2 warnings emitted","spans":[]}}"#;
        assert!(!diagnostic(line).unwrap().counts);
        assert!(diagnostic(r#"{"reason":"compiler-artifact"}"#).is_none());
    }
}
