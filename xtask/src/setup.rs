//! Installs what a command needs, and nothing more, skipping whatever is already current.
//!
//! * building the page (`run`, `dist`): the wasm32 std, Node.js and npm's binaryen (wasm-opt);
//! * testing (`test`): that, plus the real peers — Chromium, Mosquitto and its clients, MQTT.js,
//!   playwright-core, paho-mqtt, nats-server — and OpenSSL for the wss browser test;
//! * three nodes on NATS (`cluster`): the build tools and nats-server;
//! * the edit–reload loop (`serve`): that, plus Trunk and wasm-bindgen-cli (built with
//!   `cargo install`, minutes, so only for whoever runs `trunk serve`).
//!
//! Sources are only the package registries these machines reach: Debian (apt), crates.io,
//! npm and PyPI. Every install lands in a cache outside the checkout (`paths.rs`).

use crate::cmd::{Result, cmd, have, output, run, skip, step};
use crate::paths;
use crate::wasm::{self, Route};
use std::path::Path;
use std::process::Command;

/// What building the page needs from Debian: binaryen's wasm-opt runs on Node.js.
const BUILD_SYSTEM: &[(&str, &str)] = &[("node", "nodejs"), ("npm", "npm")];

/// The real peers the tests use, with the Debian package providing each.
const TEST_SYSTEM: &[(&str, &str)] = &[
    ("chromium", "chromium"),
    ("mosquitto", "mosquitto"),
    ("mosquitto_pub", "mosquitto-clients"),
    ("mosquitto_sub", "mosquitto-clients"),
    ("python3", "python3"),
    // Certificates for the wss browser test (web/e2e/wss.test.mjs).
    ("openssl", "openssl"),
    // The cluster tests (server/tests/cluster/) run three NATS servers.
    ("nats-server", "nats-server"),
];

/// What `cluster` needs beyond building: the NATS server the nodes share.
const CLUSTER_SYSTEM: &[(&str, &str)] = &[("nats-server", "nats-server")];

pub const TRUNK_VERSION: &str = "0.22.1";

/// What `run` and `dist` need: the wasm32 std and wasm-opt.
pub fn for_build() -> Result<Route> {
    system_packages(BUILD_SYSTEM, "wasm-opt (binaryen from npm) runs on Node.js")?;
    let route = wasm::ensure()?;
    npm(
        &paths::node_build(),
        "build",
        "binaryen 132 (wasm-opt)",
        "wasm-opt shrinks the page's wasm by half; Debian's binaryen 108 breaks wasm-bindgen output",
    )?;
    Ok(route)
}

/// What `test` needs: the build tools and every real peer.
pub fn for_test() -> Result<Route> {
    system_packages(
        TEST_SYSTEM,
        "the tests talk to real peers: Chromium, Mosquitto, mosquitto_pub/sub",
    )?;
    python_venv_support()?;
    let route = for_build()?;
    npm(
        &paths::node(),
        "",
        "MQTT.js and playwright-core",
        "interop tests run MQTT.js; browser tests drive Chromium with playwright-core",
    )?;
    python_tools()?;
    Ok(route)
}

/// What `cluster` needs: the build tools and `nats-server`.
pub fn for_cluster() -> Result<Route> {
    system_packages(
        CLUSTER_SYSTEM,
        "the nodes of `cargo xtask cluster` share a NATS cluster",
    )?;
    for_build()
}

/// What `serve` needs: the build tools plus Trunk and the wasm-bindgen CLI it calls.
pub fn for_serve() -> Result<Route> {
    let route = for_build()?;
    wasm_bindgen_cli()?;
    trunk()?;
    Ok(route)
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// Installs Debian packages when running as root; otherwise says exactly what to install.
pub fn apt_install(packages: &[&str], extra: &[&str], why: &str) -> Result {
    if !is_root() {
        return Err(format!(
            "missing system packages ({why}); install them with:\n    sudo apt-get install {} {}",
            extra.join(" "),
            packages.join(" ")
        ));
    }
    let s = step(
        &format!("apt-get install {}", packages.join(" ")),
        why,
        Some("1–3 min (apt-get update, then the packages)"),
    );
    let mut update = Command::new("apt-get");
    update.args(["update", "-q"]);
    run(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(extra)
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(install)?;
    s.done();
    Ok(())
}

fn system_packages(wanted: &[(&str, &str)], why: &str) -> Result {
    let mut missing: Vec<&str> = wanted
        .iter()
        .filter(|(bin, _)| !have(bin) && !Path::new("/usr/sbin").join(bin).exists())
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing, &[], why)
}

/// Debian's python3 makes venvs only with python3-venv (ensurepip) installed.
fn python_venv_support() -> Result {
    if paths::venv().join("bin").join("python").exists()
        || output(Command::new("python3").args(["-c", "import ensurepip, venv"])).is_some()
    {
        return Ok(());
    }
    apt_install(
        &["python3-venv"],
        &[],
        "paho-mqtt is installed into a Python venv",
    )
}

/// The `wasm-bindgen` version pinned in Cargo.lock; the CLI must match it exactly.
pub fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(paths::root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_string());
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

fn wasm_bindgen_cli() -> Result {
    let want = wasm_bindgen_version()?;
    let bin = paths::tools().join("bin").join("wasm-bindgen");
    let have = output(cmd(&bin, &["--version"])).unwrap_or_default();
    if have.ends_with(&want) {
        return Ok(());
    }
    let s = step(
        &format!("cargo install wasm-bindgen-cli {want}"),
        "`trunk serve` calls the wasm-bindgen CLI (xtask's own builds use the library)",
        Some("2–9 min on 2 cores, once"),
    );
    // No `--locked`: its lockfile pins a webpki-roots version the registry here lacks.
    cargo_install(&["wasm-bindgen-cli", "--version", &format!("={want}")])?;
    s.done();
    Ok(())
}

fn trunk() -> Result {
    let bin = paths::tools().join("bin").join("trunk");
    let have = output(cmd(&bin, &["--version"])).unwrap_or_default();
    if have.ends_with(TRUNK_VERSION) {
        return Ok(());
    }
    let s = step(
        &format!("cargo install trunk {TRUNK_VERSION}"),
        "`trunk serve` rebuilds and reloads the page on every edit",
        Some("10–20 min on 2 cores, once (only `cargo xtask serve` needs it)"),
    );
    // Trunk declares rust-version 1.96.1 but builds fine with 1.95.
    cargo_install(&["trunk", "--version", TRUNK_VERSION, "--ignore-rust-version"])?;
    s.done();
    Ok(())
}

fn cargo_install(args: &[&str]) -> Result {
    let root = paths::tools();
    let root = root.to_string_lossy();
    let mut c = cmd("cargo", &["install", "--root", &root]);
    c.args(args);
    // A private target dir: installs must not invalidate the project's build cache.
    c.env("CARGO_TARGET_DIR", paths::cache().join("install-target"));
    run(c)
}

/// Copies `src` to `dst` when they differ; returns whether anything changed.
fn sync_file(src: &Path, dst: &Path) -> Result<bool> {
    let new = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
    if std::fs::read(dst).ok().as_deref() == Some(&new[..]) {
        return Ok(false);
    }
    std::fs::write(dst, new).map_err(|e| format!("{}: {e}", dst.display()))?;
    Ok(true)
}

/// `npm ci` of `xtask/tools/<sub>/package-lock.json` into `prefix`, when the lockfile changed
/// or an install is missing.
fn npm(prefix: &Path, sub: &str, what: &str, why: &str) -> Result {
    std::fs::create_dir_all(prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
    let tools = paths::root().join("xtask").join("tools").join(sub);
    let mut changed = sync_file(&tools.join("package.json"), &prefix.join("package.json"))?;
    changed |= sync_file(
        &tools.join("package-lock.json"),
        &prefix.join("package-lock.json"),
    )?;
    let stamp = prefix.join("node_modules").join(".package-lock.json");
    if !changed && stamp.exists() {
        skip(&format!("npm: {what}"), "installed");
        return Ok(());
    }
    let s = step(
        &format!("npm ci: {what}"),
        why,
        Some("under a minute (npm registry)"),
    );
    let mut c = cmd("npm", &["ci", "--no-audit", "--no-fund"]);
    c.current_dir(prefix);
    run(c)?;
    s.done();
    Ok(())
}

fn python_tools() -> Result {
    let venv = paths::venv();
    let python = venv.join("bin").join("python");
    let req = paths::root()
        .join("xtask")
        .join("tools")
        .join("requirements.txt");
    let stamp = venv.join("requirements.txt");
    if python.exists() && std::fs::read(&req).ok() == std::fs::read(&stamp).ok() {
        skip("PyPI: paho-mqtt", "installed");
        return Ok(());
    }
    let s = step(
        "python venv with paho-mqtt",
        "interop tests run a paho-mqtt (Python) client against the broker",
        None,
    );
    if !python.exists() {
        let mut c = cmd("python3", &["-m", "venv"]);
        c.arg(&venv);
        run(c)?;
    }
    let mut c = cmd(&python, &["-m", "pip", "install", "-q", "-r"]);
    c.arg(&req);
    run(c)?;
    std::fs::copy(&req, &stamp).map_err(|e| format!("{}: {e}", stamp.display()))?;
    s.done();
    Ok(())
}
