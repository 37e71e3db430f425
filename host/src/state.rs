//! What each instance's `Store` holds, and the `airssys:core/host` functions over it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use airssys_contract::{CapabilityKind, Manifest};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::Limits;
use crate::audit::{AuditLog, Outcome};
use crate::bindings::airssys::core::host;
use crate::bindings::wit;
use crate::error::GuestPanic;
use crate::grants::EffectiveCapabilities;
use crate::sandbox::{Limiter, MemoryStats};
use crate::stdio::{GuestOutput, MAX_LINE};

/// Most log lines (log calls plus stdout/stderr lines) one call may emit; the rest are
/// counted and reported once, so a guest logging in a loop cannot flood the host's log.
pub(crate) const MAX_LOG_LINES_PER_CALL: u32 = 1000;

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

/// Longest panic message kept per instance; longer text is cut so repeated reports cannot
/// grow host memory.
const MAX_PANIC_MESSAGE: usize = 16 * 1024;

/// The data of one instance's `Store`.
pub(crate) struct InstanceState {
    wasi: WasiCtx,
    table: ResourceTable,
    manifest: Arc<Manifest>,
    pub(crate) label: Arc<str>,
    config: Arc<Vec<(String, String)>>,
    pub(crate) log_budget: Arc<LogBudget>,
    /// Set by `report-panic` just before the guest traps.
    pub(crate) panic: Option<GuestPanic>,
    pub(crate) limits: Limits,
    pub(crate) limiter: Limiter,
    /// When the current call must end; checked on every epoch tick.
    pub(crate) deadline: Instant,
    pub(crate) capabilities: Arc<EffectiveCapabilities>,
    audit: Arc<AuditLog>,
    denials: Arc<AtomicU64>,
}

/// Everything a new instance's state is built from.
pub(crate) struct StateSpec {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) label: Arc<str>,
    pub(crate) config: Arc<Vec<(String, String)>>,
    pub(crate) limits: Limits,
    pub(crate) memory: Arc<MemoryStats>,
    pub(crate) capabilities: Arc<EffectiveCapabilities>,
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) denials: Arc<AtomicU64>,
}

impl InstanceState {
    pub(crate) fn new(spec: StateSpec) -> Self {
        let StateSpec {
            manifest,
            label,
            config,
            limits,
            memory,
            capabilities,
            audit,
            denials,
        } = spec;
        // WASI grants no environment or arguments; directories and outbound TCP only as granted.
        let log_budget = Arc::new(LogBudget::default());
        let mut wasi = WasiCtx::builder();
        wasi.stdout(GuestOutput::new(
            label.clone(),
            "stdout",
            log_budget.clone(),
        ))
        .stderr(GuestOutput::new(
            label.clone(),
            "stderr",
            log_budget.clone(),
        ))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
        preopen_granted_dirs(&mut wasi, &capabilities, &label);
        gate_sockets(&mut wasi, &capabilities, &audit, &manifest, &denials);
        let wasi = wasi.build();
        Self {
            wasi,
            table: ResourceTable::new(),
            manifest,
            label,
            config,
            log_budget,
            panic: None,
            limiter: Limiter::new(limits.clone(), memory),
            limits,
            deadline: Instant::now(),
            capabilities,
            audit,
            denials,
        }
    }

    /// Checks `kind` on `resource` against the effective capabilities and audits the
    /// decision; a refusal is a `denied` error for the guest, never a trap.
    pub(crate) fn check(&mut self, kind: CapabilityKind, resource: &str) -> Result<(), wit::Error> {
        if self.capabilities.allows(kind, resource) {
            self.audit(kind, resource, Outcome::Allowed);
            Ok(())
        } else {
            Err(self.denial(kind, resource))
        }
    }

    /// Audits and counts a denial of `kind` on `resource`.
    pub(crate) fn record_denial(&mut self, kind: CapabilityKind, resource: &str) {
        self.audit(kind, resource, Outcome::Denied);
        self.denials.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a denial of `kind` on `resource` and builds the guest's error.
    pub(crate) fn denial(&mut self, kind: CapabilityKind, resource: &str) -> wit::Error {
        self.record_denial(kind, resource);
        wit::Error {
            kind: wit::ErrorKind::Denied,
            message: format!(
                "{kind} `{}` is not allowed for {}: it must be declared in capabilities(...) and granted by the operator",
                escape_controls(resource),
                self.label
            ),
        }
    }

    pub(crate) fn audit(&self, kind: CapabilityKind, resource: &str, outcome: Outcome) {
        let version = self.manifest.version().to_string();
        self.audit
            .record(self.manifest.name(), &version, kind, resource, outcome);
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit::Host for InstanceState {}

impl host::Host for InstanceState {
    fn log(&mut self, level: wit::LogLevel, message: String, fields: Vec<(String, String)>) {
        if !self.log_budget.take() {
            return;
        }
        let message = escape_controls(truncate_str(&message, MAX_LINE));
        let fields = GuestFields(fields);
        let component = &*self.label;
        macro_rules! event {
            ($level:expr) => {
                if fields.0.is_empty() {
                    tracing::event!(target: "airssys::guest", $level, component, "{message}")
                } else {
                    tracing::event!(target: "airssys::guest", $level, component, fields = %fields, "{message}")
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
        let since = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        wit::Datetime {
            seconds: since.as_secs(),
            nanoseconds: since.subsec_nanos(),
        }
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
            name: self.manifest.name().to_owned(),
            version: self.manifest.version().to_string(),
        }
    }

    fn report_panic(&mut self, message: String, location: Option<String>) {
        self.panic = Some(GuestPanic {
            message: truncate(message, MAX_PANIC_MESSAGE),
            location: location.map(|l| truncate(l, MAX_LINE)),
        });
    }
}

/// Gives guest `std::fs` the directories whose whole tree is effective (`<dir>/**`), with the
/// same rights: read and write when both are effective, read-only when only reading is.
/// Narrower patterns (`/data/*` or single files) cannot be expressed as WASI preopens and are
/// reachable only through `airssys::fs`.
fn preopen_granted_dirs(wasi: &mut WasiCtxBuilder, caps: &EffectiveCapabilities, label: &str) {
    let effective = caps.effective();
    let trees = |kind| -> Vec<String> {
        effective
            .get(kind)
            .iter()
            .filter_map(|p| p.strip_suffix("/**"))
            .filter(|root| !root.contains('*'))
            .map(|root| {
                if root.is_empty() {
                    "/".to_owned()
                } else {
                    root.to_owned()
                }
            })
            .collect()
    };
    let writable = trees(CapabilityKind::FsWrite);
    for root in trees(CapabilityKind::FsRead) {
        let perms = if writable.contains(&root) {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        if let Err(err) = wasi.preopened_dir(&root, &root, perms) {
            tracing::warn!(target: "airssys::host", component = label, "cannot preopen {root}: {err}");
        }
    }
}

/// Lets guest sockets (`std::net::TcpStream`) connect to `ip:port`s the effective `net`
/// capabilities allow, checked and audited per connection like `airssys::http`. Name
/// lookups stay off (a name cannot be checked before it resolves), UDP and listening too.
fn gate_sockets(
    wasi: &mut WasiCtxBuilder,
    caps: &Arc<EffectiveCapabilities>,
    audit: &Arc<AuditLog>,
    manifest: &Arc<Manifest>,
    denials: &Arc<AtomicU64>,
) {
    if caps.effective().get(CapabilityKind::Net).is_empty() {
        return;
    }
    let (caps, audit, denials) = (caps.clone(), audit.clone(), denials.clone());
    let (name, version) = (manifest.name().to_owned(), manifest.version().to_string());
    wasi.allow_tcp(true).socket_addr_check(move |addr, use_| {
        let allowed = match use_ {
            // The implicit bind a connect performs, to the wildcard address.
            SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
            SocketAddrUse::TcpConnect => {
                let resource = addr.to_string();
                let allowed = caps.allows(CapabilityKind::Net, &resource);
                let outcome = if allowed {
                    Outcome::Allowed
                } else {
                    denials.fetch_add(1, Ordering::Relaxed);
                    Outcome::Denied
                };
                audit.record(&name, &version, CapabilityKind::Net, &resource, outcome);
                allowed
            }
            _ => false,
        };
        Box::pin(async move { allowed })
    });
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

/// Escapes control characters (newlines included) so guest text cannot forge log lines.
pub(crate) fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn truncate(mut s: String, max: usize) -> String {
    let len = truncate_str(&s, max).len();
    s.truncate(len);
    s
}
