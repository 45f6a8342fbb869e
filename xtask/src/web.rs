//! The page, without Trunk: `cargo build` for wasm32 (linted by clippy on the way), then
//! `tern-bundle` (xtask/bundle: wasm-bindgen, wasm-opt, hashed names, index.html, gzip and
//! brotli) into `dist/`, which `tern` embeds when it is compiled.

use crate::cmd::{self, Result, cmd, skip, step};
use crate::lint::Lint;
use crate::{paths, wasm};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// The cargo profile of the page (Cargo.toml: opt-level z, LTO, one codegen unit).
pub const PROFILE: &str = "wasm-release";

/// Builds the page into `dist/`; returns `dist/` and the lint findings of the wasm build.
pub fn build(lint: &mut Lint) -> Result<PathBuf> {
    let root = paths::root();
    let target = paths::target_dir();
    let wasm = target
        .join(wasm::TARGET)
        .join(PROFILE)
        .join("tern-web.wasm");

    let first = !wasm.exists();
    let s = step(
        "web app for wasm32 (cargo build -p tern-web --profile wasm-release)",
        "the page is Rust (Leptos) compiled to WebAssembly; clippy lints it on the way",
        first.then_some(
            "first build: 2–4 min on 2 cores (the Leptos stack, then LTO); after an edit: 20–60 s",
        ),
    );
    let mut c = cmd(
        "cargo",
        &[
            "build",
            "-p",
            "tern-web",
            "--target",
            wasm::TARGET,
            "--profile",
            PROFILE,
            "--locked",
        ],
    );
    c.current_dir(&root);
    lint.build(c)?;
    s.done();

    let bundler = target.join("debug").join("tern-bundle");
    let first = !bundler.exists();
    let s = step(
        "the bundler (cargo build -p tern-bundle)",
        "it runs wasm-bindgen as a library, so no wasm-bindgen CLI or Trunk has to be installed",
        first.then_some("first build: about 1 min on 2 cores"),
    );
    let mut c = cmd("cargo", &["build", "-p", "tern-bundle", "--locked"]);
    c.current_dir(&root);
    lint.build(c)?;
    s.done();

    let dist = paths::dist();
    let stamp = target.join("tern-bundle.stamp");
    let inputs = bundle_inputs(&[
        &wasm,
        &bundler,
        &paths::wasm_opt(),
        &root.join("index.html"),
        &root.join("styles"),
    ]);
    // The stamp also records dist/index.html as written, so a dist/ changed by anything else
    // (another build, a hand edit) is rebuilt.
    let outputs = || bundle_inputs(&[&dist.join("index.html")]);
    if std::fs::read_to_string(&stamp).ok() == Some(format!("{inputs}{}", outputs())) {
        skip(
            "dist/ (wasm-bindgen, wasm-opt, index.html)",
            "up to date with the wasm build",
        );
        return Ok(dist);
    }
    let s = step(
        "dist/: wasm-bindgen, wasm-opt -Oz, hashed names, index.html, gzip + brotli",
        "what Trunk did, in xtask/bundle; the broker embeds dist/ when it is compiled",
        None,
    );
    let mut c = cmd(&bundler, &[]);
    c.arg("--wasm")
        .arg(&wasm)
        .arg("--index")
        .arg(root.join("index.html"))
        .arg("--out")
        .arg(&dist)
        .arg("--work")
        .arg(target.join("tern-bundle"))
        .arg("--wasm-opt")
        .arg(paths::wasm_opt());
    cmd::run(c)?;
    std::fs::write(&stamp, format!("{inputs}{}", outputs()))
        .map_err(|e| format!("{}: {e}", stamp.display()))?;
    s.done();
    Ok(dist)
}

/// Sizes and modification times of what the bundle is made from (`styles/` file by file).
fn bundle_inputs(paths: &[&Path]) -> String {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(p) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            files.push(p.to_path_buf());
        }
    }
    files.sort();
    files
        .iter()
        .map(|f| {
            let meta = f.metadata().ok();
            let mtime = meta
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let len = meta.map_or(0, |m| m.len());
            format!("{} {len} {mtime}\n", f.display())
        })
        .collect()
}
