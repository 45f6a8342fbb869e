//! The front-door commands, put together from set-up, cargo and the test peers.

use crate::cmd::{self, Result, cmd, step};
use crate::{paths, setup, wasm};
use std::path::PathBuf;
use std::time::Instant;

/// `cargo xtask dist`: the web app, release build, into `dist/`.
pub fn dist() -> Result<PathBuf> {
    setup::all()?;
    build_dist()
}

fn build_dist() -> Result<PathBuf> {
    step("trunk build --release → dist/");
    let dist = paths::dist();
    let mut c = cmd("trunk", &["--offline=true", "build", "--release"]);
    c.current_dir(paths::root());
    cmd::run(c)?;
    if !dist.join("index.html").exists() {
        return Err(format!(
            "trunk produced no {}",
            dist.join("index.html").display()
        ));
    }
    Ok(dist)
}

fn run_broker_args(dist: &std::path::Path, extra: &[String]) -> Vec<String> {
    let mut args = vec!["--web-root".to_string(), dist.display().to_string()];
    args.extend(extra.iter().cloned());
    args
}

/// `cargo xtask run`: build everything, then hand the terminal to the broker.
pub fn run(extra: &[String]) -> Result {
    let dist = dist()?;
    step("cargo build --release -p tern-server");
    let mut build = cmd("cargo", &["build", "--release", "-p", "tern-server"]);
    build.current_dir(paths::root());
    cmd::run(build)?;
    let tern = paths::target_dir().join("release").join("tern");
    step("starting the broker — open the URL below; Ctrl+C stops it");
    let mut c = cmd(&tern, &[]);
    c.args(run_broker_args(&dist, extra));
    cmd::run(c)
}

/// `cargo xtask test`: every check CI runs, in order of cost, stopping at the first failure.
pub fn test() -> Result {
    let start = Instant::now();
    setup::all()?;
    let root = paths::root();
    let cargo = |args: &[&str]| {
        let mut c = cmd("cargo", args);
        c.current_dir(&root);
        c
    };

    step("formatting");
    cmd::run(cargo(&["fmt", "--all", "--check"]))?;

    step("clippy, native");
    cmd::run(cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("clippy, wasm32");
    cmd::run(cargo(&[
        "clippy",
        "-p",
        "tern-codec",
        "-p",
        "tern-web",
        "--target",
        wasm::TARGET,
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("unit, integration and interop tests (real broker, mosquitto, paho, MQTT.js)");
    cmd::run(cargo(&["test", "--workspace", "--locked"]))?;

    // `cargo test` has just built the `tern` binary for the broker's integration tests; the
    // browser tests use that one rather than rebuilding with other feature unification.
    let tern = paths::target_dir().join("debug").join("tern");
    if !tern.exists() {
        return Err(format!("{} was not built by `cargo test`", tern.display()));
    }

    let dist = build_dist()?;

    step("browser end-to-end tests (headless Chromium, real broker)");
    let mut e2e = cmd("node", &["--test", "--test-concurrency=1"]);
    e2e.arg(root.join("web").join("e2e"))
        .current_dir(&root)
        .env("TERN_BIN", &tern)
        .env("TERN_DIST", &dist);
    cmd::run(e2e)?;

    wasm::check_debian_route()?;

    eprintln!(
        "\nall checks passed in {:.0}s",
        start.elapsed().as_secs_f32()
    );
    Ok(())
}
