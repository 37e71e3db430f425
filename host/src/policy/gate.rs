//! The capability gate: the one place a host call is decided, audited and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use airssys_contract::{CapabilityKind, Denial};

use super::{AuditLog, EffectiveCapabilities, Outcome};
use crate::Identity;
use crate::metrics::ComponentMetrics;

/// Decides whether an instance may use a resource. Every guarded interface (files,
/// processes, HTTP, and the WASI socket check) asks it, and nothing else audits a decision or
/// counts a denial, so the three always agree. One per component, shared by its instances
/// and restarts; cheap to clone into closures through its `Arc`.
#[derive(Debug)]
pub(crate) struct Gate {
    identity: Arc<Identity>,
    capabilities: Arc<EffectiveCapabilities>,
    audit: Arc<AuditLog>,
    denials: AtomicU64,
    /// The component version's metrics: denials by capability, and what its other records
    /// (storage handles, the actor) count.
    metrics: Arc<ComponentMetrics>,
}

/// A refusal the gate recorded: audited as denied and counted. Interfaces turn it into the
/// guest's `denied` error; it is never a trap.
#[derive(Debug)]
pub(crate) struct Denied {
    /// What the guest is told: the capability, the resource, and why.
    pub(crate) message: String,
}

impl Gate {
    pub(crate) fn new(
        identity: Arc<Identity>,
        capabilities: Arc<EffectiveCapabilities>,
        audit: Arc<AuditLog>,
        metrics: Arc<ComponentMetrics>,
    ) -> Self {
        Self {
            identity,
            capabilities,
            audit,
            denials: AtomicU64::new(0),
            metrics,
        }
    }

    /// Allows `resource` when a declared and a granted pattern of `kind` match it.
    pub(crate) fn check(&self, kind: CapabilityKind, resource: &str) -> Result<(), Denied> {
        self.check_asked(kind, resource, None)
    }

    /// As [`check`](Self::check), for a resource in canonical form that the guest `asked`
    /// for in another (`127.0.0.1:80` asked as `0x7f000001:80`): decided on `resource`,
    /// audited with both, so the audit shows what was reached and what was asked.
    pub(crate) fn check_asked(
        &self,
        kind: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
    ) -> Result<(), Denied> {
        let checked = self
            .capabilities
            .check(kind, resource, asked, &self.identity);
        self.decide(kind, resource, asked, checked)
    }

    /// Allows running `program` with `args` (shown in the audit as `line`) when a declared
    /// and a granted process pattern match them.
    pub(crate) fn check_process(
        &self,
        program: &str,
        args: &[&str],
        line: &str,
    ) -> Result<(), Denied> {
        let checked = self
            .capabilities
            .check_process(program, args, &self.identity);
        self.decide(CapabilityKind::Process, line, None, checked)
    }

    /// Records a refusal decided by an interface after the check (a file with other hard
    /// links, a rename that would widen rights, a name resolving to a private address), so it
    /// is audited and counted like any other; `why` is what the guest is told.
    pub(crate) fn deny(&self, kind: CapabilityKind, resource: &str, why: String) -> Denied {
        self.deny_asked(kind, resource, None, why)
    }

    /// As [`deny`](Self::deny), for a resource the guest `asked` for in another form (see
    /// [`check_asked`](Self::check_asked)).
    pub(crate) fn deny_asked(
        &self,
        kind: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
        why: String,
    ) -> Denied {
        self.record(kind, resource, asked, Outcome::Denied);
        Denied { message: why }
    }

    /// What the instance may use, for shaping access after a check (WASI preopens, whole trees
    /// for renames, grant roots).
    pub(crate) fn capabilities(&self) -> &Arc<EffectiveCapabilities> {
        &self.capabilities
    }

    /// The component the gate decides for.
    pub(crate) fn identity(&self) -> &Arc<Identity> {
        &self.identity
    }

    /// Where the component version's metrics are recorded.
    pub(crate) fn metrics(&self) -> &Arc<ComponentMetrics> {
        &self.metrics
    }

    /// Denials so far.
    pub(crate) fn denials(&self) -> u64 {
        self.denials.load(Ordering::Relaxed)
    }

    /// Audits and counts a decision the contract made (and worded).
    fn decide(
        &self,
        kind: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
        checked: Result<(), Denial>,
    ) -> Result<(), Denied> {
        match checked {
            Ok(()) => {
                self.record(kind, resource, asked, Outcome::Allowed);
                Ok(())
            }
            Err(denial) => Err(self.deny_asked(kind, resource, asked, denial.message)),
        }
    }

    fn record(&self, kind: CapabilityKind, resource: &str, asked: Option<&str>, outcome: Outcome) {
        if outcome == Outcome::Denied {
            self.denials.fetch_add(1, Ordering::Relaxed);
            self.metrics.denial(kind);
        }
        self.audit
            .record(&self.identity, kind, resource, asked, outcome);
    }
}
