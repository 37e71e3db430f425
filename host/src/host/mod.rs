//! The [`Host`]: one wasmtime `Engine` and `Linker`, a cache of compiled components, and the
//! registry of the components it runs, by address.

mod builder;
mod cache;
mod deploy;
mod disk_cache;
mod handle;
mod messaging;
mod options;
mod prepared;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use wasmtime::Engine;
use wasmtime::component::Linker;

use builder::Parts;
pub use builder::{
    Allocator, DEFAULT_EPOCH_TICK, DEFAULT_KEEP_VERSIONS, DEFAULT_MAILBOX_CAPACITY,
    DEFAULT_MAX_CACHE_SIZE, DEFAULT_MAX_DISK_CACHE, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_MEMORY,
    DEFAULT_MAX_WASM_STACK, DEFAULT_SEND_TIMEOUT, HostBuilder,
};
use cache::Cache;
use disk_cache::DiskCache;
pub use handle::ComponentHandle;
pub use messaging::Subscription;
pub use options::LoadOptions;
use prepared::Compiled;
pub use prepared::Prepared;

use crate::broker::Broker;
use crate::cluster::{ClusterBroker, PeerInfo};
use crate::interfaces::{HttpClient, StoreData};
use crate::metrics::Metrics;
use crate::policy::AuditLog;
use crate::registry::{ComponentInfo, Gauges, Registry};
use crate::source::read_limited;
use crate::storage::Storage;
use crate::totals::Totals;
use crate::{AuditEvent, Error, Event, HostUsage, Result, Source};

/// Loads and runs airssys components, each under an address. Build it once and share it (it
/// is cheap to clone): every component it loads shares one compiler, linker and
/// compiled-code cache.
///
/// The host keeps every component it starts under its address (see
/// [`LoadOptions::address`]), so it can be looked up, listed and stopped by address. A
/// component runs until it is stopped ([`ComponentHandle::shutdown`], [`Host::stop`]), a trap
/// ends it, or the host and every handle to it are dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use airssys_host::{Host, LoadOptions, Payload};
///
/// let host = Host::new()?;
/// let greeter = host.load("greeter.wasm").await?; // at address `greeter`, its name
/// let counter = host
///     .load_with("counter.wasm", LoadOptions::new().address("tally").config("start", "10"))
///     .await?;
/// let reply = greeter.request(Payload::json(&serde_json::json!({"name": "Ada"}))?).await?;
/// for info in host.components() {
///     println!("{} {} {} requests", info.identity, info.state, info.stats.requests);
/// }
/// host.stop("tally").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: Engine,
    linker: Linker<StoreData>,
    settings: HostBuilder,
    /// Compiled components by SHA-256 of their bytes: loading the same bytes again skips
    /// validation and compilation.
    cache: Mutex<Cache<[u8; 32], Arc<Compiled>>>,
    /// Compiled components on disk ([`HostBuilder::cache_dir`]): a restart or a rollback
    /// does not compile again.
    disk: Option<DiskCache>,
    registry: Arc<Registry>,
    /// How messages reach components: the registry itself, in process, or the cluster
    /// broker around it.
    broker: Arc<dyn Broker>,
    /// The cluster broker, when the host is in a cluster.
    cluster: Option<Arc<ClusterBroker>>,
    /// Instances and linear memory in use, against the host's maxima.
    totals: Arc<Totals>,
    events: broadcast::Sender<Event>,
    audit: Arc<AuditLog>,
    /// The HTTP client every component's `http.send` uses.
    http: Arc<HttpClient>,
    /// What every component version and the server record; [`Host::metrics`] reads it.
    metrics: Arc<Metrics>,
}

/// Events kept for a slow subscriber before it starts missing the oldest.
const EVENT_BUFFER: usize = 1024;

impl HostBuilder {
    /// Builds the host: one engine and linker with every host interface (nothing granted),
    /// the engine's epoch ticker, an empty registry and cache. Fails with
    /// [`Error::Config`] naming a setting no component could run under.
    pub fn build(self) -> Result<Host> {
        let Parts {
            engine,
            linker,
            audit,
            http,
        } = self.parts()?;
        let disk = self
            .cache_dir
            .as_deref()
            .map(|dir| DiskCache::open(dir, &engine, self.max_disk_cache))
            .transpose()?;
        let registry = Arc::new(Registry::default());
        let totals = Arc::new(Totals::new(self.max_instances, self.max_memory));
        let metrics = Arc::new(Metrics::new(Box::new(Gauges {
            registry: Arc::downgrade(&registry),
            totals: totals.clone(),
        })));
        let events = broadcast::channel(EVENT_BUFFER).0;
        let (broker, cluster) = match &self.cluster {
            Some(cluster) => {
                let broker = Arc::new(ClusterBroker::start(
                    cluster,
                    registry.clone(),
                    &audit,
                    &metrics,
                    events.subscribe(),
                )?);
                (broker.clone() as Arc<dyn Broker>, Some(broker))
            }
            None => (registry.clone() as Arc<dyn Broker>, None),
        };
        Ok(Host {
            inner: Arc::new(HostInner {
                engine,
                linker,
                cache: Mutex::new(Cache::new(self.max_cache_size)),
                disk,
                totals,
                metrics,
                settings: self,
                broker,
                cluster,
                registry,
                events,
                audit,
                http,
            }),
        })
    }
}

impl Host {
    /// A host with the [`HostBuilder`] defaults.
    pub fn new() -> Result<Self> {
        HostBuilder::default().build()
    }

    /// Starts configuring a host.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// Validates, compiles (or finds in the cache) and pre-instantiates a component, without
    /// starting it. Start it, under different addresses, any number of times.
    pub async fn prepare(&self, source: impl Into<Source>) -> Result<Prepared> {
        let source = source.into();
        let origin = source.origin();
        let limit = self.inner.settings.max_component_size;
        let bytes = match source {
            // Blocking file I/O stays off the async workers.
            Source::File(path) => tokio::task::spawn_blocking(move || read_limited(&path, limit))
                .await
                .map_err(|err| Error::Config(format!("reading task failed: {err}")))??,
            Source::Bytes { bytes, .. } => bytes,
        };
        if bytes.len() > limit {
            return Err(Error::TooLarge {
                origin,
                size: bytes.len(),
                limit,
            });
        }
        let signature =
            self.inner
                .settings
                .trust
                .check(&bytes)
                .map_err(|problem| Error::Signature {
                    origin: origin.clone(),
                    problem,
                })?;
        let key: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(hit) = self.cache().get(&key) {
            return Ok(Prepared::new(self.clone(), hit, origin, signature));
        }
        let host = self.clone();
        let label = origin.clone();
        // Validation and compilation are CPU-bound: keep them off the async workers.
        let compiled = tokio::task::spawn_blocking(move || {
            Compiled::new(
                &host.inner.engine,
                &host.inner.linker,
                &label,
                &bytes,
                &key,
                host.inner.disk.as_ref(),
            )
        })
        .await
        .map_err(|err| Error::Config(format!("compilation task failed: {err}")))??;
        let compiled = Arc::new(compiled);
        self.cache()
            .insert(key, compiled.clone(), compiled.code_size());
        Ok(Prepared::new(self.clone(), compiled, origin, signature))
    }

    /// Loads a component and starts it at its manifest's name as address, with no
    /// configuration.
    pub async fn load(&self, source: impl Into<Source>) -> Result<ComponentHandle> {
        self.load_with(source, LoadOptions::default()).await
    }

    /// Loads a component and starts it with `options` (its address, configuration, limits,
    /// supervision and grants).
    pub async fn load_with(
        &self,
        source: impl Into<Source>,
        options: LoadOptions,
    ) -> Result<ComponentHandle> {
        self.prepare(source).await?.start(options).await
    }

    /// The component at `address`, if there is one (running, or stopped and not yet replaced).
    pub fn component(&self, address: &str) -> Option<ComponentHandle> {
        self.inner
            .registry
            .get(address)
            .map(|entry| ComponentHandle::new(entry, self.inner.settings.clock.clone()))
    }

    /// Every component this host keeps, in address order: identity, state, uptime, counters
    /// and memory.
    pub fn components(&self) -> Vec<ComponentInfo> {
        self.inner
            .registry
            .list()
            .iter()
            .map(|entry| entry.info())
            .collect()
    }

    /// Stops the component at `address`, as [`ComponentHandle::shutdown`] does: its queued
    /// calls run, then its `shutdown`. It stays listed as stopped, and its address is free.
    /// Stopping a stopped component is harmless; an unknown address is
    /// [`Error::UnknownAddress`].
    pub async fn stop(&self, address: &str) -> Result<()> {
        self.component(address)
            .ok_or_else(|| Error::UnknownAddress {
                address: address.to_owned(),
            })?
            .shutdown()
            .await
    }

    /// Stops the component at `address` if it still runs, and forgets it: it is no longer
    /// listed. Handles to it keep answering [`Error::Stopped`].
    pub async fn remove(&self, address: &str) -> Result<()> {
        let entry = self
            .inner
            .registry
            .get(address)
            .ok_or_else(|| Error::UnknownAddress {
                address: address.to_owned(),
            })?;
        ComponentHandle::new(entry.clone(), self.inner.settings.clock.clone())
            .shutdown()
            .await?;
        self.inner.registry.remove(address, &entry);
        Ok(())
    }

    /// Lifecycle events of every component this host runs: starting, started, trapped,
    /// restarted, stopping, stopped, escalated. Each receiver sees events from the moment it
    /// subscribes.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Capability decisions of every component this host runs, allowed and denied, from the
    /// moment of subscribing: the same [`AuditEvent`]s the audit file holds, whether or not
    /// the host has one. The dashboard shows them.
    pub fn audit_events(&self) -> broadcast::Receiver<AuditEvent> {
        self.inner.audit.watch()
    }

    /// The store components reach through `storage` and `wasi:keyvalue`
    /// ([`HostBuilder::storage`]), if the host has one: read and write its namespaces
    /// host-side to seed, inspect or migrate them. Guests see these writes at once.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use airssys_host::{Host, storage::Storage};
    /// let host = Host::builder().storage(Storage::in_memory()).build()?;
    /// let visits = host.storage().expect("configured above").namespace("visits")?;
    /// visits.set("count", "100").await?;
    /// # Ok(()) }
    /// ```
    pub fn storage(&self) -> Option<&Storage> {
        self.inner.settings.storage.as_ref()
    }

    /// The other hosts of its cluster, by name, with what each runs, as they last
    /// announced it; a host not heard from for [`EXPIRY`](crate::cluster::EXPIRY) is not
    /// listed. Empty without a cluster.
    ///
    /// ```no_run
    /// # fn run(host: airssys_host::Host) {
    /// for peer in host.peers() {
    ///     let addresses: Vec<_> = peer.components.iter().map(|c| c.address.as_str()).collect();
    ///     println!("{}: {}", peer.host, addresses.join(", "));
    /// }
    /// # }
    /// ```
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.inner
            .cluster
            .as_ref()
            .map(|cluster| cluster.peers())
            .unwrap_or_default()
    }

    /// Its name in its cluster ([`ClusterConfig::host_name`](crate::ClusterConfig)), if it
    /// is in one.
    pub fn host_name(&self) -> Option<&str> {
        self.inner
            .cluster
            .as_ref()
            .map(|cluster| cluster.host_name())
    }

    /// Instances running and linear memory held, all components together, against
    /// [`HostBuilder::max_instances`] and [`HostBuilder::max_memory`].
    pub fn usage(&self) -> HostUsage {
        self.inner.totals.usage()
    }

    /// Every metric the host keeps, in the Prometheus text format (OpenMetrics), as `GET
    /// /metrics` serves it: calls, latencies, errors and traps by kind, restarts, denials by
    /// capability, storage operations and bytes per component version; memory, mailbox depth
    /// and instances read now; the server's requests by route and status. docs/architecture.md
    /// lists them.
    ///
    /// ```no_run
    /// # fn run(host: airssys_host::Host) {
    /// let text = host.metrics();
    /// assert!(text.contains("# TYPE airssys_calls counter"));
    /// # }
    /// ```
    pub fn metrics(&self) -> String {
        self.inner.metrics.encode()
    }

    /// Largest component binary this host accepts ([`HostBuilder::max_component_size`]).
    pub fn max_component_size(&self) -> usize {
        self.inner.settings.max_component_size
    }

    /// The wasmtime engine, for embedders that need it (e.g. to share with other code).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Where the server and every component version record their metrics.
    pub(crate) fn observed(&self) -> &Metrics {
        &self.inner.metrics
    }

    fn cache(&self) -> MutexGuard<'_, Cache<[u8; 32], Arc<Compiled>>> {
        // The map stays consistent even if a holder panicked, so poisoning is ignored.
        self.inner.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Loads a component from a file (or [`Source`]) and starts it at its manifest's name, on a
/// host with default settings shared by every call to this function.
///
/// That host lives as long as the process, so the component runs until
/// [`ComponentHandle::shutdown`] stops it; loading a second component under the same name
/// meanwhile fails with [`Error::AddressTaken`]. Build a [`Host`] to choose addresses.
///
/// ```no_run
/// # async fn run() -> airssys_host::Result<()> {
/// let path = String::from("greeter.wasm");
/// let greeter = airssys_host::load(&path).await?;
/// let reply: serde_json::Value = greeter.request_json(&serde_json::json!({"name": "Ada"})).await?;
/// greeter.shutdown().await?;
/// # Ok(()) }
/// ```
pub async fn load(source: impl Into<Source>) -> Result<ComponentHandle> {
    static DEFAULT: OnceLock<Host> = OnceLock::new();
    let host = match DEFAULT.get() {
        Some(host) => host,
        None => {
            let host = Host::new()?;
            DEFAULT.get_or_init(|| host)
        }
    };
    host.load(source).await
}
