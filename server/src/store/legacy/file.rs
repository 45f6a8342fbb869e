//! The snapshot file: header, checksum, atomic replacement.
//!
//! Layout: `TERNSNAP` (8 bytes magic), format version (u32), body length (u64), CRC-32 of
//! the body (u32), body. All big-endian. A new snapshot is written to a temporary file in the
//! same directory, fsynced, renamed over the old one and the directory fsynced, so a crash at
//! any point leaves either the old or the new snapshot complete, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;

use super::wire::crc32;

pub const MAGIC: &[u8; 8] = b"TERNSNAP";
/// Bumped whenever the body layout changes; older brokers refuse newer files.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 4;

/// Reads and checks a snapshot file; `Ok(None)` when it does not exist (a fresh start).
/// Files larger than `max_size` are refused before being read.
pub fn read(path: &Path, max_size: u64) -> Result<Option<Bytes>, String> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open: {e}")),
    };
    let len = f.metadata().map_err(|e| format!("cannot stat: {e}"))?.len();
    if len > max_size {
        return Err(format!(
            "file is {len} bytes, more than the {max_size} bytes a snapshot may have"
        ));
    }
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(max_size.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read: {e}"))?;
    check(Bytes::from(data)).map(Some)
}

/// Validates the header and checksum; returns the body.
pub fn check(data: Bytes) -> Result<Bytes, String> {
    if data.len() < HEADER_LEN || &data[..8] != MAGIC {
        return Err("not a tern snapshot file (bad magic header)".into());
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&data[8..12]);
    let version = u32::from_be_bytes(v);
    if version != FORMAT_VERSION {
        return Err(format!(
            "snapshot format version {version} is not supported (this broker reads version {FORMAT_VERSION})"
        ));
    }
    let mut l = [0u8; 8];
    l.copy_from_slice(&data[12..20]);
    let body_len = u64::from_be_bytes(l);
    let mut c = [0u8; 4];
    c.copy_from_slice(&data[20..24]);
    let crc = u32::from_be_bytes(c);
    let body = data.slice(HEADER_LEN..);
    if body.len() as u64 != body_len {
        return Err(format!(
            "truncated or padded: header says {body_len} body bytes, file has {}",
            body.len()
        ));
    }
    if crc32(&body) != crc {
        return Err("checksum mismatch: the file is damaged".into());
    }
    Ok(body)
}

/// Writes `body` as the snapshot at `path`, atomically (see the module docs). On error the
/// previous file is untouched and the temporary file removed.
pub fn write_atomic(path: &Path, body: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // One writer at a time in this process: two saves must never share the temporary file.
    static WRITING: Mutex<()> = Mutex::new(());
    let _one = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
    let res = write_tmp(&tmp, body).and_then(|()| fs::rename(&tmp, path));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
        return res;
    }
    // Makes the rename itself durable.
    File::open(&dir)?.sync_all()
}

fn write_tmp(tmp: &Path, body: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    header.extend_from_slice(&(body.len() as u64).to_be_bytes());
    header.extend_from_slice(&crc32(body).to_be_bytes());
    f.write_all(&header)?;
    f.write_all(body)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        assert_eq!(read(&path, 1 << 20), Ok(None));
        write_atomic(&path, b"hello").unwrap();
        write_atomic(&path, b"world!").unwrap();
        assert_eq!(
            read(&path, 1 << 20),
            Ok(Some(Bytes::from_static(b"world!")))
        );
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the snapshot itself");
    }

    #[test]
    fn damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        write_atomic(&path, b"some body bytes").unwrap();
        let good = fs::read(&path).unwrap();

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(check(flipped.into()).unwrap_err().contains("checksum"));

        let truncated = good[..good.len() - 2].to_vec();
        assert!(check(truncated.into()).unwrap_err().contains("truncated"));

        let mut version = good.clone();
        version[11] = 9;
        assert!(check(version.into()).unwrap_err().contains("version 9"));

        assert!(
            check(Bytes::from_static(b"garbage"))
                .unwrap_err()
                .contains("magic")
        );
        assert!(read(&path, 4).unwrap_err().contains("more than"));
    }
}
