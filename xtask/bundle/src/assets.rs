//! The files of `dist/`: content-hashed names, subresource integrity, precompressed copies,
//! and a write that touches only what changed.
//!
//! Why only what changed: the `tern` binary embeds `dist/` at compile time and cargo reruns
//! its build script when a file's mtime moves, so rewriting identical bytes would relink the
//! broker for nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha384};

use crate::Result;

/// Smallest file worth compressing, and the least saving worth a second copy.
const COMPRESS_MIN_BYTES: usize = 1024;
const COMPRESS_MAX_RATIO: f64 = 0.9;

/// A file of `dist/`: its path there and its bytes.
type File = (String, Vec<u8>);

#[derive(Default)]
pub struct Files {
    files: Vec<File>,
}

pub struct Report {
    pub files: usize,
    pub changed: usize,
    pub sizes: Vec<String>,
}

impl Files {
    /// Adds `<stem>-<hash><suffix>` and returns that name. The hash is of the final bytes, so
    /// a name changes exactly when its content does (browsers may cache it forever).
    pub fn add_hashed(&mut self, stem: &str, suffix: &str, body: Vec<u8>) -> String {
        let digest = Sha384::digest(&body);
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{stem}-{hex}{suffix}");
        self.files.push((name.clone(), body));
        name
    }

    pub fn add_plain(&mut self, name: &str, body: Vec<u8>) {
        self.files.push((name.to_string(), body));
    }

    /// `sha384-<base64>` of a file added earlier (Trunk's default integrity).
    pub fn integrity(&self, name: &str) -> String {
        let body = self
            .files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_default();
        let digest = Sha384::digest(body);
        format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    }

    /// Writes every file plus its `.gz` / `.br` copies into `out` and removes anything else
    /// there (stale hashed names from earlier builds).
    pub fn write(self, out: &Path) -> Result<Report> {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut all: Vec<File> = Vec::new();
        let mut sizes = Vec::new();
        let compressed: Vec<Result<Vec<File>>> = std::thread::scope(|s| {
            let jobs: Vec<_> = self
                .files
                .iter()
                .map(|(name, body)| s.spawn(|| compressed_copies(out, name, body)))
                .collect();
            jobs.into_iter()
                .map(|j| {
                    j.join()
                        .unwrap_or_else(|_| Err("compression panicked".into()))
                })
                .collect()
        });
        for ((name, body), copies) in self.files.into_iter().zip(compressed) {
            let copies = copies?;
            if name.ends_with(".wasm") || name.ends_with(".js") || name.ends_with(".css") {
                let size = |ext: &str| {
                    copies
                        .iter()
                        .find(|(n, _)| n.ends_with(ext))
                        .map_or("-".to_string(), |(_, b)| crate::kb(b.len() as u64))
                };
                sizes.push(format!(
                    "{name:<40} {:>8} KB raw {:>8} KB gzip {:>8} KB brotli",
                    crate::kb(body.len() as u64),
                    size(".gz"),
                    size(".br")
                ));
            }
            all.push((name, body));
            all.extend(copies);
        }
        let mut changed = 0;
        for (name, body) in &all {
            let path = out.join(name);
            if std::fs::read(&path).ok().as_deref() == Some(body.as_slice()) {
                continue;
            }
            write_atomic(&path, body)?;
            changed += 1;
        }
        let keep: Vec<PathBuf> = all.iter().map(|(n, _)| out.join(n)).collect();
        remove_others(out, &keep)?;
        Ok(Report {
            files: all.len(),
            changed,
            sizes,
        })
    }
}

/// gzip -9 and brotli 11 copies of one file, where they save at least 10 %. Reuses the copies
/// already in `out` when the file there is byte-identical (brotli 11 is the slow part).
fn compressed_copies(out: &Path, name: &str, body: &[u8]) -> Result<Vec<File>> {
    if body.len() < COMPRESS_MIN_BYTES || !compressible(name) {
        return Ok(Vec::new());
    }
    let unchanged = std::fs::read(out.join(name)).ok().as_deref() == Some(body);
    let mut copies = Vec::new();
    for (ext, compress) in [("gz", gzip as fn(&[u8]) -> Vec<u8>), ("br", brotli)] {
        let copy_name = format!("{name}.{ext}");
        let existing = unchanged
            .then(|| std::fs::read(out.join(&copy_name)).ok())
            .flatten();
        let copy = match existing {
            Some(c) => c,
            None => compress(body),
        };
        if (copy.len() as f64) <= body.len() as f64 * COMPRESS_MAX_RATIO {
            copies.push((copy_name, copy));
        }
    }
    Ok(copies)
}

fn compressible(name: &str) -> bool {
    [".js", ".wasm", ".css", ".html", ".svg", ".json", ".txt"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn gzip(body: &[u8]) -> Vec<u8> {
    // Header mtime 0 (flate2's default): the same input gives the same bytes.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(body);
    e.finish().unwrap_or_default()
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 22);
        let _ = w.write_all(body);
    }
    out
}

fn write_atomic(path: &Path, body: &[u8]) -> Result {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tern-bundle-tmp");
    std::fs::write(&tmp, body).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Deletes files under `dir` that are not in `keep`, then directories left empty.
fn remove_others(dir: &Path, keep: &[PathBuf]) -> Result {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            remove_others(&path, keep)?;
            if std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none()) {
                let _ = std::fs::remove_dir(&path);
            }
        } else if !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn hashed_names_follow_content_and_integrity_is_sha384() {
        let mut f = Files::default();
        let a = f.add_hashed("app", ".js", b"console.log(1)".to_vec());
        let b = f.add_hashed("app", ".js", b"console.log(2)".to_vec());
        assert_ne!(a, b);
        assert!(a.starts_with("app-") && a.ends_with(".js") && a.len() == "app-.js".len() + 16);
        // echo -n 'console.log(1)' | openssl dgst -sha384 -binary | base64
        assert_eq!(
            f.integrity(&a),
            "sha384-vuz+yO71bcb30P4dMUNzy6/D2y+6d/n0KcOnt5clJtTBxEDoKAqGay0stFlC8Dpr"
        );
    }

    #[test]
    fn writes_compressed_copies_that_decompress_and_removes_stale_files() {
        let dir = std::env::temp_dir().join(format!("tern-bundle-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("old-0123.js"), b"stale").unwrap();
        let body: Vec<u8> = b"let x = 'tern';\n".repeat(400);
        let mut f = Files::default();
        let name = f.add_hashed("app", ".js", body.clone());
        f.add_plain("tiny.txt", b"ok".to_vec());
        let report = f.write(&dir).unwrap();
        assert_eq!(
            report.files, 4,
            "app.js, .gz, .br, tiny.txt (too small to compress)"
        );
        assert!(!dir.join("old-0123.js").exists());
        let mut gz = Vec::new();
        flate2::read::GzDecoder::new(&std::fs::read(dir.join(format!("{name}.gz"))).unwrap()[..])
            .read_to_end(&mut gz)
            .unwrap();
        assert_eq!(gz, body);
        let mut br = Vec::new();
        brotli::Decompressor::new(
            &std::fs::read(dir.join(format!("{name}.br"))).unwrap()[..],
            4096,
        )
        .read_to_end(&mut br)
        .unwrap();
        assert_eq!(br, body);

        // Unchanged content is not rewritten (mtime stays, so cargo does not re-embed).
        let mut again = Files::default();
        again.add_hashed("app", ".js", body);
        again.add_plain("tiny.txt", b"ok".to_vec());
        assert_eq!(again.write(&dir).unwrap().changed, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
