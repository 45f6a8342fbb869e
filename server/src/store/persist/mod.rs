//! Durable storage as Mosquitto does it: the whole in-memory state (retained messages and
//! persistent sessions) is written to one snapshot file on graceful shutdown and every
//! `autosave_interval`, and loaded at start before any listener accepts a client.
//!
//! Like Mosquitto, this is not a write-ahead log: what changed after the last snapshot is
//! lost if the process is killed without a graceful shutdown.
//!
//! * `wire`: bounds-checked field reader/writer, CRC-32
//! * `snapshot/`: [`Snapshot`] and its body encoding (times as UNIX milliseconds)
//! * `file`: header (magic, version, length, checksum), atomic write
//! * `task`: load at start, autosave, save at shutdown

mod file;
mod snapshot;
mod task;
mod wire;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use file::{FORMAT_VERSION, MAGIC};
pub use snapshot::{Clock, SessionImage, Snapshot};
pub use task::{autosave_loop, load, restore, save, shutdown};

use crate::config::Config;
use crate::error::Error;

/// Largest snapshot file loaded (4 GiB): the loader holds the file and the state built
/// from it in memory at once, so this bounds start-up memory to roughly twice the size.
pub const MAX_FILE_SIZE: u64 = 4 << 30;

/// Where and how often to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    pub path: PathBuf,
    /// `autosave_interval`: seconds between saves, or (with `on_changes`) the number of
    /// changes; zero = only on shutdown.
    pub interval: u64,
    /// `autosave_on_changes`.
    pub on_changes: bool,
}

impl Persistence {
    /// `None` unless `persistence = true`.
    pub fn from_config(c: &Config) -> Option<Persistence> {
        c.persistence.then(|| Persistence {
            path: c.persistence_path(),
            interval: c.autosave_interval,
            on_changes: c.autosave_on_changes,
        })
    }

    /// The time-based autosave period, if any.
    pub fn period(&self) -> Option<Duration> {
        (!self.on_changes && self.interval > 0).then(|| Duration::from_secs(self.interval))
    }

    /// Reads the snapshot (blocking I/O). A missing file is a fresh start (`Ok(None)`); a
    /// file that cannot be read or decoded is an error naming it: data is never silently
    /// discarded.
    pub fn load(&self, clock: Clock) -> Result<Option<Snapshot>, Error> {
        let err = |message: String| Error::Persistence {
            path: self.path.clone(),
            message,
        };
        let Some(body) = file::read(&self.path, MAX_FILE_SIZE).map_err(err)? else {
            return Ok(None);
        };
        // Any packet size: a lower `max_packet_size` than when the file was written must not
        // make it unreadable (the limit applies to what clients send and receive).
        snapshot::decode(body, clock, u32::MAX)
            .map(Some)
            .map_err(|e| err(format!("damaged snapshot: {}", e.0)))
    }

    /// Encodes and writes `snapshot` atomically (blocking I/O: call from a blocking thread).
    pub fn save(&self, snapshot: &Snapshot, clock: Clock) -> Result<(), Error> {
        let body = snapshot::encode(snapshot, clock).map_err(|message| Error::Persistence {
            path: self.path.clone(),
            message,
        })?;
        file::write_atomic(&self.path, &body).map_err(|e| Error::Persistence {
            path: self.path.clone(),
            message: format!("cannot write snapshot: {e}"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
