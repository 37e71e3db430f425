//! Configuring a [`Host`](crate::Host): settings, their validation, and the engine and
//! linker they make.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Engine, OptLevel};

use crate::interfaces::StoreData;
use crate::policy::AuditLog;
use crate::{DEFAULT_MAX_COMPONENT_SIZE, Error, Limits, Mode, Result, Supervision, interfaces};

/// Default [`HostBuilder::mailbox_capacity`]: 64 pending calls per instance.
pub const DEFAULT_MAILBOX_CAPACITY: usize = 64;
/// Default [`HostBuilder::epoch_tick`]: 10 ms.
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(10);
/// Default [`HostBuilder::max_wasm_stack`]: 512 KiB.
pub const DEFAULT_MAX_WASM_STACK: usize = 512 << 10;
/// Default [`HostBuilder::send_timeout`]: 5 s.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures a [`Host`]. `HostBuilder::default()` (what [`Host::new`] uses) gives:
///
/// | setting | default |
/// |---|---|
/// | [`max_component_size`](Self::max_component_size) | 64 MiB |
/// | [`mailbox_capacity`](Self::mailbox_capacity) | 64 calls |
/// | [`send_timeout`](Self::send_timeout) | 5 s |
/// | [`limits`](Self::limits) | [`Limits::default`] (64 MiB memory, 10 s per call, ...) |
/// | [`supervision`](Self::supervision) | [`Supervision::default`] (restart, 5 in 60 s) |
/// | [`epoch_tick`](Self::epoch_tick) | 10 ms |
/// | [`max_wasm_stack`](Self::max_wasm_stack) | 512 KiB |
/// | [`fuel_metering`](Self::fuel_metering) | off |
/// | [`mode`](Self::mode) | [`Mode::Strict`] |
/// | [`audit_log`](Self::audit_log) | none (audit events go to `tracing` only) |
///
/// ```
/// let host = airssys_host::Host::builder()
///     .max_component_size(8 << 20)
///     .mailbox_capacity(256)
///     .build()?;
/// # Ok::<(), airssys_host::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HostBuilder {
    pub(crate) max_component_size: usize,
    pub(crate) mailbox_capacity: usize,
    pub(crate) send_timeout: Duration,
    pub(crate) limits: Limits,
    pub(crate) supervision: Supervision,
    pub(crate) epoch_tick: Duration,
    max_wasm_stack: usize,
    pub(crate) fuel_metering: bool,
    pub(crate) mode: Mode,
    audit_log: Option<PathBuf>,
}

impl Default for HostBuilder {
    fn default() -> Self {
        Self {
            max_component_size: DEFAULT_MAX_COMPONENT_SIZE,
            mailbox_capacity: DEFAULT_MAILBOX_CAPACITY,
            send_timeout: DEFAULT_SEND_TIMEOUT,
            limits: Limits::default(),
            supervision: Supervision::default(),
            epoch_tick: DEFAULT_EPOCH_TICK,
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            fuel_metering: false,
            mode: Mode::Strict,
            audit_log: None,
        }
    }
}

impl HostBuilder {
    /// Largest component binary accepted, in bytes; checked before reading or compiling.
    pub fn max_component_size(mut self, bytes: usize) -> Self {
        self.max_component_size = bytes;
        self
    }

    /// How many calls may wait for one instance before callers wait for room (also the
    /// buffer of each [`Host::subscribe`](crate::Host::subscribe) subscription).
    pub fn mailbox_capacity(mut self, calls: usize) -> Self {
        self.mailbox_capacity = calls;
        self
    }

    /// How long [`Host::send`](crate::Host::send) and [`Host::publish`](crate::Host::publish)
    /// wait for room in a full mailbox before they give up on it.
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Limits for every component loaded without [`LoadOptions::limits`](crate::LoadOptions::limits).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Supervision for every component loaded without [`LoadOptions::supervision`](crate::LoadOptions::supervision).
    pub fn supervision(mut self, supervision: Supervision) -> Self {
        self.supervision = supervision;
        self
    }

    /// How often the engine's one epoch ticker thread ticks. Call deadlines are exact to
    /// one tick, and a running guest yields to the async runtime once per tick.
    pub fn epoch_tick(mut self, tick: Duration) -> Self {
        self.epoch_tick = tick;
        self
    }

    /// Most bytes of native stack wasm code may use; deeper recursion traps with
    /// [`TrapKind::StackOverflow`](crate::TrapKind::StackOverflow).
    pub fn max_wasm_stack(mut self, bytes: usize) -> Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Meters fuel, so [`Limits::fuel`] budgets can be set. Costs some speed on every call
    /// (see docs/benchmarks.md), so it is off unless asked for.
    pub fn fuel_metering(mut self, enable: bool) -> Self {
        self.fuel_metering = enable;
        self
    }

    /// How declared capabilities the operator did not grant are treated.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Also appends every capability decision, as one JSON object per line, to `path`.
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit_log = Some(path.into());
        self
    }

    /// Checks the settings, then makes what a host is built from: one engine and linker
    /// with every host interface (nothing granted), the engine's epoch ticker, and the audit
    /// log. [`build`](Self::build) (in `host/mod.rs`) assembles the host from them.
    pub(super) fn parts(&self) -> Result<Parts> {
        if self.max_component_size == 0 {
            return Err(Error::Config(
                "max_component_size is 0, so no component could load; use at least a few KiB"
                    .into(),
            ));
        }
        if self.mailbox_capacity == 0 {
            return Err(Error::Config(
                "mailbox_capacity is 0, so no call could be delivered; use 1 or more".into(),
            ));
        }
        if self.epoch_tick.is_zero() {
            return Err(Error::Config(
                "epoch_tick is zero; use e.g. 10 ms (the default)".into(),
            ));
        }
        self.limits.validate(self.fuel_metering, self.epoch_tick)?;
        // Fibers running guests need room for the wasm stack plus host frames.
        let async_stack = self.max_wasm_stack + (1 << 20);
        if self.max_wasm_stack < 64 << 10 || self.max_wasm_stack > 64 << 20 {
            return Err(Error::Config(format!(
                "max_wasm_stack of {} bytes is outside 64 KiB..=64 MiB",
                self.max_wasm_stack
            )));
        }
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .cranelift_opt_level(OptLevel::Speed)
            .epoch_interruption(true)
            .consume_fuel(self.fuel_metering)
            .max_wasm_stack(self.max_wasm_stack)
            .async_stack_size(async_stack);
        let engine = Engine::new(&config).map_err(|err| Error::Config(err.to_string()))?;
        let mut linker = Linker::new(&engine);
        interfaces::link(&mut linker)
            .map_err(|err| Error::Config(format!("cannot link host functions: {err}")))?;
        let audit = Arc::new(match &self.audit_log {
            Some(path) => AuditLog::to_file(path)?,
            None => AuditLog::default(),
        });
        spawn_epoch_ticker(&engine, self.epoch_tick)?;
        Ok(Parts {
            engine,
            linker,
            audit,
        })
    }
}

/// The engine-wide pieces of a host.
pub(super) struct Parts {
    pub(super) engine: Engine,
    pub(super) linker: Linker<StoreData>,
    pub(super) audit: Arc<AuditLog>,
}

/// One thread per engine advances its epoch every `tick`; it ends once the engine is gone.
fn spawn_epoch_ticker(engine: &Engine, tick: Duration) -> Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("airssys-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|err| Error::Config(format!("cannot start the epoch ticker thread: {err}")))
}
