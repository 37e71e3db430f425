//! A validated, compiled and pre-instantiated component, ready to start.

use std::sync::Arc;

use airssys_contract::{CapabilityKind, Manifest, validate_name};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use super::{ComponentHandle, Host, LoadOptions};
use crate::bindings;
use crate::broker::{Sink, SubscriptionGuard};
use crate::inspect::{Inspection, inspect_named};
use crate::interfaces::{ComponentStorage, StoreData};
use crate::policy::{EffectiveCapabilities, Gate};
use crate::registry::{Entry, Slot, Version};
use crate::runtime::{Actor, Blueprint, Instance, Mailbox, Shared};
use crate::{Error, EventKind, Identity, Result, State};

/// A component that passed validation and compiled, pre-linked against its host. Cheap to
/// clone; [`start`](Self::start) runs it under an address.
#[derive(Clone)]
pub struct Prepared {
    host: Host,
    compiled: Arc<Compiled>,
}

/// What the host's cache keeps per component bytes. It holds nothing of the host, so the
/// cache never keeps its own host alive.
pub(super) struct Compiled {
    pre: bindings::ComponentPre<StoreData>,
    inspection: Inspection,
    manifest: Arc<Manifest>,
    /// SHA-256 of the bytes, hex.
    hash: String,
    /// Bytes of its compiled code image: what it weighs in the cache.
    code_size: usize,
}

impl Compiled {
    /// Validates before compiling, then compiles and links. Blocking: call off the runtime.
    pub(super) fn new(
        engine: &Engine,
        linker: &Linker<StoreData>,
        origin: &str,
        bytes: &[u8],
        sha256: &[u8; 32],
    ) -> Result<Self> {
        let inspection = inspect_named(origin, bytes)?;
        let component = Component::from_binary(engine, bytes).map_err(|err| Error::Compile {
            origin: origin.to_owned(),
            reason: format!("{err:#}"),
        })?;
        let instance_pre = linker
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
        let image = component.image_range();
        let code_size = image.end.addr() - image.start.addr();
        Ok(Self {
            pre,
            code_size,
            manifest: Arc::new(inspection.manifest.clone()),
            inspection,
            hash: sha256.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    pub(super) fn code_size(&self) -> usize {
        self.code_size
    }
}

impl Prepared {
    pub(super) fn new(host: Host, compiled: Arc<Compiled>) -> Self {
        Self { host, compiled }
    }

    /// The component's manifest: name, version and declared capabilities.
    pub fn manifest(&self) -> &Manifest {
        &self.compiled.manifest
    }

    /// What inspection found: world, exports, imports and size.
    pub fn inspection(&self) -> &Inspection {
        &self.compiled.inspection
    }

    /// The SHA-256 of the component's bytes, as 64 lowercase hex digits.
    pub fn hash(&self) -> &str {
        &self.compiled.hash
    }

    /// Starts the component at its address ([`LoadOptions::address`], by default the
    /// manifest's name): a fresh `Store` under the limits, instantiation, then the guest's
    /// `init` with the configuration in `options`. It then serves calls through the handle,
    /// supervised by the options' (or host's) policy.
    ///
    /// Must run inside a tokio runtime with its time driver enabled (`enable_all`, as
    /// `#[tokio::main]` does): the component's calls run there, under their deadlines.
    ///
    /// An address whose component has not stopped is [`Error::AddressTaken`]; a stopped one is
    /// replaced. If `init` fails or traps, the component is listed as
    /// [`State::Failed`](crate::State::Failed) and the error returned. Once it runs, its
    /// effective `subscribe` patterns are its subscriptions, until it stops for good.
    pub async fn start(&self, options: LoadOptions) -> Result<ComponentHandle> {
        let host = &self.host.inner;
        let settings = &host.settings;
        let manifest = &self.compiled.manifest;
        let address = options
            .address
            .unwrap_or_else(|| manifest.name().to_owned());
        validate_name(&address).map_err(|err| Error::InvalidAddress {
            address: address.clone(),
            reason: err.to_string(),
        })?;
        let identity = Arc::new(Identity::new(
            address,
            manifest.name(),
            &manifest.version().to_string(),
            self.compiled.hash.clone(),
        ));
        let limits = options.limits.unwrap_or_else(|| settings.limits.clone());
        limits.validate(settings.fuel_metering, settings.epoch_tick)?;
        let supervision = options
            .supervision
            .unwrap_or_else(|| settings.supervision.clone());
        let capabilities = Arc::new(EffectiveCapabilities::decide(
            &identity.to_string(),
            manifest.capabilities(),
            &options.grants,
            settings.mode,
        )?);
        let permit = host.totals.admit().map_err(|limit| Error::HostLimit {
            component: identity.to_string(),
            limit,
        })?;
        let metrics = host.metrics.component(&identity);
        let gate = Gate::new(identity, capabilities.clone(), host.audit.clone(), metrics);
        let shared = Arc::new(Shared::new(Arc::new(gate), host.events.clone()));
        let (mailbox, inbox) = Mailbox::new(settings.mailbox_capacity);
        let effective = capabilities.effective();
        let sink = Sink::Mailbox {
            mailbox: mailbox.clone(),
            max_payload: limits.max_payload,
        };
        let entry = Arc::new(Entry::single(Version {
            manifest: manifest.clone(),
            capabilities,
            max_payload: limits.max_payload,
            instances: vec![Slot {
                mailbox,
                shared: shared.clone(),
            }],
        }));
        host.registry.insert(entry.clone())?;
        shared.enter(State::Starting, EventKind::Starting);
        let blueprint = Arc::new(Blueprint {
            pre: self.compiled.pre.clone(),
            config: Arc::new(options.config),
            limits,
            fuel_metering: settings.fuel_metering,
            http: host.http.clone(),
            broker: Arc::downgrade(&host.broker),
            storage: Arc::new(ComponentStorage::new(settings.storage.clone())),
            epoch_tick: settings.epoch_tick,
            totals: host.totals.clone(),
        });
        match Instance::start(&blueprint, &shared).await {
            Ok(instance) => {
                let address = &shared.identity().address;
                let subscriptions = effective
                    .get(CapabilityKind::Subscribe)
                    .iter()
                    .map(|pattern| {
                        let id = host.broker.subscribe(pattern, Some(address), sink.clone());
                        SubscriptionGuard::new(Arc::downgrade(&host.broker), id)
                    })
                    .collect();
                shared.enter(State::Running, EventKind::Started);
                let actor = Actor::new(
                    blueprint,
                    shared,
                    supervision,
                    instance,
                    permit,
                    subscriptions,
                );
                // Parked until its first call: an idle instance has no task.
                inbox.serve(actor);
                Ok(ComponentHandle::new(entry))
            }
            Err(err) => {
                shared.enter(
                    State::Failed,
                    EventKind::Stopped {
                        reason: format!("it failed to start: {err}"),
                    },
                );
                Err(err)
            }
        }
    }
}
