//! Where things live. Tool caches and the shared cargo target dir sit outside the checkout
//! (default `~/.cache/tern`) so that a fresh clone — CI's, or a second worktree — reuses them.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (xtask is always built from inside it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The checkout `cargo xtask` was run in, when it is not the one this binary was built from.
///
/// Clones that share a `CARGO_TARGET_DIR` share `target/debug/xtask`, and cargo does not
/// re-link it for a clone whose own build is still fresh: the other clone's xtask (its code,
/// its paths) would run. `cargo run` sets `CARGO_MANIFEST_DIR` for the program it starts.
pub fn foreign_checkout() -> Option<PathBuf> {
    let runtime = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let same = |a: &PathBuf, b: &PathBuf| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    (!same(&runtime, &built)).then(|| runtime.parent().map(PathBuf::from).unwrap_or(runtime))
}

pub fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("TERN_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("tern")
}

/// One cargo target dir for every build xtask starts (native, wasm, trunk).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("target"))
}

/// `cargo install --root` for Trunk and wasm-bindgen-cli (`cargo xtask serve` only).
pub fn tools() -> PathBuf {
    cache().join("tools")
}

/// npm prefix holding the test peers: MQTT.js and playwright-core.
pub fn node() -> PathBuf {
    cache().join("node")
}

/// npm prefix holding binaryen (wasm-opt), the one npm package building the page needs.
pub fn node_build() -> PathBuf {
    cache().join("node-build")
}

/// binaryen's wasm-opt (a node script running binaryen compiled to wasm).
pub fn wasm_opt() -> PathBuf {
    node_build()
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt")
}

/// Stamps recording what a slow check last ran on (see `wasm::check_debian_route`).
pub fn stamps() -> PathBuf {
    cache().join("stamps")
}

/// Python virtualenv holding paho-mqtt.
pub fn venv() -> PathBuf {
    cache().join("venv")
}

/// Holds the `cargo` shim when the Debian wasm route is in use.
pub fn shim() -> PathBuf {
    cache().join("shim")
}

pub fn dist() -> PathBuf {
    root().join("dist")
}

static DEBIAN_ROUTE: OnceLock<bool> = OnceLock::new();

/// Records which wasm route `wasm::ensure` chose; the shim goes first on `PATH` for Debian's.
pub fn set_debian_route(on: bool) {
    let _ = DEBIAN_ROUTE.set(on);
}

/// The `PATH` every child process gets: our tool dirs first, then the caller's.
pub fn child_path() -> std::ffi::OsString {
    let mut dirs = Vec::new();
    if DEBIAN_ROUTE.get().copied().unwrap_or(false) {
        dirs.push(shim());
    }
    dirs.push(tools().join("bin"));
    dirs.push(node_build().join("node_modules").join(".bin"));
    dirs.push(node().join("node_modules").join(".bin"));
    dirs.push(venv().join("bin"));
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Environment shared by every child: tool `PATH`, the shared target dir, and where the
/// interop and browser tests find their peers.
pub fn apply_env(c: &mut Command) {
    c.env("PATH", child_path())
        .env("CARGO_TARGET_DIR", target_dir())
        .env("NODE_PATH", node().join("node_modules"))
        .env("TERN_PYTHON", venv().join("bin").join("python"))
        .env("TRUNK_SKIP_VERSION_CHECK", "true");
}

/// The same environment as `apply_env`, as shell `export` lines (for `trunk serve` by hand).
pub fn shell_exports() -> String {
    let vars = [
        ("PATH", child_path()),
        ("CARGO_TARGET_DIR", target_dir().into_os_string()),
        ("NODE_PATH", node().join("node_modules").into_os_string()),
        (
            "TERN_PYTHON",
            venv().join("bin").join("python").into_os_string(),
        ),
        ("TRUNK_SKIP_VERSION_CHECK", "true".into()),
    ];
    vars.iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.to_string_lossy()))
        .collect()
}
