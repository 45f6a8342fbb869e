//! Installs everything the project needs, skipping whatever is already current.
//!
//! Sources are only the package registries these machines reach: Debian (apt), crates.io
//! (`cargo install`), npm and PyPI. Every install lands in a cache outside the checkout.

use crate::cmd::{Result, cmd, have, output, run, step};
use crate::paths;
use std::path::Path;
use std::process::Command;

/// System binaries the tests and the build need, with the Debian package providing each.
const SYSTEM: &[(&str, &str)] = &[
    ("chromium", "chromium"),
    ("mosquitto", "mosquitto"),
    ("mosquitto_pub", "mosquitto-clients"),
    ("mosquitto_sub", "mosquitto-clients"),
    ("node", "nodejs"),
    ("npm", "npm"),
    ("python3", "python3"),
    // Certificates for the wss browser test (web/e2e/wss.test.mjs).
    ("openssl", "openssl"),
];

pub const TRUNK_VERSION: &str = "0.22.1";

/// Everything: system packages, the wasm32 std, cargo tools, npm and PyPI peers.
pub fn all() -> Result {
    system_packages()?;
    crate::wasm::ensure()?;
    wasm_bindgen()?;
    trunk()?;
    npm_tools()?;
    python_tools()?;
    Ok(())
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).as_deref() == Some("0")
}

/// Installs Debian packages when running as root; otherwise says exactly what to install.
pub fn apt_install(packages: &[&str], extra: &[&str]) -> Result {
    if !is_root() {
        return Err(format!(
            "missing system packages; install them with:\n    sudo apt-get install {} {}",
            extra.join(" "),
            packages.join(" ")
        ));
    }
    step(&format!("apt-get install {}", packages.join(" ")));
    let mut update = Command::new("apt-get");
    update.args(["update", "-q"]);
    run(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(extra)
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(install)
}

fn system_packages() -> Result {
    let mut missing: Vec<&str> = SYSTEM
        .iter()
        .filter(|(bin, _)| !have(bin) && !Path::new("/usr/sbin").join(bin).exists())
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing, &[])
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

fn wasm_bindgen() -> Result {
    let want = wasm_bindgen_version()?;
    let bin = paths::tools().join("bin").join("wasm-bindgen");
    let have = output(cmd(&bin, &["--version"])).unwrap_or_default();
    if have.ends_with(&want) {
        return Ok(());
    }
    step(&format!(
        "installing wasm-bindgen-cli {want} (3–9 min on 2 cores, once)"
    ));
    // No `--locked`: its lockfile pins a webpki-roots version the registry here lacks.
    cargo_install(&["wasm-bindgen-cli", "--version", &format!("={want}")])
}

fn trunk() -> Result {
    let bin = paths::tools().join("bin").join("trunk");
    let have = output(cmd(&bin, &["--version"])).unwrap_or_default();
    if have.ends_with(TRUNK_VERSION) {
        return Ok(());
    }
    step(&format!(
        "installing trunk {TRUNK_VERSION} (10–20 min on 2 cores, once)"
    ));
    // Trunk declares rust-version 1.96.1 but builds fine with 1.95.
    cargo_install(&["trunk", "--version", TRUNK_VERSION, "--ignore-rust-version"])
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

fn npm_tools() -> Result {
    let dir = paths::node();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tools = paths::root().join("xtask").join("tools");
    let mut changed = sync_file(&tools.join("package.json"), &dir.join("package.json"))?;
    changed |= sync_file(
        &tools.join("package-lock.json"),
        &dir.join("package-lock.json"),
    )?;
    if !changed
        && dir
            .join("node_modules")
            .join(".bin")
            .join("wasm-opt")
            .exists()
    {
        return Ok(());
    }
    step("npm ci: binaryen (wasm-opt), mqtt (MQTT.js), playwright-core");
    let mut c = cmd("npm", &["ci", "--no-audit", "--no-fund"]);
    c.current_dir(&dir);
    run(c)
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
        return Ok(());
    }
    step("python venv with paho-mqtt");
    if !python.exists() {
        let mut c = cmd("python3", &["-m", "venv"]);
        c.arg(&venv);
        run(c)?;
    }
    let mut c = cmd(&python, &["-m", "pip", "install", "-q", "-r"]);
    c.arg(&req);
    run(c)?;
    std::fs::copy(&req, &stamp).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(())
}
