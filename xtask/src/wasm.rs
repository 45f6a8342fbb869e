//! The wasm32 standard library, by one of two routes.
//!
//! * **rustup**: `rustup target add wasm32-unknown-unknown`. Fast, but rustup's download server is
//!   not one of the registries these machines are promised, so it is tried with a time limit.
//! * **Debian**: Debian's Rust 1.96 (`rustc-web` & co. from bookworm-security) building std from
//!   source with `-Zbuild-std`. A `cargo` shim first on `PATH` sends only wasm32 commands there,
//!   so the web build, clippy and Trunk use this route unchanged; native builds stay on rustup's.
//!
//! `TERN_WASM_TOOLCHAIN=debian` forces the fallback. `cargo xtask test` also proves the fallback
//! on machines that took the rustup route ([`check_debian_route`]), when what it depends on has
//! changed or the last proof is a week old, or always with `--debian-route`.

use crate::cmd::{Result, cmd, output, run, skip, step};
use crate::paths;
use crate::setup::apt_install;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const TARGET: &str = "wasm32-unknown-unknown";
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "rust-web-clippy",
    "lld-22",
];

/// A passing Debian-route check is trusted this long when nothing it depends on changed.
const DEBIAN_CHECK_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    Rustup,
    Debian,
}

/// Makes a wasm32 std available and records the route for child processes' `PATH`.
pub fn ensure() -> Result<Route> {
    let forced = std::env::var("TERN_WASM_TOOLCHAIN").unwrap_or_default();
    let route = match forced.as_str() {
        "debian" => Route::Debian,
        "rustup" => {
            rustup_target()?;
            Route::Rustup
        }
        "" | "auto" => {
            if rustup_target().is_ok() {
                Route::Rustup
            } else {
                eprintln!("    rustup could not provide {TARGET}; using Debian's Rust instead");
                Route::Debian
            }
        }
        other => {
            return Err(format!(
                "TERN_WASM_TOOLCHAIN={other}: expected auto, rustup or debian"
            ));
        }
    };
    if route == Route::Debian {
        debian_toolchain()?;
        skip(
            "wasm32 standard library",
            "Debian's Rust 1.96 builds it from source (-Zbuild-std) through the cargo shim",
        );
    }
    paths::set_debian_route(route == Route::Debian);
    Ok(route)
}

fn rustup_target() -> Result {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"])).unwrap_or_default();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
    {
        skip("wasm32 standard library", "rustup's target is installed");
        return Ok(());
    }
    let s = step(
        &format!("rustup target add {TARGET}"),
        "the page is Rust compiled to WebAssembly and needs the wasm32 standard library",
        Some("seconds when rustup's server answers; given up after 90 s"),
    );
    let mut c = Command::new("timeout");
    c.args(["90", "rustup", "target", "add", TARGET]);
    run(c)?;
    s.done();
    Ok(())
}

/// Debian's toolchain plus the shim; installs the packages when they are missing.
pub fn debian_toolchain() -> Result {
    let ready = output(Command::new("/usr/bin/rustc").arg("--version"))
        .is_some_and(|v| v.starts_with("rustc 1.96"))
        && Path::new("/usr/lib/rustlib/src/rust/library").exists()
        && Path::new("/usr/bin/rust-lld").exists()
        && Path::new("/usr/bin/clippy-driver").exists();
    if !ready {
        apt_install(
            DEBIAN_PACKAGES,
            &["-t", "bookworm-security"],
            "Debian's Rust 1.96 with std sources builds the wasm32 std when rustup cannot",
        )?;
    }
    write_shim()
}

/// The real cargo xtask was started by (rustup's), for everything that is not wasm32.
fn real_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn shim_script() -> String {
    SHIM.replace("@REAL_CARGO@", &real_cargo())
}

fn write_shim() -> Result {
    let dir = paths::shim();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script = shim_script();
    let path = dir.join("cargo");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(script.as_str()) {
        std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Proves the Debian route end to end when this machine took rustup's: the wasm crates,
/// linted, through the shim with Debian's compiler and a std built from source.
///
/// It runs when `forced`, when the last pass is older than a week, or when something it
/// depends on changed: Debian's compiler and cargo, the shim, Cargo.lock and the manifests of
/// the wasm crates. The crates' sources are left out on purpose — the rustup build lints and
/// builds every change, and Debian's 1.96 is newer than rustup's, so a source change that
/// builds there builds here; what breaks this route is a toolchain, a dependency or the shim.
/// CI proves it on every fresh cache (a new machine has no stamp) and at least weekly.
pub fn check_debian_route(route: Route, forced: bool) -> Result {
    const TITLE: &str = "wasm32 fallback route: Debian Rust + -Zbuild-std";
    if route == Route::Debian {
        skip(
            TITLE,
            "this machine builds the page through it, which proves it",
        );
        return Ok(());
    }
    debian_toolchain()?;
    let inputs = debian_route_inputs();
    let stamp = paths::stamps().join("debian-route");
    if !forced && let Some(age) = fresh_stamp(&stamp, &inputs) {
        skip(
            TITLE,
            &format!(
                "passed {} ago with the same toolchain, shim and Cargo.lock \
                 (rerun with `cargo xtask test --debian-route`)",
                crate::cmd::human(age)
            ),
        );
        return Ok(());
    }
    let s = step(
        TITLE,
        "machines where rustup cannot download the wasm32 target build the page this way",
        Some("1–4 min (std is compiled from source)"),
    );
    let shim = paths::shim().join("cargo");
    let mut c = cmd(
        &shim,
        &[
            "clippy",
            "-p",
            "tern-codec",
            "-p",
            "tern-web",
            "--target",
            TARGET,
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    );
    c.current_dir(paths::root());
    run(c)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    std::fs::create_dir_all(paths::stamps()).map_err(|e| e.to_string())?;
    std::fs::write(&stamp, format!("{inputs:016x} {now}\n"))
        .map_err(|e| format!("{}: {e}", stamp.display()))?;
    s.done();
    Ok(())
}

/// A fingerprint of what the Debian route depends on (see [`check_debian_route`]).
fn debian_route_inputs() -> u64 {
    let root = paths::root();
    let mut h = Fnv::default();
    for program in ["/usr/bin/rustc", "/usr/bin/cargo", "/usr/bin/clippy-driver"] {
        h.add(
            output(Command::new(program).arg("-vV"))
                .unwrap_or_default()
                .as_bytes(),
        );
    }
    h.add(shim_script().as_bytes());
    for file in [
        "Cargo.lock",
        "Cargo.toml",
        ".cargo/config.toml",
        "codec/Cargo.toml",
        "web/Cargo.toml",
    ] {
        h.add(file.as_bytes());
        h.add(&std::fs::read(root.join(file)).unwrap_or_default());
    }
    h.0
}

/// How old the stamp is, if it records these inputs and is younger than the limit.
fn fresh_stamp(stamp: &Path, inputs: &u64) -> Option<Duration> {
    let text = std::fs::read_to_string(stamp).ok()?;
    let (hash, when) = text.trim().split_once(' ')?;
    if hash != format!("{inputs:016x}") {
        return None;
    }
    let when = UNIX_EPOCH + Duration::from_secs(when.parse().ok()?);
    let age = SystemTime::now().duration_since(when).ok()?;
    (age < DEBIAN_CHECK_MAX_AGE).then_some(age)
}

/// FNV-1a, 64 bit: enough to notice a change.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0xff]) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

const SHIM: &str = r#"#!/usr/bin/env bash
# Written by `cargo xtask` (Debian wasm route). Commands that name wasm32-unknown-unknown run
# Debian's Rust 1.96 and build std from source; everything else goes to the usual cargo.
set -euo pipefail
wasm=
for a in "$@"; do case "$a" in *wasm32-unknown-unknown*) wasm=1 ;; esac; done
if [ -z "$wasm" ]; then exec "@REAL_CARGO@" "$@"; fi
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO=/usr/bin/cargo
unset RUSTC_WRAPPER
# xtask lints the web build with clippy-driver as the workspace wrapper: use Debian's, which
# matches Debian's rustc.
if [ -n "${RUSTC_WORKSPACE_WRAPPER:-}" ]; then export RUSTC_WORKSPACE_WRAPPER=/usr/bin/clippy-driver; fi
args=()
placed=
for a in "$@"; do
  if [ "$a" = "--" ] && [ -z "$placed" ]; then args+=("-Zbuild-std=std,panic_abort"); placed=1; fi
  args+=("$a")
done
[ -n "$placed" ] || args+=("-Zbuild-std=std,panic_abort")
if [ "$1" = clippy ]; then exec /usr/bin/cargo-clippy "${args[@]}"; fi
exec /usr/bin/cargo "${args[@]}"
"#;
