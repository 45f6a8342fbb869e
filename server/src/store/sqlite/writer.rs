//! The one writer thread: takes every op appended since its last commit, applies them in
//! one transaction, commits, and announces the commit number (group commit). While a commit
//! waits for the disk, new ops accumulate and go into the next one, so the batch grows with
//! the load and the number of fsyncs does not.
//!
//! Message bodies are reference-counted here (queue entries per `mid`): a body is deleted
//! with its last entry.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, params};
use tokio::sync::watch;

use super::load::ids_to_blob;
use crate::store::blob;
use crate::store::durable::{Commit, Op, SessionRecord, StoredWill};
use crate::store::image::Clock;

/// Ops waiting for the writer.
#[derive(Debug, Default)]
pub struct Pending {
    pub ops: Vec<Op>,
    /// Commit number of the last append.
    pub last: Commit,
    pub closing: bool,
}

/// What appenders and the writer share.
#[derive(Debug, Default)]
pub struct Shared {
    pub pending: Mutex<Pending>,
    pub wake: Condvar,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs until `closing` is set and everything appended is committed.
pub fn run(
    mut conn: Connection,
    shared: Arc<Shared>,
    commits: watch::Sender<Commit>,
    mut refs: HashMap<u64, u32>,
) {
    let mut batch = Vec::new();
    loop {
        let upto = {
            let mut p = shared.lock();
            while p.ops.is_empty() && !p.closing {
                p = shared.wake.wait(p).unwrap_or_else(PoisonError::into_inner);
            }
            if p.ops.is_empty() {
                return;
            }
            std::mem::swap(&mut batch, &mut p.ops);
            p.last
        };
        let mut delay = Duration::from_millis(10);
        // A failed transaction rolls back entirely, so the same batch is simply retried; the
        // acknowledgements it holds wait meanwhile (nothing is acknowledged unstored).
        loop {
            match apply(&mut conn, &batch, &mut refs) {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!(
                        "cannot write to the persistence database, retrying in {delay:?}: {e}"
                    );
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(5));
                    // The reference counts were changed by the rolled-back batch.
                    match count_refs(&conn) {
                        Ok(r) => refs = r,
                        Err(e) => tracing::error!("cannot recount message references: {e}"),
                    }
                }
            }
        }
        batch.clear();
        commits.send_replace(upto);
    }
}

pub(super) fn apply(
    conn: &mut Connection,
    ops: &[Op],
    refs: &mut HashMap<u64, u32>,
) -> rusqlite::Result<()> {
    let clock = Clock::now();
    let mut written = Vec::new();
    let tx = conn.transaction()?;
    for op in ops {
        match op {
            Op::Session(rec) => put_session(&tx, rec, clock)?,
            Op::SessionGone { sid } => {
                let mids: Vec<u64> = tx
                    .prepare_cached("SELECT mid FROM queue WHERE sid = ?1")?
                    .query_map([sid], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                for mid in mids {
                    release(&tx, refs, mid)?;
                }
                for table in ["queue", "subscriptions", "qos2_in", "sessions"] {
                    tx.prepare_cached(&format!("DELETE FROM {table} WHERE sid = ?1"))?
                        .execute([sid])?;
                }
            }
            Op::Subscribe {
                sid,
                filter,
                options,
                id,
            } => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO subscriptions(sid, filter, options, sub_id) \
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    sid,
                    &**filter,
                    options.to_byte(),
                    id.map(|i| i.get())
                ])?;
            }
            Op::Unsubscribe { sid, filter } => {
                tx.prepare_cached("DELETE FROM subscriptions WHERE sid = ?1 AND filter = ?2")?
                    .execute(params![sid, &**filter])?;
            }
            Op::Message { mid, msg } => {
                let body = blob::encode(msg, clock, None).map_err(to_sql)?;
                tx.prepare_cached("INSERT OR REPLACE INTO messages(mid, body) VALUES (?1, ?2)")?
                    .execute(params![mid, body])?;
                refs.entry(*mid).or_insert(0);
                written.push(*mid);
            }
            Op::Enqueue {
                sid,
                seq,
                mid,
                qos,
                retain,
                sub_ids,
            } => {
                let ids = (!sub_ids.is_empty()).then(|| ids_to_blob(sub_ids));
                let n = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO queue(sid, seq, mid, qos, retain, sub_ids) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![sid, seq, mid, *qos as u8, retain, ids])?;
                if n > 0 {
                    *refs.entry(*mid).or_insert(0) += 1;
                }
            }
            Op::Sent {
                sid,
                seq,
                pid,
                released,
            } => {
                tx.prepare_cached(
                    "UPDATE queue SET pid = ?3, released = ?4 WHERE sid = ?1 AND seq = ?2",
                )?
                .execute(params![sid, seq, pid.get(), released])?;
            }
            Op::Dequeue { sid, seq, mid } => {
                let n = tx
                    .prepare_cached("DELETE FROM queue WHERE sid = ?1 AND seq = ?2")?
                    .execute(params![sid, seq])?;
                if n > 0 {
                    release(&tx, refs, *mid)?;
                }
            }
            Op::Qos2In { sid, pid } => {
                tx.prepare_cached("INSERT OR IGNORE INTO qos2_in(sid, pid) VALUES (?1, ?2)")?
                    .execute(params![sid, pid.get()])?;
            }
            Op::Qos2Released { sid, pid } => {
                tx.prepare_cached("DELETE FROM qos2_in WHERE sid = ?1 AND pid = ?2")?
                    .execute(params![sid, pid.get()])?;
            }
            Op::Retain {
                topic,
                msg: Some(m),
            } => {
                let body = blob::encode(m, clock, None).map_err(to_sql)?;
                tx.prepare_cached("INSERT OR REPLACE INTO retained(topic, body) VALUES (?1, ?2)")?
                    .execute(params![&**topic, body])?;
            }
            Op::Retain { topic, msg: None } => {
                tx.prepare_cached("DELETE FROM retained WHERE topic = ?1")?
                    .execute([&**topic])?;
            }
            // Only a cluster node makes these, and a cluster node has no SQLite store.
            Op::Cluster(_) => {}
        }
    }
    // Bodies written in this batch that no entry ended up referring to.
    for mid in written {
        if refs.get(&mid) == Some(&0) {
            refs.remove(&mid);
            tx.prepare_cached("DELETE FROM messages WHERE mid = ?1")?
                .execute([mid])?;
        }
    }
    tx.commit()
}

/// One reference to a body fewer; deletes the body with its last reference.
fn release(
    tx: &rusqlite::Transaction<'_>,
    refs: &mut HashMap<u64, u32>,
    mid: u64,
) -> rusqlite::Result<()> {
    let n = refs.entry(mid).or_insert(1);
    *n = n.saturating_sub(1);
    if *n == 0 {
        refs.remove(&mid);
        tx.prepare_cached("DELETE FROM messages WHERE mid = ?1")?
            .execute([mid])?;
    }
    Ok(())
}

/// Queue entries per message body, as stored.
pub fn count_refs(conn: &Connection) -> rusqlite::Result<HashMap<u64, u32>> {
    let mut st = conn.prepare("SELECT mid, count(*) FROM queue GROUP BY mid")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

fn put_session(
    tx: &rusqlite::Transaction<'_>,
    s: &SessionRecord,
    clock: Clock,
) -> rusqlite::Result<()> {
    let (will, delay, due) = match &s.will {
        None => (None, None, None),
        Some(StoredWill::Armed { msg, delay, expiry }) => (
            Some(blob::encode(msg, clock, *expiry).map_err(to_sql)?),
            Some(*delay),
            None,
        ),
        Some(StoredWill::Due { msg, at }) => (
            Some(blob::encode(msg, clock, None).map_err(to_sql)?),
            None,
            Some(clock.to_unix(*at)),
        ),
    };
    tx.prepare_cached(
        "INSERT INTO sessions(sid, client_id, expiry, disconnected_at, will, will_delay, will_due) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT(sid) DO UPDATE SET expiry = ?3, disconnected_at = ?4, will = ?5, \
         will_delay = ?6, will_due = ?7",
    )?
    .execute(params![
        s.sid,
        &*s.client_id,
        s.expiry,
        s.disconnected_at.map(|t| clock.to_unix(t)),
        will,
        delay,
        due
    ])?;
    Ok(())
}

fn to_sql(message: String) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(message.into())
}
