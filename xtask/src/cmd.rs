//! Running child processes, and the step log a person can follow: every step says what it
//! does and why, warns before it takes minutes, and reports how long it took; the whole run
//! ends with a table of the steps.

use std::borrow::BorrowMut;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub type Result<T = ()> = std::result::Result<T, String>;

/// Steps finished so far: (title, duration), for [`summary`].
static DONE: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::new());

/// A step in progress. [`Step::done`] prints and records its duration.
pub struct Step {
    title: String,
    start: Instant,
}

/// Starts a step: `title` says what, `why` says what it is for, `expect` (when the step may
/// take minutes) says so before it starts.
pub fn step(title: &str, why: &str, expect: Option<&str>) -> Step {
    eprintln!("\n==> {title}");
    if !why.is_empty() {
        eprintln!("    why: {why}");
    }
    if let Some(e) = expect {
        eprintln!("    expect: {e}");
    }
    Step {
        title: title.to_string(),
        start: Instant::now(),
    }
}

impl Step {
    pub fn done(self) -> Duration {
        let took = self.start.elapsed();
        eprintln!("    done in {} ({})", human(took), self.title);
        if let Ok(mut done) = DONE.lock() {
            done.push((self.title, took));
        }
        took
    }
}

/// Reports a step that had nothing to do (already installed, up to date).
pub fn skip(title: &str, reason: &str) {
    eprintln!("==> {title}: {reason}");
}

/// The steps of this run with their durations, slowest marked.
pub fn summary(heading: &str, total: Duration) {
    let done = DONE.lock().map(|d| d.clone()).unwrap_or_default();
    if done.is_empty() {
        return;
    }
    eprintln!("\n{heading} in {}:", human(total));
    for (title, took) in &done {
        eprintln!("    {:>9}  {title}", human(*took));
    }
}

/// `1m 05s`, `12.3s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

/// A command with the tool cache's `PATH` and environment already applied.
pub fn cmd(program: impl AsRef<OsStr>, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    crate::paths::apply_env(&mut c);
    c
}

/// Runs to completion with inherited stdio; a non-zero exit is an error naming the command.
pub fn run(mut c: impl BorrowMut<Command>) -> Result {
    let c = c.borrow_mut();
    let shown = show(c);
    eprintln!("    $ {shown}");
    let start = Instant::now();
    let status = c
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{shown}` failed ({status}) after {}",
            human(start.elapsed())
        ))
    }
}

/// Runs with stdout and stderr merged into one pipe (so their lines keep the order they were
/// written in) and passed through to stderr line by line, `seen(line)` called on each so a
/// caller can pick out test timings.
pub fn run_watching(c: Command, seen: &mut dyn FnMut(&str)) -> Result {
    watch(c, false, seen)
}

/// Like [`run_watching`] for cargo's `--message-format=json`: the JSON lines go only to
/// `seen`, cargo's own progress lines are shown.
pub fn run_watching_json(c: Command, seen: &mut dyn FnMut(&str)) -> Result {
    watch(c, true, seen)
}

fn watch(mut c: Command, json: bool, seen: &mut dyn FnMut(&str)) -> Result {
    let shown = show(&c);
    eprintln!("    $ {shown}");
    let start = Instant::now();
    let (reader, writer) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let writer2 = writer.try_clone().map_err(|e| format!("pipe: {e}"))?;
    let mut child = c
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer2)
        .spawn()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    // The command holds the parent's copies of the pipe's write end: without dropping them
    // the reader would never see the end of the output.
    drop(c);
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if !(json && line.starts_with("{\"reason\":")) {
            eprintln!("{line}");
        }
        seen(line);
        buf.clear();
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{shown}` failed ({status}) after {}",
            human(start.elapsed())
        ))
    }
}

/// Runs quietly and returns trimmed stdout, or `None` if it could not run or failed.
pub fn output(mut c: impl BorrowMut<Command>) -> Option<String> {
    let c = c.borrow_mut();
    let out = c.stderr(Stdio::null()).stdin(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// True when `program` is found on the tool cache's `PATH`.
pub fn have(program: &str) -> bool {
    find(program).is_some()
}

/// Looks `program` up on the `PATH` xtask gives its children.
pub fn find(program: &str) -> Option<std::path::PathBuf> {
    let path = crate::paths::child_path();
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn show(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
