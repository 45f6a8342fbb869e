//! The database layout, its version, and opening a file safely.
//!
//! One row per session, subscription, stored message body, queue entry (queued or in
//! flight: `pid` set once sent), incoming QoS 2 id and retained message. Queue entries refer
//! to a message body by `mid`, so a message fanned out to many sessions is stored once.
//! Times are UNIX milliseconds.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

/// Bumped with every incompatible layout change; a broker refuses a newer database.
pub const SCHEMA_VERSION: i64 = 1;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions(
    sid INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    expiry INTEGER NOT NULL,
    disconnected_at INTEGER,
    will BLOB,
    will_delay INTEGER,
    will_due INTEGER
);
CREATE TABLE IF NOT EXISTS subscriptions(
    sid INTEGER NOT NULL,
    filter TEXT NOT NULL,
    options INTEGER NOT NULL,
    sub_id INTEGER,
    PRIMARY KEY(sid, filter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages(mid INTEGER PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS queue(
    sid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    mid INTEGER NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    sub_ids BLOB,
    pid INTEGER,
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(sid, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS qos2_in(
    sid INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    PRIMARY KEY(sid, pid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retained(topic TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
";

/// How a commit reaches the disk (`persistence_durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// fsync on every commit (SQLite `synchronous = FULL`): survives a power cut.
    #[default]
    Full,
    /// No fsync per commit (`synchronous = NORMAL` in WAL mode): survives the process being
    /// killed, not a power cut or kernel crash (the last commits may be lost then).
    Relaxed,
}

/// Opens (creating when missing) the database at `path`, checks it is intact and of a
/// version this broker reads, and sets it up for one writer with group commit.
pub fn open(path: &Path, durability: Durability) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open the database: {e}"))?;
    let sql = |e: rusqlite::Error| e.to_string();
    // A damaged or foreign file shows here: refuse to start rather than drop state.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| format!("not a usable SQLite database: {e}"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!(
            "cannot switch the database to WAL mode (got {mode})"
        ));
    }
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| format!("integrity check failed: {e}"))?;
    if check != "ok" {
        return Err(format!(
            "the database is damaged (integrity check: {check})"
        ));
    }
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Relaxed => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;"
    ))
    .map_err(sql)?;
    conn.execute_batch(TABLES).map_err(sql)?;
    let version: Option<i64> = conn
        .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql)?;
    match version {
        None => {
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('schema', ?1)",
                [SCHEMA_VERSION],
            )
            .map_err(sql)?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "database schema version {v} is not supported (this broker reads version {SCHEMA_VERSION})"
            ));
        }
    }
    Ok(conn)
}
