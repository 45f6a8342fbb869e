//! The front-door commands, put together from set-up, the web build, cargo and the test peers.

use crate::cmd::{self, Result, cmd, step};
use crate::lint::Lint;
use crate::timings::Timings;
use crate::{paths, setup, wasm, web};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `cargo xtask dist`: the page, release build, into `dist/`.
pub fn dist() -> Result {
    let start = Instant::now();
    setup::for_build()?;
    let dist = web::build(&mut Lint::new(false)?)?;
    cmd::summary("dist/ ready", start.elapsed());
    eprintln!(
        "\n{} holds the page; `cargo build --release -p tern-server` embeds it.",
        dist.display()
    );
    Ok(())
}

/// `cargo xtask run`: the page, then the broker with the page inside, then hand over the
/// terminal. Installs only what building needs: no browser, no Mosquitto, no Python.
pub fn run(extra: &[String]) -> Result {
    let start = Instant::now();
    setup::for_build()?;
    web::build(&mut Lint::new(false)?)?;
    let tern = release_broker()?;
    cmd::summary("ready", start.elapsed());
    step(
        "starting the broker — open the web UI address below; Ctrl+C stops it",
        "",
        None,
    );
    let mut c = cmd(&tern, &[]);
    c.args(extra);
    cmd::run(c)
}

/// `cargo build --release -p tern-server`: the one binary (`dist/` embedded).
pub fn release_broker() -> Result<PathBuf> {
    let tern = paths::target_dir().join("release").join("tern");
    let s = step(
        "the broker with the page inside (cargo build --release -p tern-server)",
        "one `tern` binary serves MQTT and the page; copy it anywhere",
        (!tern.exists())
            .then_some("first build: 3–5 min on 2 cores; after an edit: about a minute"),
    );
    let mut build = cmd(
        "cargo",
        &["build", "--release", "-p", "tern-server", "--locked"],
    );
    build.current_dir(paths::root());
    cmd::run(build)?;
    s.done();
    Ok(tern)
}

/// `cargo xtask serve`: `trunk serve` (rebuild and reload on every edit) on port 8081, next to
/// a debug broker on 8080 for its WebSocket proxy. Installs Trunk on first use.
pub fn serve(extra: &[String]) -> Result {
    setup::for_serve()?;
    let root = paths::root();
    let s = step(
        "a broker for the page to talk to (cargo build -p tern-server)",
        "Trunk.toml proxies the page's /mqtt to 127.0.0.1:8080",
        None,
    );
    let mut build = cmd("cargo", &["build", "-p", "tern-server", "--locked"]);
    build.current_dir(&root);
    cmd::run(build)?;
    s.done();
    let tern = paths::target_dir().join("debug").join("tern");
    let mut broker = cmd(&tern, &["--http", "127.0.0.1:8080"])
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", tern.display()))?;
    step(
        "trunk serve: http://127.0.0.1:8081/ rebuilds and reloads on every edit; Ctrl+C stops",
        "",
        None,
    );
    let mut c = cmd("trunk", &["--offline=true", "serve"]);
    c.args(extra).current_dir(&root);
    let result = cmd::run(c);
    let _ = broker.kill();
    let _ = broker.wait();
    result
}

/// Options of `cargo xtask test`.
#[derive(Default)]
pub struct TestOptions {
    /// Prove the Debian wasm route even if nothing it depends on changed.
    pub debian_route: bool,
}

/// `cargo xtask test`: every check CI runs, cheapest first, stopping at the first failure.
pub fn test(opts: &TestOptions) -> Result {
    let start = Instant::now();
    let route = setup::for_test()?;
    let root = paths::root();
    let cargo = |args: &[&str]| {
        let mut c = cmd("cargo", args);
        c.current_dir(&root);
        c
    };

    let s = step("formatting (cargo fmt --all --check)", "", None);
    cmd::run(cargo(&["fmt", "--all", "--check"]))?;
    s.done();

    // The page first: the broker's test build embeds dist/ (tests/web_ui.rs checks it).
    let mut lint = Lint::new(true)?;
    let dist = web::build(&mut lint)?;

    let first = !paths::target_dir().join("debug").join("tern").exists();
    let s = step(
        "build and lint every crate and test (cargo test --no-run, clippy-driver)",
        "one compile serves clippy and the tests (no separate `cargo clippy` pass)",
        Some(if first {
            "first build: 6–10 min on 2 cores; in a new clone: 2–4 min"
        } else {
            "1–4 min when crates changed"
        }),
    );
    lint.build(cargo(&[
        "test",
        "--workspace",
        "--all-targets",
        "--locked",
        "--no-run",
    ]))?;
    lint.require_clean()?;
    s.done();

    let mut timings = Timings::default();
    let s = step(
        "unit, integration and interop tests (real broker, mosquitto, paho, MQTT.js)",
        "",
        Some("about 1 min"),
    );
    let mut c = cargo(&["test", "--workspace", "--locked", "--no-fail-fast"]);
    lint.apply_wrapper(&mut c);
    c.env("TERN_REQUIRE_EMBEDDED_UI", "1");
    c.args(["--", "--test-threads", &test_threads()]);
    let tests = cmd::run_watching(c, &mut |line| timings.cargo_line(line));
    s.done();
    tests?;

    // `cargo test` has just built the `tern` binary for the broker's integration tests; the
    // browser tests use that one rather than building another.
    let tern = paths::target_dir().join("debug").join("tern");
    if !tern.exists() {
        return Err(format!("{} was not built by `cargo test`", tern.display()));
    }
    browser_tests(&tern, &dist, &mut timings)?;

    wasm::check_debian_route(route, opts.debian_route)?;

    cmd::summary("all checks passed", start.elapsed());
    timings.print();
    Ok(())
}

/// Test threads per test binary: `RUST_TEST_THREADS`, else four per core (at most 16). The
/// broker's tests mostly wait — on sockets, on spec timers (keep alive, expiry and will delays
/// count whole seconds), on child processes — so more threads than cores overlap the waiting:
/// the conformance suite takes 6 s instead of 17 s on 2 cores.
fn test_threads() -> String {
    std::env::var("RUST_TEST_THREADS").unwrap_or_else(|_| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        (cores * 4).min(16).to_string()
    })
}

/// `node --test --test-concurrency=1` on each browser test file in turn (the whole suite, as
/// `node --test web/e2e` runs it), timed per file.
fn browser_tests(tern: &Path, dist: &Path, timings: &mut Timings) -> Result {
    let root = paths::root();
    let files = e2e_files(&root.join("web").join("e2e"))?;
    let s = step(
        &format!("browser end-to-end tests: {} files in web/e2e", files.len()),
        "the real page in headless Chromium against the real broker",
        Some("about 1 min"),
    );
    let mut failed = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let before = timings.node_tests_so_far();
        let started = Instant::now();
        let mut c = cmd(
            "node",
            &["--test", "--test-concurrency=1", "--test-reporter=spec"],
        );
        c.arg(file)
            .current_dir(&root)
            .env("TERN_BIN", tern)
            .env("TERN_DIST", dist);
        if cmd::run_watching(c, &mut |line| timings.node_line(line)).is_err() {
            failed.push(rel.clone());
        }
        timings.node_file(&rel, started.elapsed(), before);
    }
    s.done();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("browser tests failed in {}", failed.join(", ")))
    }
}

/// The files `node --test DIR` runs: `*.test.mjs` and node's other test-name patterns.
fn e2e_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if name != "node_modules" {
                    stack.push(path);
                }
            } else if is_node_test_file(&name) {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("no browser test files in {}", dir.display()));
    }
    Ok(files)
}

fn is_node_test_file(name: &str) -> bool {
    let Some(stem) = [".js", ".mjs", ".cjs"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
    else {
        return false;
    };
    stem == "test"
        || stem.ends_with(".test")
        || stem.ends_with("-test")
        || stem.ends_with("_test")
        || stem.starts_with("test-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_test_file_patterns() {
        for yes in [
            "app.test.mjs",
            "test.js",
            "x-test.cjs",
            "x_test.js",
            "test-x.mjs",
        ] {
            assert!(super::is_node_test_file(yes), "{yes}");
        }
        for no in ["harness.mjs", "bundle-size.mjs", "flood.mjs", "app.test.ts"] {
            assert!(!super::is_node_test_file(no), "{no}");
        }
    }
}
