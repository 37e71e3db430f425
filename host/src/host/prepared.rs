//! A validated, compiled and pre-instantiated component, ready to start.

use std::sync::Arc;

use airssys_contract::{Capabilities, Manifest, validate_name};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use super::disk_cache::DiskCache;
use super::{ComponentHandle, Host, LoadOptions};
use crate::bindings;
use crate::inspect::{ComponentKind, Inspection, inspect_named};
use crate::interfaces::{ComponentStorage, HostServices, StoreData};
use crate::policy::{EffectiveCapabilities, Mode};
use crate::registry::{Entry, Kit, Release, ReleaseParts, VersionState};
use crate::runtime::{Blueprint, Pre};
use crate::{Error, Identity, Result, SignatureStatus};

/// A component that passed validation and compiled, pre-linked against its host. Cheap to
/// clone; [`start`](Self::start) runs it under an address.
#[derive(Clone)]
pub struct Prepared {
    pub(super) host: Host,
    compiled: Arc<Compiled>,
    /// Where the bytes came from.
    source: String,
    signature: SignatureStatus,
}

/// What the host's cache keeps per component bytes. It holds nothing of the host, so the
/// cache never keeps its own host alive.
pub(super) struct Compiled {
    pre: Pre,
    inspection: Inspection,
    manifest: Arc<Manifest>,
    /// SHA-256 of the bytes, hex.
    hash: String,
    /// Bytes of its compiled code image: what it weighs in the cache.
    code_size: usize,
}

impl Compiled {
    /// Validates before compiling, then compiles (or loads what `disk` kept of an earlier
    /// compile, keeping it there otherwise) and links. Blocking: call off the runtime.
    pub(super) fn new(
        engine: &Engine,
        linker: &Linker<StoreData>,
        origin: &str,
        bytes: &[u8],
        sha256: &[u8; 32],
        disk: Option<&DiskCache>,
    ) -> Result<Self> {
        let inspection = inspect_named(origin, bytes)?;
        let kept = disk.and_then(|disk| disk.load(engine, sha256));
        let component = match kept {
            Some(component) => component,
            None => {
                let component =
                    Component::from_binary(engine, bytes).map_err(|err| Error::Compile {
                        origin: origin.to_owned(),
                        reason: format!("{err:#}"),
                    })?;
                if let Some(disk) = disk {
                    disk.store(sha256, &component);
                }
                component
            }
        };
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|err| Error::Link {
                origin: origin.to_owned(),
                reason: format!("{err:#}"),
            })?;
        let exports_differ = |err: wasmtime::Error| Error::MissingExport {
            origin: origin.to_owned(),
            problem: format!("its exports do not match the contract of its world: {err:#}"),
        };
        let pre = match inspection.kind {
            ComponentKind::Airssys => {
                Pre::Airssys(bindings::ComponentPre::new(instance_pre).map_err(exports_differ)?)
            }
            ComponentKind::HttpProxy => {
                Pre::HttpProxy(ProxyPre::new(instance_pre).map_err(exports_differ)?)
            }
        };
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
    pub(super) fn new(
        host: Host,
        compiled: Arc<Compiled>,
        source: String,
        signature: SignatureStatus,
    ) -> Self {
        Self {
            host,
            compiled,
            source,
            signature,
        }
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

    /// What its signatures are worth to this host.
    pub fn signature(&self) -> &SignatureStatus {
        &self.signature
    }

    /// Starts the component at its address ([`LoadOptions::address`], by default the
    /// manifest's name): for each of its [`instances`](LoadOptions::instances), a fresh
    /// `Store` under the limits, instantiation, then the guest's `init` with the
    /// configuration in `options`. It then serves calls through the handle, supervised by
    /// the options' (or host's) policy; a pool's instances take deliveries in turn.
    ///
    /// Must run inside a tokio runtime with its time driver enabled (`enable_all`, as
    /// `#[tokio::main]` does): the component's calls run there, under their deadlines.
    ///
    /// An address whose component has not stopped is [`Error::AddressTaken`]; a stopped one is
    /// replaced. If `init` fails or traps, the component is listed as
    /// [`State::Failed`](crate::State::Failed) and the error returned. Once it runs, its
    /// effective `subscribe` patterns are its subscriptions, until it stops for good.
    pub async fn start(&self, options: LoadOptions) -> Result<ComponentHandle> {
        let release = Arc::new(self.release(&options, 1, VersionState::Serving)?);
        let mut unstarted = Vec::with_capacity(release.instances);
        for _ in 0..release.instances {
            unstarted.push(release.admit()?);
        }
        let slots = unstarted.iter().map(|u| u.slot.clone()).collect();
        let entry = Arc::new(Entry::new(release.clone(), slots));
        self.host.inner.registry.insert(entry.clone())?;
        for instance in unstarted {
            if let Err(err) = instance.start(&release, &entry).await {
                // A pool starts whole or not at all: the instances already up stop.
                ComponentHandle::new(entry, self.host.inner.settings.clock.clone())
                    .shutdown()
                    .await?;
                return Err(err);
            }
        }
        Ok(ComponentHandle::new(
            entry,
            self.host.inner.settings.clock.clone(),
        ))
    }

    /// A version of this component to keep at an address as number `id`, ready to start
    /// instances under `options`.
    pub(crate) fn release(
        &self,
        options: &LoadOptions,
        id: u64,
        state: VersionState,
    ) -> Result<Release> {
        let host = &self.host.inner;
        let settings = &host.settings;
        let manifest = &self.compiled.manifest;
        let address = options
            .address
            .clone()
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
        if options.instances == 0 || options.instances > settings.max_instances {
            return Err(Error::Config(format!(
                "{identity} asks for {} instances; use 1 to {} (`HostBuilder::max_instances`)",
                options.instances, settings.max_instances
            )));
        }
        let limits = options
            .limits
            .clone()
            .unwrap_or_else(|| settings.limits.clone());
        limits.validate(settings.fuel_metering, settings.epoch_tick)?;
        let supervision = options
            .supervision
            .clone()
            .unwrap_or_else(|| settings.supervision.clone());
        // A wasi:http component without a manifest declares nothing of its own: what the
        // operator grants it is what it may use.
        let declared = if self.compiled.inspection.declared {
            manifest.capabilities()
        } else {
            &options.grants
        };
        let capabilities = Arc::new(decide(&identity, declared, &options.grants, settings.mode)?);
        let blueprint = Arc::new(Blueprint {
            pre: self.compiled.pre.clone(),
            config: Arc::new(options.config.clone()),
            limits,
            fuel_metering: settings.fuel_metering,
            services: HostServices {
                http: host.http.clone(),
                clock: settings.clock.clone(),
            },
            broker: Arc::downgrade(&host.broker),
            storage: Arc::new(ComponentStorage::new(settings.storage.clone())),
            epoch_tick: settings.epoch_tick,
            totals: host.totals.clone(),
        });
        let parts = ReleaseParts {
            id,
            identity,
            manifest: manifest.clone(),
            capabilities,
            blueprint,
            supervision,
            instances: options.instances,
            source: self.source.clone(),
            signature: self.signature.clone(),
            host: Kit {
                audit: host.audit.clone(),
                metrics: host.metrics.clone(),
                events: host.events.clone(),
                mailbox_capacity: settings.mailbox_capacity,
            },
            options: options.clone(),
        };
        Ok(Release::new(parts, state))
    }
}

/// What the component may use under `mode`, warning loudly when development mode grants
/// whatever it declares.
fn decide(
    identity: &Identity,
    declared: &Capabilities,
    grants: &Capabilities,
    mode: Mode,
) -> Result<EffectiveCapabilities> {
    let capabilities =
        EffectiveCapabilities::decide(declared, grants, mode).map_err(|refused| {
            Error::NotGranted {
                component: identity.to_string(),
                missing: refused.missing,
            }
        })?;
    if mode == Mode::Development && !declared.is_empty() {
        tracing::warn!(
            target: "airssys::audit",
            component = %identity,
            "DEVELOPMENT MODE: granting every capability {identity} declares; never use this mode in production"
        );
    }
    Ok(capabilities)
}
