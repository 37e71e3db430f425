//! What happens after an instance traps.

use std::time::Duration;

/// What the host does when an instance traps. A trapped instance is never called again;
/// the policy decides whether a fresh one replaces it.
///
/// The default is [`Supervision::Restart`] with [`Restart::default`]: at most 5 restarts in
/// 60 s, backing off from 100 ms to 5 s, calls waiting meanwhile.
///
/// ```
/// use std::time::Duration;
/// use airssys_host::{Pending, Restart, Supervision};
/// let policy = Supervision::Restart(
///     Restart::new().max_restarts(3).window(Duration::from_secs(10)).pending(Pending::Fail),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supervision {
    /// Start a fresh instance (init runs again; state is lost) after a backoff, up to a
    /// number of restarts in a window; past that, stop.
    Restart(Restart),
    /// Stop: later calls fail with [`Error::Stopped`](crate::Error::Stopped).
    Stop,
    /// Stop, and report [`EventKind::Escalated`](crate::EventKind::Escalated) so the embedder
    /// decides what to do.
    Escalate,
}

impl Default for Supervision {
    fn default() -> Self {
        Self::Restart(Restart::default())
    }
}

/// How to restart: limits, backoff, and what calls do meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    pub(crate) max_restarts: u32,
    pub(crate) window: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) pending: Pending,
}

impl Default for Restart {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            pending: Pending::Wait,
        }
    }
}

impl Restart {
    /// The defaults: 5 restarts in 60 s, backoff 100 ms doubling to 5 s, calls wait.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most restarts within [`window`](Self::window); one more trap stops the instance.
    pub fn max_restarts(mut self, restarts: u32) -> Self {
        self.max_restarts = restarts;
        self
    }

    /// The sliding window restarts are counted in.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Wait before the first restart; doubles for each restart still in the window.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// What calls that arrive during a restart do.
    pub fn pending(mut self, pending: Pending) -> Self {
        self.pending = pending;
        self
    }

    /// The backoff before restart number `n` (0-based) within the window.
    pub(crate) fn backoff_for(&self, n: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(1u32.checked_shl(n).unwrap_or(u32::MAX))
            .min(self.max_backoff)
    }
}

/// What calls that arrive while an instance restarts do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pending {
    /// Wait in the mailbox and run on the fresh instance.
    #[default]
    Wait,
    /// Requests and health checks fail at once with
    /// [`Error::Restarting`](crate::Error::Restarting); messages are kept and delivered to
    /// the fresh instance.
    Fail,
}
