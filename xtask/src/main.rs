//! `cargo xtask` — the project's two front-door commands and their helpers.
//!
//! * `cargo xtask run [-- ARGS]` — build the page and the broker with the page inside, start it.
//!   Installs only what building needs (the wasm32 std, Node.js + binaryen for wasm-opt).
//! * `cargo xtask test [--debian-route]` — every check CI runs: fmt, clippy (native + wasm32,
//!   during the builds), unit and integration tests, interop with real MQTT clients, the
//!   browser end-to-end tests, the Debian wasm route when its inputs changed; then the slowest
//!   tests.
//! * `cargo xtask cluster` — three NATS servers and three broker nodes on them, on loopback.
//! * `cargo xtask dist` — build the page into `dist/` only.
//! * `cargo xtask serve` — `trunk serve` (edit–reload loop) with a broker; installs Trunk.
//! * `cargo xtask setup` — install what `test` needs, nothing else.
//! * `cargo xtask env` — the tool `PATH` and friends, as shell `export` lines.
//!
//! # Layout
//! * `paths.rs` — where caches live (outside the checkout, so a fresh clone reuses them).
//! * `cmd.rs` — running child processes; the step log (what, why, how long).
//! * `setup.rs` — system packages, npm and PyPI peers, Trunk and wasm-bindgen-cli, per command.
//! * `wasm.rs` — the wasm32 standard library: rustup's target, or Debian's Rust with `-Zbuild-std`.
//! * `web.rs` — the page without Trunk: cargo for wasm32, then `xtask/bundle`.
//! * `lint.rs` — clippy during the real builds (`RUSTC_WORKSPACE_WRAPPER`), not as extra passes.
//! * `timings.rs` — per test binary / browser test file durations, slowest first.
//! * `tasks.rs` — `run`, `dist`, `test`, `serve` put together from the pieces above.
//! * `cluster.rs` — `cluster`: NATS servers and broker nodes as child processes.

mod cluster;
mod cmd;
mod lint;
mod paths;
mod setup;
mod tasks;
mod timings;
mod wasm;
mod web;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  run [-- ARGS]     build the page and the broker (page inside), start it (ARGS go to `tern`)
  test [--debian-route]
                    run every check and test (what CI runs); --debian-route also proves the
                    Debian wasm32 fallback when nothing it depends on changed
  cluster           three clustered nats-server and three broker nodes on loopback (MQTT
                    1883-1885, web UI 8080-8082); Ctrl+C stops them all
  dist              build the page (release) into dist/
  serve [-- ARGS]   `trunk serve` on :8081 with a broker on :8080 (installs Trunk the first time)
  setup             install what `test` needs, without running anything
  env               print `export` lines for a shell: eval \"$(cargo xtask env)\"

environment:
  TERN_CACHE            tool cache (default ~/.cache/tern)
  CARGO_TARGET_DIR      build directory (default ~/.cache/tern/target, shared by clones)
  TERN_WASM_TOOLCHAIN   `auto` (default), `rustup` or `debian` (force the fallback route)
";

fn main() -> ExitCode {
    if let Some(checkout) = paths::foreign_checkout() {
        return rebuild_for(&checkout);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((c, rest)) => (c.as_str(), rest),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rest: Vec<String> = rest
        .iter()
        .skip_while(|a| a.as_str() == "--")
        .cloned()
        .collect();
    let result = match command {
        "run" => tasks::run(&rest),
        "test" => test_options(&rest).and_then(|o| tasks::test(&o)),
        "dist" => tasks::dist(),
        "cluster" => cluster::run(),
        "serve" => tasks::serve(&rest),
        "setup" => setup::for_test().map(|_| ()),
        "env" => wasm::ensure().map(|_| print!("{}", paths::shell_exports())),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// This binary belongs to another checkout sharing the target dir (see
/// `paths::foreign_checkout`): make cargo rebuild xtask for `checkout`, then run that one.
fn rebuild_for(checkout: &std::path::Path) -> ExitCode {
    let main_rs = checkout.join("xtask").join("src").join("main.rs");
    if std::env::var_os("TERN_XTASK_REBUILT").is_some() {
        eprintln!(
            "xtask: error: cargo keeps running an xtask built from {} for {}; \
             unset CARGO_TARGET_DIR or run `touch {}`",
            env!("CARGO_MANIFEST_DIR"),
            checkout.display(),
            main_rs.display()
        );
        return ExitCode::FAILURE;
    }
    eprintln!(
        "xtask: this xtask was built from {}, not {} (shared CARGO_TARGET_DIR): rebuilding",
        env!("CARGO_MANIFEST_DIR"),
        checkout.display()
    );
    // A newer mtime on a source file is what makes cargo rebuild (and re-link) the binary.
    let touched = std::fs::File::options()
        .append(true)
        .open(&main_rs)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()));
    if let Err(e) = touched {
        eprintln!("xtask: error: {}: {e}", main_rs.display());
        return ExitCode::FAILURE;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .current_dir(checkout)
        .env("TERN_XTASK_REBUILT", "1")
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            eprintln!("xtask: error: cannot start cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test_options(args: &[String]) -> Result<tasks::TestOptions, String> {
    let mut opts = tasks::TestOptions::default();
    for a in args {
        match a.as_str() {
            "--debian-route" => opts.debian_route = true,
            other => return Err(format!("`cargo xtask test`: unknown option `{other}`")),
        }
    }
    Ok(opts)
}
