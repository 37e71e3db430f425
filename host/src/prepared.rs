//! A validated, compiled and pre-instantiated component, ready to start instances.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use airssys_contract::Manifest;
use wasmtime::Store;
use wasmtime::component::Component;

use crate::actor::{Actor, Instance};
use crate::bindings::{self, wit};
use crate::error::GuestError;
use crate::grants::EffectiveCapabilities;
use crate::inspect::{Inspection, inspect_named};
use crate::sandbox::{self, MemoryStats};
use crate::state::{InstanceState, StateSpec};
use crate::{ComponentHandle, Error, Host, Limits, LoadOptions, Result};

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

/// What an instance is started with; kept by its actor to start a fresh one after a trap.
#[derive(Clone)]
pub(crate) struct StartSpec {
    pub(crate) config: Arc<Vec<(String, String)>>,
    pub(crate) limits: Limits,
    pub(crate) memory: Arc<MemoryStats>,
    pub(crate) capabilities: Arc<EffectiveCapabilities>,
    pub(crate) denials: Arc<AtomicU64>,
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

    /// Starts a new instance: a fresh `Store` under the limits, instantiation, then the
    /// guest's `init` with the configuration in `options`. The instance then serves calls
    /// through the handle, supervised by the options' (or host's) policy.
    pub async fn start(&self, options: LoadOptions) -> Result<ComponentHandle> {
        let settings = &self.inner.host.inner.settings;
        let limits = options.limits.unwrap_or_else(|| settings.limits.clone());
        limits.validate(settings.fuel_metering, settings.epoch_tick)?;
        let supervision = options
            .supervision
            .unwrap_or_else(|| settings.supervision.clone());
        let capabilities = EffectiveCapabilities::decide(
            &self.inner.label,
            self.inner.manifest.capabilities(),
            &options.grants,
            settings.mode,
        )?;
        let spec = StartSpec {
            config: Arc::new(options.config),
            limits,
            memory: Arc::default(),
            capabilities: Arc::new(capabilities),
            denials: Arc::default(),
        };
        let instance = self.instantiate(&spec).await?;
        let actor = Actor::new(self.clone(), spec, supervision, instance);
        Ok(ComponentHandle::spawn(actor, settings.mailbox_capacity))
    }

    /// A fresh instance with `init` run: used by [`start`](Self::start) and by restarts.
    pub(crate) async fn instantiate(&self, spec: &StartSpec) -> Result<Instance> {
        let inner = &self.inner;
        let fuel_metering = inner.host.inner.settings.fuel_metering;
        let state = InstanceState::new(StateSpec {
            manifest: inner.manifest.clone(),
            label: inner.label.clone(),
            config: spec.config.clone(),
            limits: spec.limits.clone(),
            memory: spec.memory.clone(),
            capabilities: spec.capabilities.clone(),
            audit: inner.host.inner.audit.clone(),
            denials: spec.denials.clone(),
        });
        let mut store = Store::new(&inner.host.inner.engine, state);
        sandbox::configure(&mut store);
        sandbox::arm(&mut store, fuel_metering)?;
        let bindings = match inner.pre.instantiate_async(&mut store).await {
            Ok(bindings) => bindings,
            // wasmtime checks export signatures when it first instantiates; a failure that
            // is not a trap means the exports do not have the contract's types.
            Err(err)
                if err.downcast_ref::<wasmtime::Trap>().is_none()
                    && !store.data().limiter.refused() =>
            {
                return Err(Error::MissingExport {
                    origin: inner.label.to_string(),
                    problem: format!("its exports do not match the contract: {err:#}"),
                });
            }
            Err(err) => return Err(self.trap(&mut store, err)),
        };
        sandbox::arm(&mut store, fuel_metering)?;
        let init = bindings
            .airssys_core_lifecycle()
            .call_init(&mut store, &spec.config)
            .await;
        match init {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                return Err(Error::Init {
                    component: inner.label.to_string(),
                    error: from_wit_error(error),
                });
            }
            Err(err) => return Err(self.trap(&mut store, err)),
        }
        tracing::debug!(target: "airssys::host", component = %inner.label, "instance started");
        Ok(Instance {
            store,
            bindings,
            fuel_metering,
        })
    }

    pub(crate) fn label(&self) -> &Arc<str> {
        &self.inner.label
    }

    pub(crate) fn manifest_arc(&self) -> Arc<Manifest> {
        self.inner.manifest.clone()
    }

    pub(crate) fn host(&self) -> &Host {
        &self.inner.host
    }

    fn trap(&self, store: &mut Store<InstanceState>, err: wasmtime::Error) -> Error {
        Error::Trap {
            component: self.inner.label.to_string(),
            trap: sandbox::classify(store, &err),
        }
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
