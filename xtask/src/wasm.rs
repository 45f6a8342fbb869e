//! The wasm32 standard library, by one of two routes.
//!
//! * **rustup**: `rustup target add wasm32-unknown-unknown`. Fast, but rustup's download server is
//!   not one of the registries these machines are promised, so it is tried with a time limit.
//! * **Debian**: Debian's Rust 1.96 (`rustc-web` & co. from bookworm-security) building std from
//!   source with `-Zbuild-std`. A `cargo` shim first on `PATH` sends only wasm32 commands there,
//!   so Trunk and clippy use this route unchanged; native builds stay on rustup's toolchain.
//!
//! `TERN_WASM_TOOLCHAIN=debian` forces the fallback (that is how `cargo xtask test` checks it).

use crate::cmd::{Result, cmd, output, run, step};
use crate::paths;
use crate::setup::apt_install;
use std::path::Path;
use std::process::Command;

pub const TARGET: &str = "wasm32-unknown-unknown";
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "rust-web-clippy",
    "lld-22",
];

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
        return Ok(());
    }
    step(&format!("rustup target add {TARGET} (90 s limit)"));
    let mut c = Command::new("timeout");
    c.args(["90", "rustup", "target", "add", TARGET]);
    run(c)
}

/// Debian's toolchain plus the shim; installs the packages when they are missing.
pub fn debian_toolchain() -> Result {
    let ready = output(Command::new("/usr/bin/rustc").arg("--version"))
        .is_some_and(|v| v.starts_with("rustc 1.96"))
        && Path::new("/usr/lib/rustlib/src/rust/library").exists()
        && Path::new("/usr/bin/rust-lld").exists()
        && Path::new("/usr/bin/cargo-clippy").exists();
    if !ready {
        apt_install(DEBIAN_PACKAGES, &["-t", "bookworm-security"])?;
    }
    write_shim()
}

/// The real cargo xtask was started by (rustup's), for everything that is not wasm32.
fn real_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn write_shim() -> Result {
    let dir = paths::shim();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script = SHIM.replace("@REAL_CARGO@", &real_cargo());
    let path = dir.join("cargo");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(script.as_str()) {
        std::fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks the Debian route end to end even when rustup's works: the wasm crates build through
/// the shim with Debian's compiler and a std built from source.
pub fn check_debian_route() -> Result {
    step("wasm32 fallback route: Debian Rust + -Zbuild-std (forced)");
    debian_toolchain()?;
    let shim = paths::shim().join("cargo");
    let mut c = cmd(
        &shim,
        &[
            "check",
            "-p",
            "tern-codec",
            "-p",
            "tern-web",
            "--target",
            TARGET,
        ],
    );
    c.current_dir(paths::root());
    run(c)
}

const SHIM: &str = r#"#!/usr/bin/env bash
# Written by `cargo xtask` (Debian wasm route). Commands that name wasm32-unknown-unknown run
# Debian's Rust 1.96 and build std from source; everything else goes to the usual cargo.
set -euo pipefail
wasm=
for a in "$@"; do case "$a" in *wasm32-unknown-unknown*) wasm=1 ;; esac; done
if [ -z "$wasm" ]; then exec "@REAL_CARGO@" "$@"; fi
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO=/usr/bin/cargo
unset RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER
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
