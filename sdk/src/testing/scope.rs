//! Which test host serves the host calls made on this thread, and for which component.
//!
//! A component calls `airssys::fs::read` and friends with no handle to a host; under wasm the
//! import reaches the one host there is. Natively, [`Running`](super::Running) enters a
//! [`Scope`] for the length of each call into the component, and the SDK's host calls serve
//! themselves from the innermost scope of the thread; outside every scope they fail with
//! `unsupported`, as before.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use airssys_contract::{CapabilityKind, Denial, EffectiveCapabilities};

use super::error::Panic;
use super::host::Inner;

/// One component as the test host runs it: who it is, what it may use, what it was given.
pub(crate) struct Guest {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) capabilities: EffectiveCapabilities,
    pub(crate) config: Vec<(String, String)>,
    /// The storage namespaces it has opened, counted against its limit as the host does.
    pub(crate) namespaces: RefCell<BTreeSet<String>>,
    /// What the panic hook reported during the current call.
    pub(crate) panic: RefCell<Option<Panic>>,
}

impl Guest {
    /// `name@version`: how the host names a component running at its own name.
    pub(crate) fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Allows `resource` when a declared and a granted pattern of `kind` match it; otherwise
    /// the refusal the host would give, word for word.
    pub(crate) fn check(
        &self,
        kind: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
    ) -> Result<(), Denial> {
        self.capabilities.check(
            kind,
            resource,
            asked,
            format_args!("{}@{}", self.name, self.version),
        )
    }
}

/// A test host and the component whose call is running.
#[derive(Clone)]
pub(crate) struct Scope {
    pub(crate) host: Rc<Inner>,
    pub(crate) guest: Rc<Guest>,
}

thread_local! {
    /// Innermost last: a scripted reply may itself call into another component.
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

/// The scope host calls on this thread are served from, if any.
pub(crate) fn current() -> Option<Scope> {
    SCOPES.with(|scopes| scopes.borrow().last().cloned())
}

/// Serves this thread's host calls from `scope` until the guard drops.
pub(crate) fn enter(scope: Scope) -> Entered {
    SCOPES.with(|scopes| scopes.borrow_mut().push(scope));
    Entered(())
}

/// Leaves the scope it entered when dropped, on unwinding too.
pub(crate) struct Entered(());

impl Drop for Entered {
    fn drop(&mut self) {
        SCOPES.with(|scopes| scopes.borrow_mut().pop());
    }
}

/// Why a host API fails outside every scope.
pub(crate) fn no_host(api: &str) -> String {
    format!(
        "{api} needs the airssys host: it works inside a component, or natively in a test that drives the component with airssys::testing::TestHost"
    )
}
