//! Running child processes: every step is announced and timed, failures name the command.

use std::borrow::BorrowMut;
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

pub type Result<T = ()> = std::result::Result<T, String>;

/// Prints a step banner so a long cold set-up shows where it is.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
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
    let start = Instant::now();
    let status = c
        .status()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    let secs = start.elapsed().as_secs_f32();
    if status.success() {
        eprintln!("    ok ({secs:.1}s): {shown}");
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status}) after {secs:.1}s"))
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
