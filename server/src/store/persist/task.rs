//! When snapshots are loaded and saved: at start (before the listeners are bound), every
//! `autosave_interval` (seconds, or changes with `autosave_on_changes`) and at shutdown.

use tokio_util::sync::CancellationToken;

use super::{Clock, Persistence, Snapshot};
use crate::broker::Broker;
use crate::config::Config;
use crate::error::Error;

/// Reads the snapshot named by the config, if persistence is on (blocking; start-up only).
/// Errors name the file; the broker must not start then.
pub fn load(config: &Config) -> Result<Option<Snapshot>, Error> {
    let Some(p) = Persistence::from_config(config) else {
        return Ok(None);
    };
    // A missing directory would only show at the first save, when data is already at stake.
    let dir = match p.path().parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::Persistence {
            path: p.path().to_owned(),
            message: format!("persistence_location {} is not a directory", dir.display()),
        });
    }
    let snap = p.load(Clock::now())?;
    match &snap {
        Some(s) => tracing::info!(
            file = %p.path().display(),
            retained = s.retained.len(),
            sessions = s.sessions.len(),
            "loaded persistence file"
        ),
        None => tracing::info!(
            file = %p.path().display(),
            "no persistence file yet; starting empty"
        ),
    }
    Ok(snap)
}

/// Puts a loaded snapshot into the broker.
pub fn restore(broker: &Broker, snap: Option<Snapshot>) {
    if let Some(s) = snap {
        let r = broker.restore(s);
        tracing::info!(
            retained = r.retained,
            sessions = r.sessions,
            expired_sessions = r.expired_sessions,
            "restored persisted state"
        );
    }
}

/// Takes a snapshot under the broker lock and writes it on a blocking thread.
pub async fn save(broker: &Broker) -> Result<(), Error> {
    let Some(p) = Persistence::from_config(broker.config()) else {
        return Ok(());
    };
    let (snap, clock) = broker.persist_snapshot();
    let path = p.path().to_owned();
    let res = tokio::task::spawn_blocking(move || p.save(&snap, clock))
        .await
        .map_err(|e| Error::Persistence {
            path,
            message: format!("snapshot task failed: {e}"),
        })?;
    if let Err(e) = &res {
        tracing::error!("{e}");
    }
    res
}

/// Autosaves until `stop` is cancelled.
pub async fn autosave_loop(broker: Broker, stop: CancellationToken) {
    let Some(p) = Persistence::from_config(broker.config()) else {
        return;
    };
    if p.interval == 0 {
        return;
    }
    let mut tick = p.period().map(|d| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = async {
                match tick.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => broker.changes_reached().await,
                }
            } => {}
        }
        // A failed autosave is logged (in `save`); the next one or the shutdown retries.
        let _ = save(&broker).await;
    }
}

/// At shutdown, after every session has handed its state back: with persistence, saves
/// (delayed wills are saved with their due time, the sessions live on); without, the
/// in-memory sessions end with the server, so their delayed wills are sent now
/// [MQTT-3.1.3-9].
pub async fn shutdown(broker: &Broker) -> Result<(), Error> {
    if broker.config().persistence {
        save(broker).await
    } else {
        broker.flush_pending_wills();
        Ok(())
    }
}
