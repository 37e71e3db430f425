//! Lifecycle states of a component and the events that report each transition.

use std::fmt;

use crate::{Identity, Trap};

/// Where a component is in its life. Read it with
/// [`ComponentHandle::state`](crate::ComponentHandle::state) or
/// [`Host::components`](crate::Host::components); every change is an [`Event`].
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

/// Something that happened to a component, from [`Host::events`](crate::Host::events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Which component: address, manifest name and version, content hash.
    pub component: Identity,
    /// The state it is in after this event.
    pub state: State,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`]. A component's events come in order: `Starting`, `Started`, then
/// any `Trapped` followed by `Restarted` (or `Escalated`), and last `Stopping` (when a stop
/// was asked for) and `Stopped`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A start began: instantiation and `init`.
    Starting,
    /// The instance started (`init` succeeded).
    Started,
    /// The instance trapped and was retired; the state says whether it restarts.
    Trapped(Trap),
    /// A fresh instance replaced a trapped one; `restarts` counts them for this component.
    Restarted {
        /// Restarts so far for this component.
        restarts: u64,
    },
    /// A stop was asked for (shutdown, [`Host::stop`](crate::Host::stop), or every handle and
    /// the host dropped); the component's `shutdown` runs next.
    Stopping,
    /// The component stopped for good; the state is [`State::Failed`] when a failure ended it.
    Stopped {
        /// Why: shut down, dropped, policy `Stop`, the restart limit, or a failed start.
        reason: String,
    },
    /// The instance trapped under [`Supervision::Escalate`](crate::Supervision::Escalate) and
    /// stops; the embedder decides.
    Escalated(Trap),
}
