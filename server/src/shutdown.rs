//! Graceful shutdown: one `CancellationToken` every task watches and one `TaskTracker` that
//! counts every session — TCP ones spawned by the accept loop and WebSocket ones, which axum
//! runs on tasks it does not track once the HTTP upgrade is done.

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

/// Cheap to clone; all clones share the same token and tracker.
#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tracker: TaskTracker,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token sessions and listeners select on.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub fn is_shutting_down(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Spawns a tracked task.
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(fut)
    }

    /// Counts a task the tracker did not spawn (a WebSocket session) until dropped.
    pub fn track(&self) -> TaskTrackerToken {
        self.tracker.token()
    }

    /// Starts shutdown: listeners stop accepting, sessions close.
    pub fn trigger(&self) {
        self.token.cancel();
        self.tracker.close();
    }

    /// Resolves once every tracked task has finished (after [`Shutdown::trigger`]).
    pub async fn wait(&self) {
        self.tracker.wait().await;
    }
}
