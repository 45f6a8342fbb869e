//! `tern-bundle`: turns the cargo wasm32 build of the web app into the `dist/` the broker
//! serves — the part of `trunk build --release` that comes after cargo, without Trunk:
//!
//! 1. wasm-bindgen (`--target web`, no TypeScript), as a library pinned to the app's
//!    `wasm-bindgen` version;
//! 2. `wasm-opt -O<level>` from npm's binaryen (the caller passes its path);
//! 3. content-hashed names (`tern-web-<hash>.js`, `…_bg.wasm`, `main-<hash>.css`) with sha384
//!    subresource integrity, and `index.html` generated from the repository's Trunk template
//!    (`page.rs`);
//! 4. gzip and brotli copies where they pay, and an atomic-enough sync into `dist/` that only
//!    rewrites changed files (`assets.rs`), so the broker's embedded copy is rebuilt only when
//!    the page really changed.
//!
//! `cargo xtask dist | run | test` build the wasm with cargo and then run this; `trunk serve`
//! still reads the same `index.html` for the edit–reload loop.

mod assets;
mod page;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "\
usage: tern-bundle --wasm FILE --index FILE --out DIR --work DIR [--wasm-opt PROGRAM]

  --wasm FILE         the app's cargo build (target/wasm32-unknown-unknown/<profile>/<bin>.wasm)
  --index FILE        the Trunk-style index.html template (asset paths relative to it)
  --out DIR           dist directory to write (files not produced are removed)
  --work DIR          scratch directory for wasm-bindgen's output
  --wasm-opt PROGRAM  binaryen's wasm-opt; without it the wasm is shipped unoptimised
";

type Result<T = ()> = std::result::Result<T, String>;

struct Args {
    wasm: PathBuf,
    index: PathBuf,
    out: PathBuf,
    work: PathBuf,
    wasm_opt: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut wasm = None;
    let mut index = None;
    let mut out = None;
    let mut work = None;
    let mut wasm_opt = None;
    let mut it = std::env::args_os().skip(1);
    while let Some(flag) = it.next() {
        let slot = match flag.to_str() {
            Some("--wasm") => &mut wasm,
            Some("--index") => &mut index,
            Some("--out") => &mut out,
            Some("--work") => &mut work,
            Some("--wasm-opt") => &mut wasm_opt,
            _ => return Err(format!("unexpected argument {flag:?}\n\n{USAGE}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag:?} needs a value"))?;
        *slot = Some(PathBuf::from(value));
    }
    let need =
        |v: Option<PathBuf>, name: &str| v.ok_or_else(|| format!("missing {name}\n\n{USAGE}"));
    Ok(Args {
        wasm: need(wasm, "--wasm")?,
        index: need(index, "--index")?,
        out: need(out, "--out")?,
        work: need(work, "--work")?,
        wasm_opt,
    })
}

fn main() -> ExitCode {
    match parse_args().and_then(|a| bundle(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tern-bundle: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bundle(args: &Args) -> Result {
    let template = read_string(&args.index)?;
    let page = page::Template::parse(&template)?;
    let base = args.index.parent().unwrap_or(Path::new("."));
    let name = args
        .wasm
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| format!("{}: not a .wasm file name", args.wasm.display()))?
        .to_string();

    let started = Instant::now();
    let (js, wasm) = bindgen(&args.wasm, &args.work, &name)?;
    eprintln!(
        "    wasm-bindgen: {} → {} KB wasm + {} KB js ({:.1}s)",
        kb(std::fs::metadata(&args.wasm).map(|m| m.len()).unwrap_or(0)),
        kb(wasm.len() as u64),
        kb(js.len() as u64),
        started.elapsed().as_secs_f32()
    );

    let wasm = match (&args.wasm_opt, page.wasm_opt_level()) {
        (Some(program), Some(level)) => wasm_opt(program, &args.work, &name, level, &wasm)?,
        (None, Some(_)) => {
            eprintln!("    wasm-opt not given: shipping the wasm unoptimised");
            wasm
        }
        (_, None) => wasm,
    };

    let mut files = assets::Files::default();
    let js_name = files.add_hashed(&name, ".js", js.into_bytes());
    let wasm_name = files.add_hashed(&name, "_bg.wasm", wasm);
    let mut css_names = Vec::new();
    for href in page.css() {
        let path = base.join(href);
        let body = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("style");
        css_names.push(files.add_hashed(stem, ".css", body));
    }
    for (rel, body) in snippets(&args.work.join("snippets"))? {
        files.add_plain(&format!("snippets/{rel}"), body);
    }
    let html = page.render(&page::Outputs {
        js: &js_name,
        wasm: &wasm_name,
        css: &css_names,
        integrity: &|name| files.integrity(name),
    });
    files.add_plain("index.html", html.into_bytes());

    let started = Instant::now();
    let report = files.write(&args.out)?;
    eprintln!(
        "    {} files in {} ({} rewritten), precompressed in {:.1}s",
        report.files,
        args.out.display(),
        report.changed,
        started.elapsed().as_secs_f32()
    );
    for line in report.sizes {
        eprintln!("    {line}");
    }
    Ok(())
}

/// wasm-bindgen for `<script type="module">` loading (`--target web`), as Trunk calls it.
fn bindgen(input: &Path, work: &Path, name: &str) -> Result<(String, Vec<u8>)> {
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    let mut b = wasm_bindgen_cli_support::Bindgen::new();
    b.input_path(input)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?
        .typescript(false)
        .out_name(name);
    b.generate(work)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", input.display()))?;
    let js = read_string(&work.join(format!("{name}.js")))?;
    let wasm_path = work.join(format!("{name}_bg.wasm"));
    let wasm = std::fs::read(&wasm_path).map_err(|e| format!("{}: {e}", wasm_path.display()))?;
    Ok((js, wasm))
}

/// `wasm-opt -O<level>` on wasm-bindgen's output (binaryen from npm, never Debian's 108).
fn wasm_opt(program: &Path, work: &Path, name: &str, level: &str, wasm: &[u8]) -> Result<Vec<u8>> {
    let input = work.join(format!("{name}_bg.wasm"));
    let output = work.join(format!("{name}_bg.opt.wasm"));
    std::fs::write(&input, wasm).map_err(|e| format!("{}: {e}", input.display()))?;
    let started = Instant::now();
    let status = Command::new(program)
        .arg(format!("-O{level}"))
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    if !status.success() {
        return Err(format!("{} -O{level} failed ({status})", program.display()));
    }
    let out = std::fs::read(&output).map_err(|e| format!("{}: {e}", output.display()))?;
    eprintln!(
        "    wasm-opt -O{level}: {} → {} KB ({:.1}s)",
        kb(wasm.len() as u64),
        kb(out.len() as u64),
        started.elapsed().as_secs_f32()
    );
    Ok(out)
}

/// wasm-bindgen's `snippets/` (inline_js and local JS modules), as relative paths.
fn snippets(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                let body = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                found.push((rel.to_string_lossy().replace('\\', "/"), body));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn read_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn kb(n: u64) -> String {
    format!("{:.1}", n as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    /// The library must be exactly the `wasm-bindgen` version the app links: the wasm carries
    /// a schema that only the same version reads. Cargo.lock holds both; keep them equal.
    #[test]
    fn cli_support_matches_the_wasm_bindgen_crate_in_cargo_lock() {
        let lock = include_str!("../../../Cargo.lock");
        let version = |name: &str| {
            let mut lines = lock.lines();
            while let Some(line) = lines.next() {
                if line == format!("name = \"{name}\"") {
                    return lines.next().map(|l| l.to_string());
                }
            }
            None
        };
        let app = version("wasm-bindgen").expect("wasm-bindgen in Cargo.lock");
        let lib = version("wasm-bindgen-cli-support").expect("cli-support in Cargo.lock");
        assert_eq!(app, lib, "wasm-bindgen and wasm-bindgen-cli-support differ");
    }
}
