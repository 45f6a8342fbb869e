//! `cargo xtask` — the project's two front-door commands and their helpers.
//!
//! * `cargo xtask run [-- ARGS]` — set up what is missing, build the web app, start the broker.
//! * `cargo xtask test` — every check CI runs: fmt, clippy (native + wasm32), unit and
//!   integration tests, interop with real MQTT clients, the wasm build, browser end-to-end tests.
//! * `cargo xtask dist` — build the web app into `dist/` only.
//! * `cargo xtask setup` — install the tools only.
//! * `cargo xtask env` — the tool `PATH` and friends, as shell `export` lines.
//!
//! # Layout
//! * `paths.rs` — where caches live (outside the checkout, so a fresh clone reuses them).
//! * `cmd.rs` — running child processes with a visible step log.
//! * `setup.rs` — system packages, npm and PyPI test peers, Trunk and wasm-bindgen.
//! * `wasm.rs` — the wasm32 standard library: rustup's target, or Debian's Rust with `-Zbuild-std`.
//! * `tasks.rs` — `run`, `dist` and `test` put together from the pieces above.

mod cmd;
mod paths;
mod setup;
mod tasks;
mod wasm;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  run [-- ARGS]   build the web UI and start the broker (ARGS go to `tern`)
  test            run every check and test (what CI runs)
  dist            build the web UI (release) into dist/
  setup           install missing tools only
  env             print `export` lines for a shell: eval \"$(cargo xtask env)\"

environment:
  TERN_CACHE            tool cache (default ~/.cache/tern)
  TERN_WASM_TOOLCHAIN   `auto` (default), `rustup` or `debian` (force the fallback route)
";

fn main() -> ExitCode {
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
        "test" => tasks::test(),
        "dist" => tasks::dist().map(|_| ()),
        "setup" => setup::all().map(|_| ()),
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
