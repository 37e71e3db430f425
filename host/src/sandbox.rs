//! Enforcing [`Limits`] on one instance's `Store`: the resource limiter, the per-call
//! deadline and fuel budget, and classifying the trap when a guest goes past them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use wasmtime::{ResourceLimiter, Store, UpdateDeadline};

use crate::error::{Trap, TrapKind};
use crate::state::InstanceState;
use crate::{Error, Limits, Result};

/// Current and peak linear memory of an instance, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Bytes of linear memory the instance has now.
    pub current: u64,
    /// The most it ever had (across restarts of the same handle).
    pub peak: u64,
}

/// Memory figures shared between an instance's limiter and its handle.
#[derive(Debug, Default)]
pub(crate) struct MemoryStats {
    current: AtomicU64,
    peak: AtomicU64,
}

impl MemoryStats {
    pub(crate) fn usage(&self) -> MemoryUsage {
        MemoryUsage {
            current: self.current.load(Ordering::Relaxed),
            peak: self.peak.load(Ordering::Relaxed),
        }
    }
}

/// wasmtime's view of the limits: refuses growth past them and remembers that it did, so a
/// trap that follows can be reported as a memory limit rather than a bare `unreachable`.
pub(crate) struct Limiter {
    limits: Limits,
    total: u64,
    stats: Arc<MemoryStats>,
    pub(crate) memory_refused: bool,
    pub(crate) table_refused: bool,
}

impl Limiter {
    pub(crate) fn new(limits: Limits, stats: Arc<MemoryStats>) -> Self {
        stats.current.store(0, Ordering::Relaxed);
        Self {
            limits,
            total: 0,
            stats,
            memory_refused: false,
            table_refused: false,
        }
    }

    /// True when a limit refused growth since the last classification.
    pub(crate) fn refused(&self) -> bool {
        self.memory_refused || self.table_refused
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.total - current as u64 + desired as u64;
        if after > self.limits.memory {
            self.memory_refused = true;
            return Ok(false);
        }
        self.total = after;
        self.stats.current.store(after, Ordering::Relaxed);
        self.stats.peak.fetch_max(after, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.table_elements {
            self.table_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.instances
    }

    fn tables(&self) -> usize {
        self.limits.instances
    }

    fn memories(&self) -> usize {
        self.limits.instances
    }
}

/// Installs the limiter and the epoch callback on a fresh store. Every epoch tick the guest
/// yields to the async runtime (so a busy instance cannot starve others on the same
/// threads); past the call's deadline the callback interrupts it.
pub(crate) fn configure(store: &mut Store<InstanceState>) {
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_callback(|ctx| {
        if Instant::now() >= ctx.data().deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}

/// Arms the deadline and fuel budget for the next call into the guest.
pub(crate) fn arm(store: &mut Store<InstanceState>, fuel_metering: bool) -> Result<()> {
    let limits = &store.data().limits;
    let deadline = Instant::now() + limits.call_timeout;
    let fuel = limits.fuel;
    let state = store.data_mut();
    state.deadline = deadline;
    // Only what happens during this call may explain a trap in it.
    state.panic = None;
    state.limiter.memory_refused = false;
    state.limiter.table_refused = false;
    let suppressed = state.log_budget.reset();
    if suppressed > 0 {
        tracing::warn!(
            target: "airssys::guest",
            component = %state.label,
            "{suppressed} log line(s) suppressed: over {} per call",
            crate::state::MAX_LOG_LINES_PER_CALL
        );
    }
    store.set_epoch_deadline(1);
    if fuel_metering {
        store
            .set_fuel(fuel.unwrap_or(u64::MAX))
            .map_err(|err| Error::Config(format!("cannot set fuel: {err}")))?;
    }
    Ok(())
}

/// Classifies a failed guest call, using what the store saw just before it.
pub(crate) fn classify(store: &mut Store<InstanceState>, err: &wasmtime::Error) -> Trap {
    let state = store.data_mut();
    let panic = state.panic.take();
    let memory_refused = std::mem::take(&mut state.limiter.memory_refused);
    let table_refused = std::mem::take(&mut state.limiter.table_refused);
    // What the engine itself detected comes first, so a guest cannot relabel a deadline or
    // fuel trap by reporting a panic before it.
    let kind = match (err.downcast_ref::<wasmtime::Trap>(), panic) {
        (Some(wasmtime::Trap::OutOfFuel), _) => TrapKind::OutOfFuel,
        (Some(wasmtime::Trap::Interrupt), _) => TrapKind::Deadline(state.limits.call_timeout),
        (Some(wasmtime::Trap::StackOverflow), _) => TrapKind::StackOverflow,
        (_, Some(panic)) => TrapKind::Panic(panic),
        (_, None) if memory_refused => TrapKind::MemoryLimit(state.limits.memory),
        (_, None) if table_refused => TrapKind::TableLimit(state.limits.table_elements),
        (Some(wasmtime::Trap::UnreachableCodeReached), None) => TrapKind::Unreachable,
        (_, None) => TrapKind::Other,
    };
    Trap {
        kind,
        detail: format!("{err:#}"),
    }
}
