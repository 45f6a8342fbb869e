//! The durable [`Store`]: SQLite (bundled) in WAL mode, one writer thread with group commit.
//!
//! * `schema.rs`: tables, version, integrity check on open, `Durability`
//! * `load.rs`: the whole database into an `Image` at start
//! * `writer.rs`: the writer thread (batches, body reference counts)
//! * `migrate.rs`: importing a snapshot file of the earlier persistence format once
//!
//! Appending costs a mutex and a `Vec` append on the caller's thread; encoding and I/O happen
//! on the writer. Why SQLite: crash-safe commits (WAL, checksummed pages), `PRAGMA
//! quick_check` to refuse a damaged file, and indexes for deleting one acknowledged entry —
//! measured with the load generator in server/README.md ("Persistence").

mod load;
mod migrate;
mod schema;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use bytestring::ByteString;
use tokio::sync::watch;

pub use load::options as subscription_options;
pub use schema::Durability;

use super::Stored;
use super::durable::{Commit, Op, Store};
use super::image::{Clock, Image};
use writer::Shared;

/// An open database and its writer thread.
pub struct SqliteStore {
    shared: Arc<Shared>,
    commits: watch::Receiver<Commit>,
    next_sid: AtomicU64,
    next_mid: AtomicU64,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// What opening found: the state to restore, and what expired while the broker was down.
pub struct Opened {
    pub store: SqliteStore,
    pub image: Image,
    /// (session id, entry) of queued messages that expired.
    pub expired_entries: Vec<(u64, Stored)>,
    pub expired_retained: Vec<ByteString>,
}

impl SqliteStore {
    /// Opens or creates the database at `path` (importing a snapshot file of the earlier
    /// format found there), loads it, and starts the writer. Errors name what is wrong; the
    /// broker must not start then: state is never dropped silently.
    pub fn open(path: &Path, durability: Durability) -> Result<Opened, String> {
        migrate::finish_interrupted(path)?;
        if migrate::is_snapshot_file(path)? {
            migrate::import(path, durability)?;
        }
        let conn = schema::open(path, durability)?;
        let loaded = load::load(&conn, Clock::now())?;
        // Bodies no entry refers to (a crash between the two is not possible inside one
        // transaction, but earlier versions or manual edits could leave some).
        conn.execute(
            "DELETE FROM messages WHERE mid NOT IN (SELECT mid FROM queue)",
            [],
        )
        .map_err(|e| format!("cannot clean up the database: {e}"))?;
        let (tx, rx) = watch::channel(0);
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            let refs = loaded.refs;
            std::thread::Builder::new()
                .name("tern-store".into())
                .spawn(move || writer::run(conn, shared, tx, refs))
                .map_err(|e| format!("cannot start the writer thread: {e}"))?
        };
        Ok(Opened {
            store: SqliteStore {
                shared,
                commits: rx,
                next_sid: AtomicU64::new(loaded.next_sid),
                next_mid: AtomicU64::new(loaded.next_mid),
                writer: Mutex::new(Some(thread)),
            },
            image: loaded.image,
            expired_entries: loaded.expired_entries,
            expired_retained: loaded.expired_retained,
        })
    }
}

impl Store for SqliteStore {
    fn durable(&self) -> bool {
        true
    }

    fn append(&self, ops: &mut Vec<Op>) -> Commit {
        let mut p = self.shared.lock();
        p.last += 1;
        p.ops.append(ops);
        let n = p.last;
        drop(p);
        self.shared.wake.notify_one();
        n
    }

    fn committed(&self) -> Commit {
        *self.commits.borrow()
    }

    fn commits(&self) -> watch::Receiver<Commit> {
        self.commits.clone()
    }

    fn next_sid(&self) -> u64 {
        self.next_sid.fetch_add(1, Ordering::Relaxed)
    }

    fn next_mid(&self) -> u64 {
        self.next_mid.fetch_add(1, Ordering::Relaxed)
    }

    fn close(&self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("the persistence writer thread panicked");
        }
    }
}
