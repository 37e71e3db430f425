//! A validated, compiled and pre-instantiated component, ready to start instances.

use std::sync::Arc;

use airssys_contract::Manifest;
use wasmtime::Store;
use wasmtime::component::Component;

use crate::actor::Actor;
use crate::bindings::{self, wit};
use crate::error::{GuestError, Trap};
use crate::inspect::{Inspection, inspect_named};
use crate::state::InstanceState;
use crate::{ComponentHandle, Error, Host, LoadOptions, Result};

/// A component that passed validation and compiled, pre-linked against the host. Cheap to
/// clone; [`start`](Self::start) runs new instances of it.
#[derive(Clone)]
pub struct Prepared {
    inner: Arc<PreparedInner>,
}

struct PreparedInner {
    host: Host,
    pre: bindings::ComponentPre<InstanceState>,
    inspection: Inspection,
    manifest: Arc<Manifest>,
    label: Arc<str>,
}

impl Prepared {
    /// Validates before compiling, then compiles and links. Blocking: call off the runtime.
    pub(crate) fn compile(host: Host, origin: &str, bytes: &[u8]) -> Result<Self> {
        let inspection = inspect_named(origin, bytes)?;
        let component =
            Component::from_binary(&host.inner.engine, bytes).map_err(|err| Error::Compile {
                origin: origin.to_owned(),
                reason: format!("{err:#}"),
            })?;
        let instance_pre = host
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|err| Error::Link {
                origin: origin.to_owned(),
                reason: format!("{err:#}"),
            })?;
        let pre =
            bindings::ComponentPre::new(instance_pre).map_err(|err| Error::MissingExport {
                origin: origin.to_owned(),
                problem: format!("its exports do not match the contract: {err:#}"),
            })?;
        let manifest = Arc::new(inspection.manifest.clone());
        let label = format!("{}@{}", manifest.name(), manifest.version()).into();
        Ok(Self {
            inner: Arc::new(PreparedInner {
                host,
                pre,
                inspection,
                manifest,
                label,
            }),
        })
    }

    /// The component's manifest: name, version and declared capabilities.
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// What inspection found: world, exports, imports and size.
    pub fn inspection(&self) -> &Inspection {
        &self.inner.inspection
    }

    /// Starts a new instance: a fresh `Store`, instantiation, then the guest's `init` with
    /// the configuration in `options`. The instance then serves calls through the handle.
    pub async fn start(&self, options: LoadOptions) -> Result<ComponentHandle> {
        let inner = &self.inner;
        let config = Arc::new(options.config);
        let state = InstanceState::new(inner.manifest.clone(), inner.label.clone(), config.clone());
        let mut store = Store::new(&inner.host.inner.engine, state);
        let instance = match inner.pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            // wasmtime checks export signatures when it first instantiates; a failure that
            // is not a trap means the exports do not have the contract's types.
            Err(err) if err.downcast_ref::<wasmtime::Trap>().is_none() => {
                return Err(Error::MissingExport {
                    origin: inner.label.to_string(),
                    problem: format!("its exports do not match the contract: {err:#}"),
                });
            }
            Err(err) => return Err(trap_error(&inner.label, &mut store, err)),
        };
        let init = instance
            .airssys_core_lifecycle()
            .call_init(&mut store, &config)
            .await;
        match init {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return Err(Error::Init {
                    component: inner.label.to_string(),
                    error: from_wit_error(error),
                });
            }
            Err(err) => return Err(trap_error(&inner.label, &mut store, err)),
        }
        tracing::debug!(target: "airssys::host", component = %inner.label, "instance started");
        let actor = Actor::new(store, instance, inner.label.clone());
        Ok(ComponentHandle::spawn(
            actor,
            inner.manifest.clone(),
            inner.host.inner.settings.mailbox_capacity,
        ))
    }
}

/// Turns a wasmtime error from a guest call into [`Error::Trap`], with the panic the guest
/// reported just before, if any.
pub(crate) fn trap_error(
    label: &str,
    store: &mut Store<InstanceState>,
    err: wasmtime::Error,
) -> Error {
    Error::Trap {
        component: label.to_owned(),
        trap: Trap {
            panic: store.data_mut().panic.take(),
            detail: format!("{err:#}"),
        },
    }
}

pub(crate) fn from_wit_error(error: wit::Error) -> GuestError {
    use airssys_contract::ErrorKind as K;
    let kind = match error.kind {
        wit::ErrorKind::InvalidInput => K::InvalidInput,
        wit::ErrorKind::NotFound => K::NotFound,
        wit::ErrorKind::Denied => K::Denied,
        wit::ErrorKind::Unsupported => K::Unsupported,
        wit::ErrorKind::Unavailable => K::Unavailable,
        wit::ErrorKind::Timeout => K::Timeout,
        wit::ErrorKind::Internal => K::Internal,
    };
    GuestError::new(kind, error.message)
}
