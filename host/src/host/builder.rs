//! Configuring a [`Host`](crate::Host): settings, their validation, and the engine and
//! linker they make.

use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::interfaces::{HttpClient, StoreData};
use crate::policy::AuditLog;
use crate::signature::Trust;
use crate::storage::Storage;
use crate::testing::TestClock;
use crate::{
    DEFAULT_MAX_COMPONENT_SIZE, Error, HttpSettings, Limits, MAX_CALL_TIMEOUT, Mode, PublicKey,
    Result, Supervision, interfaces,
};

/// Default [`HostBuilder::mailbox_capacity`]: 64 pending calls per instance.
pub const DEFAULT_MAILBOX_CAPACITY: usize = 64;
/// Default [`HostBuilder::epoch_tick`]: 10 ms.
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(10);
/// Default [`HostBuilder::max_wasm_stack`]: 512 KiB.
pub const DEFAULT_MAX_WASM_STACK: usize = 512 << 10;
/// Default [`HostBuilder::send_timeout`]: 5 s.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Default [`HostBuilder::max_instances`]: 1 000 instances per host.
pub const DEFAULT_MAX_INSTANCES: usize = 1_000;
/// Default [`HostBuilder::max_memory`]: 4 GiB of linear memory across all instances.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;
/// Default [`HostBuilder::max_disk_cache`]: 1 GiB of compiled components on disk.
pub const DEFAULT_MAX_DISK_CACHE: u64 = 1 << 30;
/// Default [`HostBuilder::keep_versions`]: 5 versions per address.
pub const DEFAULT_KEEP_VERSIONS: usize = 5;
/// Default [`HostBuilder::max_cache_size`]: 256 MiB of compiled code.
pub const DEFAULT_MAX_CACHE_SIZE: usize = 256 << 20;

/// How the engine allocates instances' memories, tables and stacks; see
/// [`HostBuilder::allocator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Allocator {
    /// Each instance maps its memory when it starts and unmaps it when it stops: nothing is
    /// reserved ahead, and a host with few instances stays small.
    #[default]
    OnDemand,
    /// wasmtime's pooling allocator: slots for [`HostBuilder::max_instances`] instances are
    /// reserved when the host is built and reused, so starting and stopping is cheaper.
    Pooling,
}

/// What the pool keeps per instance on average (a Rust component has 3 core instances, one
/// memory and 2 tables). Components are not held to these one by one, only the pool's
/// totals are.
const POOL_CORE_INSTANCES_PER_INSTANCE: u32 = 8;
const POOL_MEMORIES_PER_INSTANCE: u32 = 2;
const POOL_TABLES_PER_INSTANCE: u32 = 4;

/// Accepted [`HostBuilder::max_component_size`]: 1 byte to 4 GiB - 1 (the binary format
/// counts sizes in 32 bits).
const COMPONENT_SIZES: RangeInclusive<usize> = 1..=u32::MAX as usize;
/// Accepted [`HostBuilder::mailbox_capacity`]: 1 to 1 048 576 pending calls.
const MAILBOX_CAPACITIES: RangeInclusive<usize> = 1..=1 << 20;
/// Accepted [`HostBuilder::epoch_tick`]: 100 µs (the ticker thread would spin) to 1 s
/// (deadlines are exact to one tick, and running guests yield once per tick).
const EPOCH_TICKS: RangeInclusive<Duration> = Duration::from_micros(100)..=Duration::from_secs(1);
/// Accepted [`HostBuilder::max_wasm_stack`]: 64 KiB to 64 MiB.
const WASM_STACKS: RangeInclusive<usize> = 64 << 10..=64 << 20;

/// Configures a [`Host`](crate::Host). `HostBuilder::default()` (what [`Host::new`](crate::Host::new) uses) gives:
///
/// | setting | default | accepted |
/// |---|---|---|
/// | [`max_component_size`](Self::max_component_size) | 64 MiB | 1 B ..= 4 GiB - 1 |
/// | [`mailbox_capacity`](Self::mailbox_capacity) | 64 calls | 1 ..= 1 048 576 |
/// | [`send_timeout`](Self::send_timeout) | 5 s | 0 ..= [`MAX_CALL_TIMEOUT`](crate::MAX_CALL_TIMEOUT) (1 day) |
/// | [`limits`](Self::limits) | [`Limits::default`] (64 MiB memory, 10 s per call, ...) | see [`Limits`] |
/// | [`supervision`](Self::supervision) | [`Supervision::default`] (restart, 5 in 60 s) | any |
/// | [`epoch_tick`](Self::epoch_tick) | 10 ms | 100 µs ..= 1 s |
/// | [`max_wasm_stack`](Self::max_wasm_stack) | 512 KiB | 64 KiB ..= 64 MiB |
/// | [`fuel_metering`](Self::fuel_metering) | off | |
/// | [`mode`](Self::mode) | [`Mode::Strict`] | |
/// | [`audit_log`](Self::audit_log) | none (audit events go to `tracing` only) | a file that can be opened for appending |
/// | [`http`](Self::http) | [`HttpSettings::default`] (system roots, no downgrade, system DNS) | readable PEM roots |
/// | [`storage`](Self::storage) | none (storage calls fail with `unavailable`) | |
/// | [`max_instances`](Self::max_instances) | 1 000 instances | 1 or more |
/// | [`max_memory`](Self::max_memory) | 4 GiB of linear memory, all instances together | 64 KiB or more |
/// | [`max_cache_size`](Self::max_cache_size) | 256 MiB of compiled code | any (0 turns the cache off) |
/// | [`allocator`](Self::allocator) | [`Allocator::OnDemand`] | |
/// | [`cache_dir`](Self::cache_dir) | none (compiled code is kept in memory only) | a directory only its owner may write |
/// | [`max_disk_cache`](Self::max_disk_cache) | 1 GiB | any |
/// | [`keep_versions`](Self::keep_versions) | 5 per address | 1 or more |
/// | [`trust_key`](Self::trust_key) | none | Ed25519 public keys |
/// | [`require_signatures`](Self::require_signatures) | off | |
/// | [`clock`](Self::clock) | the system's clocks | |
///
/// A value outside its range fails [`build`](Self::build) with [`Error::Config`] naming the
/// setting and the range.
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
    pub(crate) http: HttpSettings,
    pub(crate) storage: Option<Storage>,
    pub(crate) cluster: Option<Cluster>,
    pub(crate) max_instances: usize,
    pub(crate) max_memory: u64,
    pub(crate) max_cache_size: usize,
    pub(crate) allocator: Allocator,
    pub(crate) trust: Trust,
    pub(crate) keep_versions: usize,
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) max_disk_cache: u64,
    pub(crate) clock: Clock,
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
            http: HttpSettings::default(),
            storage: None,
            cluster: None,
            max_instances: DEFAULT_MAX_INSTANCES,
            max_memory: DEFAULT_MAX_MEMORY,
            max_cache_size: DEFAULT_MAX_CACHE_SIZE,
            allocator: Allocator::OnDemand,
            trust: Trust::default(),
            keep_versions: DEFAULT_KEEP_VERSIONS,
            cache_dir: None,
            max_disk_cache: DEFAULT_MAX_DISK_CACHE,
            clock: Clock::default(),
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

    /// How components' `airssys::http` requests are made: extra trust roots for `https`,
    /// whether `https` may redirect to `http`, which DNS servers resolve names.
    pub fn http(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// The key-value store components reach through `airssys:core/storage` and
    /// `wasi:keyvalue`, in the namespaces they declared and were granted:
    /// [`Storage::open`] for a durable redb file, [`Storage::in_memory`] for tests. The host
    /// keeps a clone; [`Host::storage`](crate::Host::storage) gives it back, for seeding and
    /// inspection.
    ///
    /// ```no_run
    /// use airssys_host::{Host, storage::Storage};
    /// let host = Host::builder().storage(Storage::open("data/app.redb")?).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Joins the application's other hosts over NATS (`[cluster]` in `airssys.toml`):
    /// addresses this host does not run are reached on the hosts that do, publishes reach
    /// every host's subscribers, and other hosts' components reach what `[cluster] remote`
    /// lets them here. Without it everything stays in process. [`build`](Self::build) must
    /// then run inside a tokio runtime.
    ///
    /// ```no_run
    /// # async fn run() -> airssys_host::Result<()> {
    /// use airssys_host::{Cluster, ClusterConfig, Host};
    /// let config = ClusterConfig::new(["nats://127.0.0.1:4222"], "shop")?.host_name("host-b");
    /// let host = Host::builder().cluster(Cluster::connect(config).await?).build()?;
    /// # drop(host); Ok(()) }
    /// ```
    pub fn cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Most instances the host runs at once, all components together (an instance that is
    /// restarting keeps its place). A start past it fails with
    /// [`HostLimit::Instances`](crate::HostLimit::Instances). Under
    /// [`Allocator::Pooling`] the pool is sized from it.
    pub fn max_instances(mut self, instances: usize) -> Self {
        self.max_instances = instances;
        self
    }

    /// Most bytes of linear memory all instances may hold together. Each instance's actual
    /// memory counts (not its [`Limits::memory`]): growth past this total fails
    /// `memory.grow` in the guest (a trap that follows is
    /// [`TrapKind::HostMemoryLimit`](crate::TrapKind::HostMemoryLimit)), and a start whose
    /// initial memory would pass it fails with
    /// [`HostLimit::Memory`](crate::HostLimit::Memory).
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Most bytes of compiled code the in-memory cache of compiled components keeps (each
    /// weighs the size of its code image); past it the least recently loaded go first. A
    /// component larger than the whole cache is compiled every time it is loaded; 0 turns
    /// the cache off. Components that run keep their code whether cached or not.
    pub fn max_cache_size(mut self, bytes: usize) -> Self {
        self.max_cache_size = bytes;
        self
    }

    /// How instances' memories, tables and fiber stacks are allocated.
    ///
    /// [`Allocator::Pooling`] suits hosts that start and stop many instances: wasmtime
    /// reserves slots for [`max_instances`](Self::max_instances) instances up front (about
    /// 4 GiB of address space per memory slot, two memory slots per instance: virtual, not
    /// resident) and reuses them, so an instance starts without mapping memory and stops
    /// without unmapping it. The trade: the reservation is made even for an idle host, and
    /// the pool caps each table at the host's [`Limits::table_elements`] and each core
    /// module at one memory and one table. When a pool runs dry the start fails with
    /// [`HostLimit::Pool`](crate::HostLimit::Pool).
    pub fn allocator(mut self, allocator: Allocator) -> Self {
        self.allocator = allocator;
        self
    }

    /// Keeps compiled components in `dir` too, so a restarted host (or any host with the
    /// same engine settings and this directory) loads them without compiling. Files are
    /// authenticated with a key kept in `dir/key` (made `0600` on first use): a file this
    /// host did not write, or one changed or cut short, is deleted and the component compiled
    /// again. The directory is made `0700`; one others may write is refused. See
    /// docs/security.md for what this assumes.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Most bytes the on-disk cache of [`cache_dir`](Self::cache_dir) keeps for this engine
    /// configuration; past it the least recently used files go first.
    pub fn max_disk_cache(mut self, bytes: u64) -> Self {
        self.max_disk_cache = bytes;
        self
    }

    /// How many versions an address keeps (the serving one included): a deploy past it
    /// retires the oldest that do not run. Kept versions stay compiled for
    /// [`Host::rollback`](crate::Host::rollback); [`Host::retire`](crate::Host::retire) frees
    /// one sooner.
    pub fn keep_versions(mut self, versions: usize) -> Self {
        self.keep_versions = versions;
        self
    }

    /// Trusts signatures made with `key` (see [`SecretKey::sign`](crate::SecretKey::sign)):
    /// a component it signed loads as [`SignatureStatus::Trusted`](crate::SignatureStatus).
    pub fn trust_key(mut self, key: PublicKey) -> Self {
        self.trust.keys.push(key);
        self
    }

    /// Refuses components that no trusted key signed ([`Error::Signature`]). Off by default:
    /// signatures are then checked (a signature that does not match its bytes still refuses
    /// the component) and reported, not required.
    pub fn require_signatures(mut self, require: bool) -> Self {
        self.trust.required = require;
        self
    }

    /// The time components see (WASI's wall and monotonic clocks, `airssys::now`, message
    /// timestamps) follows `clock`, which the test moves, instead of the system's: for tests.
    pub fn clock(mut self, clock: TestClock) -> Self {
        self.clock = Clock::from_test(clock);
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
        within(
            "max_component_size",
            self.max_component_size,
            COMPONENT_SIZES,
            "bytes",
        )?;
        within(
            "mailbox_capacity",
            self.mailbox_capacity,
            MAILBOX_CAPACITIES,
            "calls",
        )?;
        within("max_wasm_stack", self.max_wasm_stack, WASM_STACKS, "bytes")?;
        if !EPOCH_TICKS.contains(&self.epoch_tick) {
            return Err(Error::Config(format!(
                "epoch_tick of {:?} is outside the accepted {:?}..={:?}",
                self.epoch_tick,
                EPOCH_TICKS.start(),
                EPOCH_TICKS.end()
            )));
        }
        if self.send_timeout > MAX_CALL_TIMEOUT {
            return Err(Error::Config(format!(
                "send_timeout of {:?} is over the accepted {MAX_CALL_TIMEOUT:?} (one day)",
                self.send_timeout
            )));
        }
        self.limits.validate(self.fuel_metering, self.epoch_tick)?;
        // Fibers running guests need room for the wasm stack plus host frames.
        let async_stack = self.max_wasm_stack + (1 << 20);
        if self.keep_versions == 0 {
            return Err(Error::Config(
                "keep_versions is 0, but an address keeps at least the version serving it; use 1 or more".into(),
            ));
        }
        if self.max_instances == 0 {
            return Err(Error::Config(
                "max_instances is 0, so no component could start; use 1 or more".into(),
            ));
        }
        if self.max_memory < 64 << 10 {
            return Err(Error::Config(format!(
                "max_memory of {} bytes is below one wasm page (65536 bytes), so no component could start",
                self.max_memory
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
        if self.allocator == Allocator::Pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(self.pool()?));
        }
        let engine = Engine::new(&config)
            .map_err(|err| Error::Config(format!("cannot make the engine: {err:#}")))?;
        let mut linker = Linker::new(&engine);
        interfaces::link(&mut linker)
            .map_err(|err| Error::Config(format!("cannot link host functions: {err}")))?;
        let audit = Arc::new(match &self.audit_log {
            Some(path) => AuditLog::to_file(path)?,
            None => AuditLog::default(),
        });
        let http = Arc::new(HttpClient::new(self.http.clone())?);
        spawn_epoch_ticker(&engine, self.epoch_tick)?;
        Ok(Parts {
            engine,
            linker,
            audit,
            http,
        })
    }
}

/// Refuses `value` of `setting` outside `range`, naming both.
fn within(setting: &str, value: usize, range: RangeInclusive<usize>, unit: &str) -> Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{setting} of {value} {unit} is outside the accepted {}..={} {unit}",
        range.start(),
        range.end()
    )))
}

impl HostBuilder {
    /// The pooling allocator's sizes, from the host's limits: a slot per instance and its
    /// fiber stack, the average numbers of core instances, memories and tables per
    /// instance, and tables as large as [`Limits::table_elements`] allows.
    fn pool(&self) -> Result<PoolingAllocationConfig> {
        let too_many = || {
            Error::Config(format!(
                "max_instances of {} is too many for the pooling allocator; use at most {}",
                self.max_instances,
                u32::MAX / POOL_CORE_INSTANCES_PER_INSTANCE
            ))
        };
        let instances = u32::try_from(self.max_instances).map_err(|_| too_many())?;
        let times = |per: u32| instances.checked_mul(per).ok_or_else(too_many);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(instances)
            .total_stacks(instances)
            .total_core_instances(times(POOL_CORE_INSTANCES_PER_INSTANCE)?)
            .total_memories(times(POOL_MEMORIES_PER_INSTANCE)?)
            .total_tables(times(POOL_TABLES_PER_INSTANCE)?)
            .table_elements(self.limits.table_elements);
        Ok(pool)
    }
}

/// The engine-wide pieces of a host.
pub(super) struct Parts {
    pub(super) engine: Engine,
    pub(super) linker: Linker<StoreData>,
    pub(super) audit: Arc<AuditLog>,
    pub(super) http: Arc<HttpClient>,
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
