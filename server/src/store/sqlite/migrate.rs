//! One-time import of a snapshot file written by the earlier persistence (whole-state
//! snapshots on shutdown and autosave) into a new database at the same path.
//!
//! Crash-safe in three steps: the database is built next to the file
//! (`<file>.migrating`) and committed; the snapshot is renamed to `<file>.snapshot-v1` (kept,
//! not deleted); the database is renamed into place. A start that finds `.migrating` but no
//! file completes the last step.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::schema::{self, Durability};
use super::writer;
use crate::store::durable::{Op, SessionRecord, StoredWill};
use crate::store::image::{Clock, Image};
use crate::store::legacy;
use crate::store::{Delivery, Message};

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Whether `path` holds a snapshot of the earlier format (its magic header).
pub fn is_snapshot_file(path: &Path) -> Result<bool, String> {
    let mut head = [0u8; 8];
    match std::fs::File::open(path) {
        Ok(mut f) => Ok(
            f.read(&mut head).map_err(|e| format!("cannot read: {e}"))? == 8
                && &head == legacy::MAGIC,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot open: {e}")),
    }
}

/// Completes a migration interrupted between its two renames.
pub fn finish_interrupted(path: &Path) -> Result<(), String> {
    let pending = with_suffix(path, ".migrating");
    if pending.exists() && !path.exists() && with_suffix(path, ".snapshot-v1").exists() {
        std::fs::rename(&pending, path).map_err(|e| format!("cannot finish migration: {e}"))?;
    } else if pending.exists() {
        // Built but not committed to: start over from the snapshot.
        std::fs::remove_file(&pending).map_err(|e| format!("cannot remove {e}"))?;
    }
    Ok(())
}

/// Imports the snapshot at `path` (see the module documentation).
pub fn import(path: &Path, durability: Durability) -> Result<(), String> {
    let clock = Clock::now();
    let body = legacy::read_file(path, legacy::MAX_FILE_SIZE)?
        .ok_or_else(|| "the snapshot file disappeared".to_owned())?;
    let image =
        legacy::decode(body, clock, u32::MAX).map_err(|e| format!("damaged snapshot: {}", e.0))?;
    let building = with_suffix(path, ".migrating");
    {
        let mut conn = schema::open(&building, durability)?;
        let ops = ops_of(&image, clock);
        let mut refs = HashMap::new();
        writer::apply(&mut conn, &ops, &mut refs)
            .map_err(|e| format!("cannot import the snapshot: {e}"))?;
    }
    let kept = with_suffix(path, ".snapshot-v1");
    std::fs::rename(path, &kept).map_err(|e| format!("cannot move the snapshot aside: {e}"))?;
    std::fs::rename(&building, path).map_err(|e| format!("cannot move the database in: {e}"))?;
    tracing::info!(
        snapshot = %kept.display(),
        sessions = image.sessions.len(),
        retained = image.retained.len(),
        "imported the snapshot file of the earlier persistence format"
    );
    Ok(())
}

/// The ops that write `image` into an empty database.
fn ops_of(image: &Image, clock: Clock) -> Vec<Op> {
    let mut ops = Vec::new();
    for m in &image.retained {
        ops.push(Op::Retain {
            topic: m.topic.as_bytestring().clone(),
            msg: Some(Arc::clone(m)),
        });
    }
    let mut mids: HashMap<*const Message, u64> = HashMap::new();
    let mut body = |ops: &mut Vec<Op>, d: &Delivery| {
        let next = mids.len() as u64 + 1;
        *mids.entry(Arc::as_ptr(&d.msg)).or_insert_with(|| {
            ops.push(Op::Message {
                mid: next,
                msg: Arc::clone(&d.msg),
            });
            next
        })
    };
    for (i, s) in image.sessions.iter().enumerate() {
        let sid = i as u64 + 1;
        // An expired session is written as disconnected long enough ago, so the load finds
        // it expired again and the broker publishes its will.
        let gone = if s.expired {
            clock.instant - std::time::Duration::from_secs(u64::from(s.expiry) + 1)
        } else {
            s.disconnected_at.unwrap_or(clock.instant)
        };
        ops.push(Op::Session(Box::new(SessionRecord {
            sid,
            client_id: s.client_id.clone(),
            expiry: s.expiry,
            disconnected_at: Some(gone),
            will: s.will.as_ref().map(|(msg, at)| StoredWill::Due {
                msg: msg.clone(),
                at: *at,
            }),
        })));
        for (filter, options, id) in &s.subscriptions {
            ops.push(Op::Subscribe {
                sid,
                filter: filter.clone(),
                options: *options,
                id: *id,
            });
        }
        let sent = s
            .inflight
            .iter()
            .map(|f| (&f.delivery, Some((f.pid, f.released))));
        let queued = s.queue.iter().map(|d| (d, None));
        for (seq, (d, pid)) in sent.chain(queued).enumerate() {
            let seq = seq as u64 + 1;
            let mid = body(&mut ops, d);
            ops.push(Op::Enqueue {
                sid,
                seq,
                mid,
                qos: d.qos,
                retain: d.retain,
                sub_ids: d.sub_ids.clone(),
            });
            if let Some((pid, released)) = pid {
                ops.push(Op::Sent {
                    sid,
                    seq,
                    pid,
                    released,
                });
            }
        }
        for pid in &s.incoming_qos2 {
            ops.push(Op::Qos2In { sid, pid: *pid });
        }
    }
    ops
}
