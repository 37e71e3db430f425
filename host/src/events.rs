//! The events that report each lifecycle transition of a component.

use crate::{Identity, State, Trap, VersionState};

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
    /// A version kept at the address changed state (a deploy, a rollback, a retirement);
    /// the event's component is that version, and its state is `Running` while the version
    /// has instances, `Stopped` (`Failed` for a failed deploy) when it has none.
    Version {
        /// Its number at the address ([`VersionInfo::id`](crate::VersionInfo::id)).
        id: u64,
        /// The state it entered.
        state: VersionState,
        /// Why, for a failed deploy; what happened, for some others.
        detail: Option<String>,
    },
}
