//! Per-component resource limits, set by the operator, and the `Limiter` that holds a store
//! to them as it grows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::storage::Quota;
use crate::totals::Totals;
use crate::{Error, HostLimit, Result};

/// One wasm page: the smallest amount linear memory grows by.
const WASM_PAGE: u64 = 64 * 1024;
/// The longest accepted [`Limits::call_timeout`]: one day. Deadlines are instants, so a
/// bound keeps `now + call_timeout` representable; a day is longer than any call should be.
pub const MAX_CALL_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The largest accepted [`Limits::max_payload`]: 4 GiB - 1 bytes, the most a `list<u8>`
/// can carry into a component.
pub const MAX_PAYLOAD: usize = u32::MAX as usize;

/// Resource limits for each instance of a component. Set defaults for every component with
/// [`HostBuilder::limits`](crate::HostBuilder::limits), or per load with
/// [`LoadOptions::limits`](crate::LoadOptions::limits).
///
/// Each setting has one name: the public field reads it, the method of the same name sets it.
///
/// | limit | default | accepted | when exceeded |
/// |---|---|---|---|
/// | [`memory`](Self::memory) | 64 MiB of linear memory | 64 KiB or more | `memory.grow` fails in the guest; if it then traps, [`TrapKind::MemoryLimit`](crate::TrapKind::MemoryLimit) |
/// | [`table_elements`](Self::table_elements) | 100 000 per table | any | `table.grow` fails in the guest |
/// | [`instances`](Self::instances) | 64 core instances (and memories, tables) | 1 or more | instantiation fails |
/// | [`call_timeout`](Self::call_timeout) | 10 s of wall-clock time per call | the host's epoch tick ..= [`MAX_CALL_TIMEOUT`] (1 day) | [`TrapKind::Deadline`](crate::TrapKind::Deadline) |
/// | [`fuel`](Self::fuel) | none | 1 or more, on a host with fuel metering | [`TrapKind::OutOfFuel`](crate::TrapKind::OutOfFuel) |
/// | [`max_payload`](Self::max_payload) | 16 MiB per request or reply body | 1 ..= [`MAX_PAYLOAD`] (4 GiB - 1) | [`Error::PayloadTooLarge`](crate::Error::PayloadTooLarge) |
/// | [`storage`](Self::storage) | [`Quota::default`] per namespace it writes (100 000 keys, 64 MiB, 1 MiB values, 1 KiB keys) | any | the write fails with `quota-exceeded` in the guest |
/// | [`namespaces`](Self::namespaces) | 64 storage namespaces opened | 1 or more | the open fails with `quota-exceeded` in the guest |
///
/// A value outside its range is refused with [`Error::Config`](crate::Error::Config), naming
/// the setting and the range, when a host is built or a component started with it.
///
/// ```
/// use std::time::Duration;
/// let limits = airssys_host::Limits::new()
///     .memory(32 << 20)
///     .call_timeout(Duration::from_millis(500))
///     .fuel(50_000_000);
/// assert_eq!(limits.memory, 32 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most bytes of linear memory one instance may use, across all its memories.
    pub memory: u64,
    /// Most elements any one table may grow to.
    pub table_elements: usize,
    /// Most core-module instances one component instance may create.
    pub instances: usize,
    /// Wall-clock time one call may take.
    pub call_timeout: Duration,
    /// Fuel per call, if budgeted.
    pub fuel: Option<u64>,
    /// Largest request or reply body, in bytes.
    pub max_payload: usize,
    /// The quota of every storage namespace the component writes, on top of the namespace's
    /// own (each limit the lower of the two).
    pub storage: Quota,
    /// Most distinct storage namespaces the component may open while it runs (across its
    /// instances and restarts), so a grant like `app.>` cannot create namespaces without end.
    pub namespaces: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: 64 << 20,
            table_elements: 100_000,
            instances: 64,
            call_timeout: Duration::from_secs(10),
            fuel: None,
            max_payload: 16 << 20,
            storage: Quota::default(),
            namespaces: 64,
        }
    }
}

impl Limits {
    /// The defaults in the table above.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most bytes of linear memory one instance may use, across all its memories.
    pub fn memory(mut self, bytes: u64) -> Self {
        self.memory = bytes;
        self
    }

    /// Most elements any one table may grow to.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.table_elements = elements;
        self
    }

    /// Most core-module instances one component instance may create (wasmtime counts core
    /// instances; the same number caps its memories and tables).
    pub fn instances(mut self, instances: usize) -> Self {
        self.instances = instances;
        self
    }

    /// Wall-clock time one call (init, a request, a message, health, shutdown) may take.
    /// Enforced by epoch interruption, so it is exact to one epoch tick.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// A deterministic budget of fuel (roughly, wasm instructions) per call; needs a host
    /// built with [`HostBuilder::fuel_metering`](crate::HostBuilder::fuel_metering).
    pub fn fuel(mut self, units: u64) -> Self {
        self.fuel = Some(units);
        self
    }

    /// Largest request or reply body, in bytes, in either direction.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// The quota of every storage namespace the component writes, on top of the namespace's
    /// own: keys, bytes, value and key sizes.
    pub fn storage(mut self, quota: Quota) -> Self {
        self.storage = quota;
        self
    }

    /// Most distinct storage namespaces the component may open while it runs.
    pub fn namespaces(mut self, namespaces: usize) -> Self {
        self.namespaces = namespaces;
        self
    }

    /// Refuses settings no component could run under, naming the setting and the fix.
    pub(crate) fn validate(&self, fuel_metering: bool, epoch_tick: Duration) -> Result<()> {
        let bad = |message: String| Err(Error::Config(message));
        if self.memory < WASM_PAGE {
            return bad(format!(
                "memory limit of {} bytes is below one wasm page (65536 bytes); components need several MiB",
                self.memory
            ));
        }
        if self.instances == 0 {
            return bad("instances limit is 0; a component needs at least one instance".into());
        }
        if self.call_timeout.is_zero() {
            return bad("call_timeout is zero, so every call would time out; use e.g. 1 s".into());
        }
        if self.call_timeout > MAX_CALL_TIMEOUT {
            return bad(format!(
                "call_timeout {:?} is over the accepted {MAX_CALL_TIMEOUT:?} (one day)",
                self.call_timeout
            ));
        }
        if self.call_timeout < epoch_tick {
            return bad(format!(
                "call_timeout {:?} is shorter than the host's epoch tick {epoch_tick:?}, so it cannot be enforced; raise it or lower `HostBuilder::epoch_tick`",
                self.call_timeout
            ));
        }
        if self.max_payload == 0 {
            return bad("max_payload is 0, so no request or reply could pass".into());
        }
        if self.max_payload > MAX_PAYLOAD {
            return bad(format!(
                "max_payload of {} bytes is over the accepted {MAX_PAYLOAD} (4 GiB - 1), the most a body can carry into a component",
                self.max_payload
            ));
        }
        if self.namespaces == 0 {
            return bad(
                "namespaces is 0, so no storage namespace could be opened; use 1 or more".into(),
            );
        }
        match self.fuel {
            Some(0) => bad("a fuel budget of 0 stops every call at once; use e.g. 10_000_000".into()),
            Some(_) if !fuel_metering => bad(
                "a fuel budget needs fuel metering; build the host with `HostBuilder::fuel_metering(true)`".into(),
            ),
            _ => Ok(()),
        }
    }
}

/// Current and peak linear memory of an instance, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Bytes of linear memory the instance has now.
    pub current: u64,
    /// The most it ever had (across restarts of the same component).
    pub peak: u64,
}

/// Memory figures the limiter writes and the component's shared record reads.
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
/// Memory it lets the store grow to is charged against the host's [`Totals`] too, and given
/// back when the store is dropped.
pub(crate) struct Limiter {
    memory: u64,
    table_elements: usize,
    instances: usize,
    total: u64,
    stats: Arc<MemoryStats>,
    totals: Arc<Totals>,
    /// Fuel to give each call: `None` when the engine does not meter fuel.
    pub(crate) fuel_per_call: Option<u64>,
    pub(crate) memory_refused: bool,
    pub(crate) table_refused: bool,
    /// Growth the host's combined memory limit refused.
    pub(crate) host_refused: Option<HostLimit>,
}

impl Limiter {
    pub(crate) fn new(
        limits: &Limits,
        stats: Arc<MemoryStats>,
        totals: Arc<Totals>,
        fuel_metering: bool,
    ) -> Self {
        stats.current.store(0, Ordering::Relaxed);
        Self {
            memory: limits.memory,
            table_elements: limits.table_elements,
            instances: limits.instances,
            total: 0,
            stats,
            totals,
            fuel_per_call: fuel_metering.then(|| limits.fuel.unwrap_or(u64::MAX)),
            memory_refused: false,
            table_refused: false,
            host_refused: None,
        }
    }

    /// True when a limit refused growth since the last classification.
    pub(crate) fn refused(&self) -> bool {
        self.memory_refused || self.table_refused || self.host_refused.is_some()
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.totals.release(self.total);
        self.stats.current.store(0, Ordering::Relaxed);
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Saturating: `desired` is the guest's ask (a 64-bit memory may ask for anything).
        let after = self
            .total
            .saturating_sub(current as u64)
            .saturating_add(desired as u64);
        if after > self.memory {
            self.memory_refused = true;
            return Ok(false);
        }
        let growth = desired.saturating_sub(current) as u64;
        if let Err(limit) = self.totals.charge(growth) {
            self.host_refused = Some(limit);
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
        if desired > self.table_elements {
            self.table_refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances
    }
}
