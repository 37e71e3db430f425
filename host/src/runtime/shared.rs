//! The one record an instance shares with everyone who asks about it: its counters, memory,
//! lifecycle state and why it stopped. The actor and the gate write it; handles and the
//! registry read it. Every state change goes through [`Shared::enter`], which also emits the
//! event, so the state and the events never disagree.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::interfaces::Sent;
use crate::limits::{MemoryStats, MemoryUsage};
use crate::policy::Gate;
use crate::{Event, EventKind, Identity, State};

/// Counters of a component, from [`ComponentHandle::stats`](crate::ComponentHandle::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests served (whatever their outcome).
    pub requests: u64,
    /// Messages handled, direct and published (whatever their outcome).
    pub messages: u64,
    /// Requests and messages the component answered with a domain error.
    pub errors: u64,
    /// Requests it made to other components (`airssys::msg::request`), whatever their
    /// outcome.
    pub requests_sent: u64,
    /// Messages it sent to other components (`airssys::msg::send`), whatever their outcome.
    pub messages_sent: u64,
    /// Topics it published on (`airssys::msg::publish`), whatever they reached.
    pub published: u64,
    /// Traps, including those during restarts.
    pub traps: u64,
    /// Fresh instances started after traps.
    pub restarts: u64,
    /// Capability checks that denied a host call.
    pub denials: u64,
}

impl std::ops::Add for Stats {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            requests: self.requests + other.requests,
            messages: self.messages + other.messages,
            errors: self.errors + other.errors,
            requests_sent: self.requests_sent + other.requests_sent,
            messages_sent: self.messages_sent + other.messages_sent,
            published: self.published + other.published,
            traps: self.traps + other.traps,
            restarts: self.restarts + other.restarts,
            denials: self.denials + other.denials,
        }
    }
}

/// What one instance (across its restarts) shares.
pub(crate) struct Shared {
    /// Decides its host calls and counts denials.
    pub(crate) gate: Arc<Gate>,
    /// Written by the store's limiter.
    pub(crate) memory: Arc<MemoryStats>,
    /// Written by the messaging interface.
    pub(crate) sent: Arc<Sent>,
    pub(crate) requests: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) traps: AtomicU64,
    pub(crate) restarts: AtomicU64,
    status: Mutex<Status>,
    events: broadcast::Sender<Event>,
}

struct Status {
    state: State,
    /// Why it stopped, once it has.
    reason: Option<String>,
    /// When it last entered `Running` from `Starting`.
    since: Option<Instant>,
}

impl Shared {
    /// A record in [`State::Starting`]; no event yet (see [`starting`](Self::starting)).
    pub(crate) fn new(gate: Arc<Gate>, events: broadcast::Sender<Event>) -> Self {
        Self {
            gate,
            memory: Arc::default(),
            sent: Arc::default(),
            requests: AtomicU64::default(),
            messages: AtomicU64::default(),
            errors: AtomicU64::default(),
            traps: AtomicU64::default(),
            restarts: AtomicU64::default(),
            status: Mutex::new(Status {
                state: State::Starting,
                reason: None,
                since: None,
            }),
            events,
        }
    }

    pub(crate) fn identity(&self) -> &Arc<Identity> {
        self.gate.identity()
    }

    /// Moves to `state` and emits `kind`. A final state is never left: after it, nothing
    /// changes and nothing more is emitted.
    pub(crate) fn enter(&self, state: State, kind: EventKind) {
        {
            let mut status = self.status();
            if status.state.is_final() {
                return;
            }
            if state == State::Running && status.since.is_none() {
                status.since = Some(Instant::now());
            }
            if let EventKind::Stopped { reason } = &kind {
                status.reason = Some(reason.clone());
            }
            status.state = state;
        }
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(Event {
            component: Identity::clone(self.identity()),
            state,
            kind,
        });
    }

    pub(crate) fn state(&self) -> State {
        self.status().state
    }

    /// Why it stopped, once it is in a final state.
    pub(crate) fn stop_reason(&self) -> Option<String> {
        self.status().reason.clone()
    }

    /// How long it has been up since it first started; zero once it stopped.
    pub(crate) fn uptime(&self) -> Duration {
        let status = self.status();
        match status.since {
            Some(since) if !status.state.is_final() => since.elapsed(),
            _ => Duration::ZERO,
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            requests: load(&self.requests),
            messages: load(&self.messages),
            errors: load(&self.errors),
            requests_sent: self.sent.requests(),
            messages_sent: self.sent.messages(),
            published: self.sent.publishes(),
            traps: load(&self.traps),
            restarts: load(&self.restarts),
            denials: self.gate.denials(),
        }
    }

    pub(crate) fn memory(&self) -> MemoryUsage {
        self.memory.usage()
    }

    fn status(&self) -> MutexGuard<'_, Status> {
        // The status stays consistent even if a holder panicked, so poisoning is ignored.
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}
