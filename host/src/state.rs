//! Lifecycle states of a component.

use std::fmt;

/// Where a component is in its life. Read it with
/// [`ComponentHandle::state`](crate::ComponentHandle::state) or
/// [`Host::components`](crate::Host::components); every change is an [`Event`](crate::Event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Instantiating and running `init`.
    Starting,
    /// Serving calls.
    Running,
    /// Trapped; a fresh instance starts after the backoff.
    Restarting,
    /// Shutting down: its `shutdown` runs, then queued calls are answered.
    Stopping,
    /// Stopped cleanly (shut down, [`Host::stop`](crate::Host::stop), or dropped). Its
    /// address is free.
    Stopped,
    /// Ended by a failure: `init` failed, a trap its supervision does not restart, the
    /// restart limit, or an escalation. Its address is free.
    Failed,
}

impl State {
    /// True for [`Stopped`](Self::Stopped) and [`Failed`](Self::Failed): nothing runs, and a
    /// new start may take the address.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        })
    }
}
