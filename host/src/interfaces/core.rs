//! `airssys:core/host`: log, now, config, identity and report-panic. Needs no capability.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use wasmtime::component::{HasSelf, Linker};

use crate::Identity;
use crate::bindings::airssys::core::{host, types};
use crate::bindings::{datetime, wit};
use crate::clock::Clock;
use crate::error::GuestPanic;
use crate::policy::{escape_controls, truncate, truncate_str};

/// Longest line logged; longer guest text is cut (or, for output, split) so a guest cannot
/// grow host buffers.
pub(crate) const MAX_LINE: usize = 4096;

/// Most log lines (log calls plus stdout/stderr lines) one call may emit; the rest are
/// counted and reported once, so a guest logging in a loop cannot flood the host's log.
pub(crate) const MAX_LOG_LINES_PER_CALL: u32 = 1000;

/// Longest panic message kept per instance; longer text is cut so repeated reports cannot
/// grow host memory.
const MAX_PANIC_MESSAGE: usize = 16 * 1024;

/// What the core interface keeps per instance.
pub(crate) struct CoreCtx {
    identity: Arc<Identity>,
    config: Arc<Vec<(String, String)>>,
    /// Shared with the guest's stdout and stderr.
    pub(crate) log: Arc<LogBudget>,
    /// Set by `report-panic` just before the guest traps; read when the trap is classified.
    pub(crate) panic: Option<GuestPanic>,
    /// What `now` answers.
    clock: Clock,
}

impl CoreCtx {
    pub(crate) fn new(
        identity: Arc<Identity>,
        config: Arc<Vec<(String, String)>>,
        log: Arc<LogBudget>,
        clock: Clock,
    ) -> Self {
        Self {
            identity,
            config,
            log,
            panic: None,
            clock,
        }
    }
}

/// Links `airssys:core/host` (and the types it uses), projecting the store data to its context.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut CoreCtx,
) -> wasmtime::Result<()> {
    types::add_to_linker::<T, HasSelf<CoreCtx>>(linker, get)?;
    host::add_to_linker::<T, HasSelf<CoreCtx>>(linker, get)
}

/// Log lines left in the current call, shared by the log import and stdout/stderr.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    used: AtomicU32,
    suppressed: AtomicU64,
}

impl LogBudget {
    /// Takes one line from the budget; false (and counted) when it is spent.
    pub(crate) fn take(&self) -> bool {
        if self.used.fetch_add(1, Ordering::Relaxed) < MAX_LOG_LINES_PER_CALL {
            return true;
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Starts a new call's budget; returns how many lines the last one suppressed.
    pub(crate) fn reset(&self) -> u64 {
        self.used.store(0, Ordering::Relaxed);
        self.suppressed.swap(0, Ordering::Relaxed)
    }
}

impl types::Host for CoreCtx {}

impl host::Host for CoreCtx {
    fn log(&mut self, level: wit::LogLevel, message: String, fields: Vec<(String, String)>) {
        if !self.log.take() {
            return;
        }
        let message = escape_controls(truncate_str(&message, MAX_LINE));
        let fields = GuestFields(fields);
        let (address, component) = (&self.identity.address, self.identity.label());
        macro_rules! event {
            ($level:expr) => {
                if fields.0.is_empty() {
                    tracing::event!(target: "airssys::guest", $level, %address, %component, "{message}")
                } else {
                    tracing::event!(target: "airssys::guest", $level, %address, %component, fields = %fields, "{message}")
                }
            };
        }
        match level {
            wit::LogLevel::Trace => event!(tracing::Level::TRACE),
            wit::LogLevel::Debug => event!(tracing::Level::DEBUG),
            wit::LogLevel::Info => event!(tracing::Level::INFO),
            wit::LogLevel::Warn => event!(tracing::Level::WARN),
            wit::LogLevel::Error => event!(tracing::Level::ERROR),
        }
    }

    fn now(&mut self) -> wit::Datetime {
        datetime(self.clock.now())
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        self.config
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    fn config_entries(&mut self) -> Vec<(String, String)> {
        self.config.as_ref().clone()
    }

    fn identity(&mut self) -> wit::ComponentId {
        wit::ComponentId {
            name: self.identity.name.clone(),
            version: self.identity.version.clone(),
        }
    }

    fn report_panic(&mut self, message: String, location: Option<String>) {
        self.panic = Some(GuestPanic {
            message: truncate(message, MAX_PANIC_MESSAGE),
            location: location.map(|l| truncate(l, MAX_LINE)),
        });
    }
}

/// Guest-supplied fields, shown as `k=v k=v` (tracing needs static field names).
struct GuestFields(Vec<(String, String)>);

impl std::fmt::Display for GuestFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.0.iter().take(32).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(
                f,
                "{}={:?}",
                escape_controls(truncate_str(k, 64)),
                truncate_str(v, 1024)
            )?;
        }
        Ok(())
    }
}
