//! The operator's file (`airssys.toml`): which components to run, from where, with what
//! configuration, limits and supervision. `airssys up` reads it; embedders can too.
//!
//! ```toml
//! [host]                        # optional: engine-wide settings
//! epoch_tick = "10ms"
//! fuel_metering = true
//! mode = "strict"               # strict | permissive | development
//! audit_log = "audit.jsonl"     # relative to this file
//! max_instances = 1000          # all components together
//! max_memory = "4GiB"           # linear memory of all instances together
//! max_cache_size = "256MiB"     # compiled code kept in memory
//! allocator = "pooling"         # on-demand | pooling
//! cache_dir = ".airssys/cache"  # compiled components on disk (the default; relative to this file)
//! max_disk_cache = "1GiB"
//! keep_versions = 5             # versions an address keeps for rollback
//!
//! [signatures]                  # optional: who may have built what runs here
//! trusted = ["keys/ops.pub"]    # public key files (from `airssys keygen`), or the keys' text
//! require = true                # refuse components no trusted key signed
//!
//! [admin]                       # optional: the admin API (`/v1`) of the server `airssys up` runs
//! listen = "127.0.0.1:7070"     # where the server listens when there is no [ingress]: loopback
//!                               # only; by default port 0 (a free one, in .airssys/admin.addr)
//! token_file = ".airssys/admin.token"  # made (0600) if missing; the CLI and the dashboard use it
//!
//! [host.http]                   # optional: the client behind airssys::http
//! extra_roots = ["ca.pem"]      # PEM CA files trusted beside the system's roots
//! allow_downgrade = false       # follow https -> http redirects (default false)
//! nameservers = ["10.0.0.53:53"] # DNS servers instead of /etc/resolv.conf
//! loopback_only = false         # components reach loopback addresses only (tests)
//!
//! [limits]                      # optional: defaults for every component
//! memory = "64MiB"
//! call_timeout = "10s"
//! storage = { max_keys = 10_000, max_value_size = "64KiB" }   # quota per namespace
//! namespaces = 16               # storage namespaces one component may open
//!
//! [storage]                     # optional: the store `storage` and `wasi:keyvalue` reach
//! path = "data/airssys.redb"    # relative to this file; or `memory = true`, or
//!                               # `backend = "nats"` (JetStream buckets, through [cluster])
//! cache = "32MiB"               # committed values kept in memory for fast reads
//!
//! [ingress]                     # optional: the server's ingress (and where it listens)
//! address = "127.0.0.1:8080"    # loopback unless you mean it; /v1 answers loopback clients only
//! max_body = "1MiB"             # 413 past it
//! max_header = "16KiB"          # 431 past it (at least 8KiB)
//! max_connections = 512         # more wait to be accepted
//! request_timeout = "30s"       # 504 past it
//! grants = { message = ["greeter"], publish = ["greetings.>"] }   # what clients may reach
//!
//! [cluster]                     # optional: several hosts of one application, over NATS
//! servers = ["nats://127.0.0.1:4222"]
//! app = "shop"                  # subjects are airssys.shop.…: applications sharing NATS stay apart
//! host = "host-a"               # this host's name (default: the machine's hostname)
//! credentials = "host-a.creds"  # or token_file = "nats.token"; relative to this file
//! tls = { ca = "ca.pem", cert = "host-a.pem", key = "host-a.key" }   # or tls = {} for system roots
//! connect_timeout = "5s"
//! # what other hosts' components may reach here (none when absent); "@host" is the other
//! # hosts themselves (their embedder and ingress)
//! remote = { checkout = { message = ["pricing"] }, "@host" = { message = ["checkout"] } }
//!
//! [components.greeter]
//! source = "greeter.wasm"       # relative to this file
//! instances = 2                 # a pool, served round-robin (default 1)
//! config = { greeting = "Hi" }
//! limits = { memory = "16MiB", call_timeout = "2s", fuel = 50_000_000 }
//! supervision = { policy = "restart", max_restarts = 3, window = "1m", pending = "fail" }
//! grants = { fs_read = ["/srv/greeter/**"], net = ["api.example.com:443"], storage = ["greeter"] }
//!
//! [components.site]
//! source = "site.wasm"          # a `wasi:http` proxy component, from any toolchain
//! route = "/site"               # serves /site and /site/... on the server
//! ```
//!
//! Unknown keys and malformed values are errors that name the line. Sizes are a number of
//! bytes or a string with `B`, `KiB`, `MiB` or `GiB`; durations are strings with `us`, `ms`,
//! `s` or `m`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::PublicKey;
use crate::cluster::{Cluster, ClusterAuth, ClusterConfig, ClusterTls};
use crate::storage::{DEFAULT_CACHE_SIZE, Quota, Storage};

/// Where `airssys up` keeps its state, beside the manifest.
const STATE_DIR: &str = ".airssys";
/// `[admin] listen` by default.
const DEFAULT_ADMIN: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);
use crate::{
    Allocator, Capabilities, ComponentHandle, Error, Host, HostBuilder, HttpSettings, Limits,
    LoadOptions, Mode, Pending, Restart, Result, ServerSettings, Supervision,
};

/// A parsed `airssys.toml`: host settings and the components to run.
///
/// ```
/// let app = airssys_host::AppManifest::from_toml(
///     "[components.greeter]\nsource = \"greeter.wasm\"\nlimits = { memory = \"16MiB\" }\n",
///     "/srv/app".as_ref(),
/// )?;
/// let (name, greeter) = app.components().next().unwrap();
/// assert_eq!(name, "greeter");
/// assert_eq!(greeter.source, std::path::Path::new("/srv/app/greeter.wasm"));
/// # Ok::<(), airssys_host::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AppManifest {
    host: HostBuilder,
    storage: Option<StorageConfig>,
    cluster: Option<ClusterConfig>,
    server: Option<ServerSettings>,
    admin: AdminConfig,
    state_dir: PathBuf,
    components: BTreeMap<String, AppComponent>,
}

/// Where `airssys up` serves its admin API, and the file its bearer token is in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminConfig {
    /// A loopback address and port (`127.0.0.1:0` by default: port 0 picks a free one, so
    /// several applications on one machine never clash; `airssys up` writes the one it got
    /// to `.airssys/admin.addr`, where the CLI looks).
    pub listen: std::net::SocketAddr,
    /// The token's file, resolved against the manifest's directory
    /// (`.airssys/admin.token` by default).
    pub token_file: PathBuf,
}

/// Where the store of `[storage]` lives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageConfig {
    /// A redb file (`path`, resolved against the manifest's directory) with a cache of
    /// `cache` bytes of committed values.
    File {
        /// The file.
        path: PathBuf,
        /// Bytes of committed keys and values kept in memory.
        cache: u64,
    },
    /// In memory (`memory = true`): gone when the host stops. For tests and trials.
    Memory,
    /// NATS JetStream key-value buckets (`backend = "nats"`), shared by every host of the
    /// application, reached through the connection of `[cluster]` (see [`Storage::nats`]).
    Nats(ClusterConfig),
}

impl StorageConfig {
    /// Opens the store. A missing file is created, with its directory; it blocks while redb
    /// opens it, and one process at a time may have it open. NATS needs
    /// [`open_async`](Self::open_async).
    pub fn open(&self) -> Result<Storage> {
        Ok(match self {
            Self::Nats(_) => {
                return Err(Error::Config(
                    "[storage] backend = \"nats\" connects asynchronously: open it with `StorageConfig::open_async` (or `AppManifest::host_builder_async`)".into(),
                ));
            }
            Self::File { path, cache } => {
                if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                Storage::open_with_cache(path, *cache)?
            }
            Self::Memory => Storage::in_memory(),
        })
    }

    /// Opens the store of any backend: [`open`](Self::open) for a file or memory; for NATS,
    /// connects to `[cluster]`'s servers and opens the application's buckets.
    pub async fn open_async(&self) -> Result<Storage> {
        match self {
            Self::Nats(cluster) => {
                let client = cluster.connect().await?;
                Ok(Storage::nats(client, cluster.app.clone()).await?)
            }
            other => other.open(),
        }
    }
}

/// One component of an [`AppManifest`].
#[derive(Debug, Clone)]
pub struct AppComponent {
    /// The component file (or a component crate's directory, which `airssys up` builds),
    /// resolved against the manifest's directory.
    pub source: PathBuf,
    /// Its address (the key), configuration, limits, supervision and grants.
    pub options: LoadOptions,
}

impl AppManifest {
    /// Reads and checks a manifest file; errors name the file and the line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|reason| Error::AppManifest {
            origin: path.display().to_string(),
            reason,
        })
    }

    /// Parses manifest text; relative sources resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Self> {
        Self::parse(text, base_dir).map_err(|reason| Error::AppManifest {
            origin: "<toml>".into(),
            reason,
        })
    }

    fn parse(text: &str, base: &Path) -> Result<Self, String> {
        let raw: RawFile = toml::from_str(text).map_err(|err| err.to_string())?;
        if raw.components.is_empty() {
            return Err("no components: add a `[components.NAME]` table with a `source`".into());
        }
        let mut host = HostBuilder::default();
        if let Some(tick) = raw.host.epoch_tick {
            host = host.epoch_tick(tick.0);
        }
        if let Some(stack) = raw.host.max_wasm_stack {
            host = host.max_wasm_stack(stack.usize()?);
        }
        if let Some(size) = raw.host.max_component_size {
            host = host.max_component_size(size.usize()?);
        }
        if let Some(capacity) = raw.host.mailbox_capacity {
            host = host.mailbox_capacity(capacity);
        }
        if let Some(fuel) = raw.host.fuel_metering {
            host = host.fuel_metering(fuel);
        }
        if let Some(mode) = raw.host.mode {
            host = host.mode(mode);
        }
        if let Some(audit) = raw.host.audit_log {
            host = host.audit_log(base.join(audit));
        }
        if let Some(http) = raw.host.http {
            host = host.http(http.settings(base));
        }
        if let Some(instances) = raw.host.max_instances {
            host = host.max_instances(instances);
        }
        if let Some(memory) = raw.host.max_memory {
            host = host.max_memory(memory.0);
        }
        if let Some(size) = raw.host.max_cache_size {
            host = host.max_cache_size(size.usize()?);
        }
        let state_dir = base.join(STATE_DIR);
        let cache_dir = raw
            .host
            .cache_dir
            .map_or_else(|| state_dir.join("cache"), |dir| base.join(dir));
        host = host.cache_dir(cache_dir);
        if let Some(size) = raw.host.max_disk_cache {
            host = host.max_disk_cache(size.0);
        }
        if let Some(keep) = raw.host.keep_versions {
            host = host.keep_versions(keep);
        }
        if let Some(signatures) = raw.signatures {
            for key in &signatures.trusted {
                host = host.trust_key(read_key(key, base)?);
            }
            host = host.require_signatures(signatures.require.unwrap_or(false));
        }
        let admin = raw.admin.unwrap_or_default();
        let listen = admin.listen.unwrap_or(DEFAULT_ADMIN);
        if !listen.ip().is_loopback() {
            return Err(format!(
                "[admin] listen = \"{listen}\" is not a loopback address; the admin API deploys code, so it listens on 127.0.0.1 or ::1 only (reach it from elsewhere through an SSH tunnel)"
            ));
        }
        let admin = AdminConfig {
            listen,
            token_file: admin
                .token_file
                .map_or_else(|| state_dir.join("admin.token"), |file| base.join(file)),
        };
        if let Some(allocator) = raw.host.allocator {
            host = host.allocator(match allocator {
                RawAllocator::OnDemand => Allocator::OnDemand,
                RawAllocator::Pooling => Allocator::Pooling,
            });
        }
        let defaults = raw
            .limits
            .as_ref()
            .map_or_else(|| Ok(Limits::default()), |l| l.apply(Limits::default()))?;
        host = host.limits(defaults.clone());
        if let Some(supervision) = &raw.supervision {
            host = host.supervision(supervision.to_policy());
        }
        let cluster = raw
            .cluster
            .map(|cluster| cluster.config(base))
            .transpose()?;
        let storage = raw
            .storage
            .map(|storage| storage.config(base, cluster.as_ref()))
            .transpose()
            .map_err(|err| format!("[storage]: {err}"))?;
        let mut server = raw
            .ingress
            .map(RawIngress::settings)
            .transpose()
            .map_err(|err| format!("[ingress]: {err}"))?;
        let mut components = BTreeMap::new();
        for (name, component) in raw.components {
            if let Some(route) = &component.route {
                let settings = server.take().unwrap_or_default().route(route, &name);
                server = Some(settings);
            }
            airssys_contract::validate_name(&name)
                .map_err(|err| format!("[components.{name}]: {err}"))?;
            let mut options = LoadOptions::new()
                .address(&name)
                .configs(component.config)
                .grants(component.grants);
            if let Some(limits) = &component.limits {
                let limits = limits
                    .apply(defaults.clone())
                    .map_err(|err| format!("[components.{name}.limits]: {err}"))?;
                options = options.limits(limits);
            }
            if let Some(supervision) = &component.supervision {
                options = options.supervision(supervision.to_policy());
            }
            if let Some(instances) = component.instances {
                options = options.instances(instances);
            }
            let source = base.join(component.source);
            components.insert(name, AppComponent { source, options });
        }
        if let Some(server) = &server {
            server
                .validate()
                .map_err(|err| format!("[ingress]: {err}"))?;
        }
        Ok(Self {
            host,
            storage,
            cluster,
            server,
            admin,
            state_dir,
            components,
        })
    }

    /// The host settings of `[host]`, `[limits]` and `[supervision]`, with the store of
    /// `[storage]` opened (each call opens it again; a file can be open once at a time).
    pub fn host_builder(&self) -> Result<HostBuilder> {
        let host = self.host.clone();
        Ok(match &self.storage {
            Some(storage) => host.storage(storage.open()?),
            None => host,
        })
    }

    /// Everything the file says, for every backend: [`host_builder`](Self::host_builder), and
    /// with a `[cluster]` table, joined to the application's other hosts. One NATS connection
    /// carries both the cluster and `[storage] backend = "nats"`.
    pub async fn host_builder_async(&self) -> Result<HostBuilder> {
        let Some(config) = &self.cluster else {
            return self.host_builder();
        };
        let client = config.connect().await?;
        let host = self
            .host
            .clone()
            .cluster(Cluster::with_client(config.clone(), client.clone())?);
        Ok(match &self.storage {
            Some(StorageConfig::Nats(storage)) => {
                host.storage(Storage::nats(client, storage.app.clone()).await?)
            }
            Some(storage) => host.storage(storage.open()?),
            None => host,
        })
    }

    /// Where `[storage]` keeps the store, if the file has that table.
    pub fn storage(&self) -> Option<&StorageConfig> {
        self.storage.as_ref()
    }

    /// How this host joins its application's other hosts over NATS (`[cluster]`), if the
    /// file says.
    pub fn cluster(&self) -> Option<&ClusterConfig> {
        self.cluster.as_ref()
    }

    /// The server's settings, if the file has an `[ingress]` table or a component with a
    /// `route`.
    pub fn server(&self) -> Option<&ServerSettings> {
        self.server.as_ref()
    }

    /// Where `airssys up` serves its admin API (`[admin]`).
    pub fn admin(&self) -> &AdminConfig {
        &self.admin
    }

    /// The folder beside the manifest where `airssys up` keeps its state (`.airssys`): the
    /// compiled cache and the admin token by default, and the admin API's address while it
    /// runs.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The components, by name, in name order.
    pub fn components(&self) -> impl Iterator<Item = (&str, &AppComponent)> {
        self.components.iter().map(|(name, c)| (name.as_str(), c))
    }

    /// Loads and starts every component on `host` at its key as address, in key order; stops
    /// at the first error.
    pub async fn start(&self, host: &Host) -> Result<Vec<(String, ComponentHandle)>> {
        let mut running = Vec::with_capacity(self.components.len());
        for (name, component) in &self.components {
            let handle = host
                .load_with(&component.source, component.options.clone())
                .await?;
            running.push((name.clone(), handle));
        }
        Ok(running)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    host: RawHost,
    signatures: Option<RawSignatures>,
    admin: Option<RawAdmin>,
    limits: Option<RawLimits>,
    supervision: Option<RawSupervision>,
    storage: Option<RawStorage>,
    cluster: Option<RawCluster>,
    ingress: Option<RawIngress>,
    #[serde(default)]
    components: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngress {
    address: Option<std::net::SocketAddr>,
    max_body: Option<Size>,
    max_header: Option<Size>,
    max_connections: Option<usize>,
    request_timeout: Option<Dur>,
    #[serde(default)]
    grants: Capabilities,
}

impl RawIngress {
    fn settings(self) -> Result<ServerSettings, String> {
        let mut settings = ServerSettings::new();
        if let Some(address) = self.address {
            settings = settings.address(address);
        }
        if let Some(bytes) = self.max_body {
            settings = settings.max_body(bytes.usize()?);
        }
        if let Some(bytes) = self.max_header {
            settings = settings.max_header(bytes.usize()?);
        }
        if let Some(connections) = self.max_connections {
            settings = settings.max_connections(connections);
        }
        if let Some(timeout) = self.request_timeout {
            settings = settings.request_timeout(timeout.0);
        }
        settings.grants(self.grants).map_err(|err| err.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    servers: Vec<String>,
    app: String,
    host: Option<String>,
    credentials: Option<PathBuf>,
    token_file: Option<PathBuf>,
    tls: Option<RawClusterTls>,
    connect_timeout: Option<Dur>,
    #[serde(default)]
    remote: BTreeMap<String, Capabilities>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClusterTls {
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl RawCluster {
    fn config(self, base: &Path) -> Result<ClusterConfig, String> {
        let mut config =
            ClusterConfig::new(&self.servers, self.app).map_err(|err| err.to_string())?;
        if let Some(host) = self.host {
            config = config.host_name(host);
        }
        config.validate().map_err(|err| err.to_string())?;
        config = config.auth(match (self.credentials, self.token_file) {
            (Some(_), Some(_)) => {
                return Err("[cluster]: set `credentials` or `token_file`, not both".into());
            }
            (Some(file), None) => ClusterAuth::Credentials(base.join(file)),
            (None, Some(file)) => ClusterAuth::TokenFile(base.join(file)),
            (None, None) => ClusterAuth::None,
        });
        if let Some(tls) = self.tls {
            let client =
                match (tls.cert, tls.key) {
                    (Some(cert), Some(key)) => Some((base.join(cert), base.join(key))),
                    (None, None) => None,
                    _ => return Err(
                        "[cluster] tls: a client `cert` needs its `key`, and a `key` its `cert`"
                            .into(),
                    ),
                };
            config = config.tls(ClusterTls {
                ca: tls.ca.map(|ca| base.join(ca)),
                client,
            });
        }
        if let Some(timeout) = self.connect_timeout {
            config = config.connect_timeout(timeout.0);
        }
        for (sender, grants) in self.remote {
            config = config
                .remote(sender, grants)
                .map_err(|err| err.to_string())?;
        }
        Ok(config)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<PathBuf>,
    memory: Option<bool>,
    cache: Option<Size>,
    backend: Option<RawBackend>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawBackend {
    Redb,
    Memory,
    Nats,
}

impl RawStorage {
    fn config(self, base: &Path, cluster: Option<&ClusterConfig>) -> Result<StorageConfig, String> {
        match self.backend {
            Some(RawBackend::Nats) => {
                if self.path.is_some() || self.memory.is_some() || self.cache.is_some() {
                    return Err(
                        "backend = \"nats\" keeps the store in NATS; remove `path`, `memory` and `cache`".into(),
                    );
                }
                let cluster = cluster.ok_or(
                    "backend = \"nats\" uses the NATS connection of [cluster]; add a [cluster] table with `servers` and `app`",
                )?;
                return Ok(StorageConfig::Nats(cluster.clone()));
            }
            Some(RawBackend::Memory) if self.memory == Some(false) => {
                return Err("backend = \"memory\" contradicts `memory = false`".into());
            }
            Some(RawBackend::Memory) => {
                return Self {
                    memory: Some(true),
                    backend: None,
                    ..self
                }
                .config(base, cluster);
            }
            Some(RawBackend::Redb) if self.memory == Some(true) => {
                return Err("backend = \"redb\" is a file; remove `memory = true`".into());
            }
            Some(RawBackend::Redb) | None => {}
        }
        match (self.path, self.memory.unwrap_or(false)) {
            (Some(_), true) => {
                Err("set either `path` (a file) or `memory = true`, not both".into())
            }
            (Some(path), false) => Ok(StorageConfig::File {
                path: base.join(path),
                cache: self.cache.map_or(DEFAULT_CACHE_SIZE, |cache| cache.0),
            }),
            (None, true) if self.cache.is_some() => {
                Err("`cache` is for a file; an in-memory store needs none".into())
            }
            (None, true) => Ok(StorageConfig::Memory),
            (None, false) => Err(
                "say where the store lives: `path = \"data/airssys.redb\"` (relative to this file) or `memory = true`".into(),
            ),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    epoch_tick: Option<Dur>,
    max_wasm_stack: Option<Size>,
    max_component_size: Option<Size>,
    mailbox_capacity: Option<usize>,
    fuel_metering: Option<bool>,
    mode: Option<Mode>,
    audit_log: Option<PathBuf>,
    http: Option<RawHttp>,
    max_instances: Option<usize>,
    max_memory: Option<Size>,
    max_cache_size: Option<Size>,
    allocator: Option<RawAllocator>,
    cache_dir: Option<PathBuf>,
    max_disk_cache: Option<Size>,
    keep_versions: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignatures {
    #[serde(default)]
    trusted: Vec<String>,
    require: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    listen: Option<std::net::SocketAddr>,
    token_file: Option<PathBuf>,
}

/// `[signatures] trusted` entries: a key's text, or a file holding it.
fn read_key(entry: &str, base: &Path) -> Result<PublicKey, String> {
    let parsed = if entry.trim_start().starts_with("airssys-ed25519 ") {
        PublicKey::from_text(entry).map_err(|err| err.to_string())
    } else {
        PublicKey::from_file(base.join(entry)).map_err(|err| err.to_string())
    };
    parsed.map_err(|err| format!("[signatures] trusted: {err}"))
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawAllocator {
    OnDemand,
    Pooling,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    extra_roots: Vec<PathBuf>,
    allow_downgrade: Option<bool>,
    #[serde(default)]
    nameservers: Vec<std::net::SocketAddr>,
    loopback_only: Option<bool>,
}

impl RawHttp {
    /// The settings, with root files resolved against `base`.
    fn settings(self, base: &Path) -> HttpSettings {
        let mut settings = HttpSettings::new()
            .allow_downgrade(self.allow_downgrade.unwrap_or(false))
            .loopback_only(self.loopback_only.unwrap_or(false));
        for root in self.extra_roots {
            settings = settings.extra_root(base.join(root));
        }
        for server in self.nameservers {
            settings = settings.nameserver(server);
        }
        settings
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    source: PathBuf,
    instances: Option<usize>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    limits: Option<RawLimits>,
    supervision: Option<RawSupervision>,
    #[serde(default)]
    grants: Capabilities,
    /// Serves this path prefix on the server with the component (a `wasi:http` one).
    route: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    memory: Option<Size>,
    table_elements: Option<usize>,
    instances: Option<usize>,
    call_timeout: Option<Dur>,
    fuel: Option<u64>,
    max_payload: Option<Size>,
    storage: Option<RawQuota>,
    namespaces: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    max_keys: Option<u64>,
    max_bytes: Option<Size>,
    max_value_size: Option<Size>,
    max_key_size: Option<Size>,
}

impl RawQuota {
    /// Overrides the fields given here on top of `quota`.
    fn apply(&self, mut quota: Quota) -> Quota {
        if let Some(keys) = self.max_keys {
            quota = quota.max_keys(keys);
        }
        if let Some(bytes) = self.max_bytes {
            quota = quota.max_bytes(bytes.0);
        }
        if let Some(bytes) = self.max_value_size {
            quota = quota.max_value_size(bytes.0);
        }
        if let Some(bytes) = self.max_key_size {
            quota = quota.max_key_size(bytes.0);
        }
        quota
    }
}

impl RawLimits {
    /// Overrides the fields given here on top of `base`.
    fn apply(&self, mut limits: Limits) -> Result<Limits, String> {
        if let Some(memory) = self.memory {
            limits = limits.memory(memory.0);
        }
        if let Some(elements) = self.table_elements {
            limits = limits.table_elements(elements);
        }
        if let Some(instances) = self.instances {
            limits = limits.instances(instances);
        }
        if let Some(timeout) = self.call_timeout {
            limits = limits.call_timeout(timeout.0);
        }
        if let Some(fuel) = self.fuel {
            limits = limits.fuel(fuel);
        }
        if let Some(payload) = self.max_payload {
            limits = limits.max_payload(payload.usize()?);
        }
        if let Some(quota) = &self.storage {
            let quota = quota.apply(limits.storage);
            limits = limits.storage(quota);
        }
        if let Some(namespaces) = self.namespaces {
            limits = limits.namespaces(namespaces);
        }
        Ok(limits)
    }
}

#[derive(Deserialize)]
#[serde(tag = "policy", rename_all = "lowercase", deny_unknown_fields)]
enum RawSupervision {
    Restart {
        max_restarts: Option<u32>,
        window: Option<Dur>,
        backoff: Option<Dur>,
        max_backoff: Option<Dur>,
        pending: Option<RawPending>,
    },
    Stop,
    Escalate,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawPending {
    Wait,
    Fail,
}

impl RawSupervision {
    fn to_policy(&self) -> Supervision {
        match self {
            Self::Stop => Supervision::Stop,
            Self::Escalate => Supervision::Escalate,
            Self::Restart {
                max_restarts,
                window,
                backoff,
                max_backoff,
                pending,
            } => {
                let defaults = Restart::default();
                let mut policy = Restart::new().backoff(
                    backoff.map_or(defaults.initial_backoff, |d| d.0),
                    max_backoff.map_or(defaults.max_backoff, |d| d.0),
                );
                if let Some(max) = max_restarts {
                    policy = policy.max_restarts(*max);
                }
                if let Some(window) = window {
                    policy = policy.window(window.0);
                }
                if let Some(pending) = pending {
                    policy = policy.pending(match pending {
                        RawPending::Wait => Pending::Wait,
                        RawPending::Fail => Pending::Fail,
                    });
                }
                Supervision::Restart(policy)
            }
        }
    }
}

/// A byte size: a number, or a string with a binary unit (`"64MiB"`).
#[derive(Clone, Copy)]
struct Size(u64);

impl Size {
    fn usize(self) -> Result<usize, String> {
        usize::try_from(self.0).map_err(|_| format!("{} bytes is too large here", self.0))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Bytes(bytes) => return Ok(Self(bytes)),
            Raw::Text(text) => text,
        };
        parse_size(&text).map(Self).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a size; write a number of bytes or e.g. \"512KiB\", \"64MiB\", \"1GiB\""
            ))
        })
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(scale)
}

/// A duration string with a unit (`"10ms"`, `"2s"`).
#[derive(Clone, Copy)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(Self).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration; write e.g. \"500us\", \"10ms\", \"2s\" or \"1m\""
            ))
        })
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    Some(match unit.trim() {
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        AppManifest::from_toml(text, Path::new("/app"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn storage_in_nats_uses_the_cluster_table() {
        let app = AppManifest::from_toml(
            r#"
            [storage]
            backend = "nats"
            [cluster]
            servers = ["nats://127.0.0.1:4222"]
            app = "shop"
            [components.a]
            source = "a.wasm"
            "#,
            Path::new("/app"),
        )
        .unwrap();
        assert!(
            matches!(app.storage(), Some(StorageConfig::Nats(cluster)) if cluster.app == "shop"),
            "{:?}",
            app.storage()
        );
        let message = app.host_builder().unwrap_err().to_string();
        assert!(message.contains("open_async"), "{message}");

        let message = err("[storage]\nbackend = \"nats\"\n[components.a]\nsource = \"a.wasm\"\n");
        assert!(message.contains("add a [cluster] table"), "{message}");
        let message = err(
            "[storage]\nbackend = \"nats\"\npath = \"x.redb\"\n[cluster]\nservers = [\"nats://x:4222\"]\napp = \"s\"\n[components.a]\nsource = \"a.wasm\"\n",
        );
        assert!(message.contains("remove `path`"), "{message}");
        let message = err("[storage]\nbackend = \"etcd\"\n[components.a]\nsource = \"a.wasm\"\n");
        assert!(message.contains("unknown variant `etcd`"), "{message}");
    }

    #[test]
    fn reads_the_cluster_table() {
        let app = AppManifest::from_toml(
            r#"
            [cluster]
            servers = ["nats://127.0.0.1:4222", "tls://nats.example.com:4222"]
            app = "shop"
            host = "host-a"
            credentials = "host-a.creds"
            tls = { ca = "ca.pem", cert = "a.pem", key = "a.key" }
            connect_timeout = "2s"
            remote = { checkout = { message = ["pricing"] }, "@host" = { publish = ["orders.>"] } }
            [components.a]
            source = "a.wasm"
            "#,
            Path::new("/app"),
        )
        .unwrap();
        let cluster = app.cluster().unwrap();
        assert_eq!(cluster.servers.len(), 2);
        assert_eq!(
            (cluster.app.as_str(), cluster.host_name.as_str()),
            ("shop", "host-a")
        );
        assert_eq!(
            cluster.auth,
            ClusterAuth::Credentials("/app/host-a.creds".into())
        );
        let tls = cluster.tls.as_ref().unwrap();
        assert_eq!(tls.ca, Some("/app/ca.pem".into()));
        assert_eq!(tls.client, Some(("/app/a.pem".into(), "/app/a.key".into())));
        assert_eq!(cluster.connect_timeout, Duration::from_secs(2));
        assert_eq!(
            cluster.remote["checkout"].get(crate::CapabilityKind::Message),
            ["pricing"]
        );
        assert_eq!(
            cluster.remote["@host"].get(crate::CapabilityKind::Publish),
            ["orders.>"]
        );
        assert!(
            AppManifest::from_toml("[components.a]\nsource = \"a.wasm\"\n", Path::new("/app"))
                .unwrap()
                .cluster()
                .is_none()
        );

        let table = |body: &str| {
            err(&format!(
                "[cluster]\n{body}\n[components.a]\nsource = \"a.wasm\"\n"
            ))
        };
        assert!(table("app = \"shop\"").contains("missing field `servers`"));
        assert!(table("servers = []\napp = \"shop\"").contains("no servers"));
        assert!(table("servers = [\"nats://x:4222\"]\napp = \"a.b\"").contains("app = \"a.b\""));
        assert!(
            table("servers = [\"nats://x:4222\"]\napp = \"shop\"\nhost = \"a b\"")
                .contains("host = \"a b\"")
        );
        assert!(
            table("servers = [\"nats://x:4222\"]\napp = \"shop\"\ncredentials = \"c\"\ntoken_file = \"t\"")
                .contains("not both")
        );
        assert!(
            table("servers = [\"nats://x:4222\"]\napp = \"shop\"\ntls = { cert = \"a.pem\" }")
                .contains("needs its `key`")
        );
        assert!(
            table("servers = [\"nats://x:4222\"]\napp = \"shop\"\nremote = { Bad_Name = {} }")
                .contains("neither a component's address")
        );
    }

    #[test]
    fn reads_every_section() {
        let app = AppManifest::from_toml(
            r#"
            [host]
            epoch_tick = "5ms"
            fuel_metering = true
            mode = "permissive"
            audit_log = "audit.jsonl"
            max_instances = 50
            max_memory = "1GiB"
            max_cache_size = "64MiB"
            allocator = "pooling"
            [host.http]
            extra_roots = ["ca.pem"]
            allow_downgrade = true
            nameservers = ["127.0.0.53:53"]
            loopback_only = true
            [limits]
            memory = "32MiB"
            storage = { max_keys = 10, max_value_size = "1KiB" }
            [supervision]
            policy = "stop"
            [storage]
            path = "data/kv.redb"
            cache = "1MiB"
            [components.a]
            source = "a.wasm"
            config = { k = "v" }
            limits = { call_timeout = "2s", fuel = 1000, max_payload = 4096, storage = { max_keys = 5 }, namespaces = 3 }
            supervision = { policy = "restart", max_restarts = 2, window = "1m", pending = "fail" }
            grants = { fs_read = ["/srv/a/**"], net = ["api.example.com:443"] }
            [components.b]
            source = "/abs/b.wasm"
            "#,
            Path::new("/app"),
        )
        .unwrap();
        assert_eq!(
            app.storage(),
            Some(&StorageConfig::File {
                path: "/app/data/kv.redb".into(),
                cache: 1 << 20
            })
        );
        let builder = app.host.clone();
        assert_eq!(builder.epoch_tick, Duration::from_millis(5));
        assert!(builder.fuel_metering);
        assert_eq!(builder.supervision, Supervision::Stop);
        assert_eq!(builder.mode, Mode::Permissive);
        let http = HttpSettings::new()
            .extra_root("/app/ca.pem")
            .allow_downgrade(true)
            .nameserver("127.0.0.53:53".parse().unwrap())
            .loopback_only(true);
        assert_eq!(builder.http, http);
        assert_eq!(
            (
                builder.max_instances,
                builder.max_memory,
                builder.max_cache_size
            ),
            (50, 1 << 30, 64 << 20)
        );
        assert_eq!(builder.allocator, Allocator::Pooling);
        let (name, a) = app.components().next().unwrap();
        assert_eq!(
            a.options.grants.get(crate::CapabilityKind::FsRead),
            ["/srv/a/**"]
        );
        assert_eq!(name, "a");
        assert_eq!(a.source, Path::new("/app/a.wasm"));
        assert_eq!(a.options.config, [("k".to_owned(), "v".to_owned())]);
        let limits = a.options.limits.clone().unwrap();
        assert_eq!(limits.memory, 32 << 20, "file-level defaults apply");
        assert_eq!(limits.call_timeout, Duration::from_secs(2));
        assert_eq!((limits.fuel, limits.max_payload), (Some(1000), 4096));
        assert_eq!(
            limits.storage,
            Quota::new().max_keys(5).max_value_size(1024),
            "a component's storage quota changes only the fields it names"
        );
        assert_eq!(limits.namespaces, 3);
        let Some(Supervision::Restart(policy)) = &a.options.supervision else {
            panic!("{:?}", a.options.supervision)
        };
        assert_eq!(policy.max_restarts, 2);
        assert_eq!(policy.window, Duration::from_secs(60));
        assert_eq!(policy.pending, Pending::Fail);
        assert_eq!(
            app.components().nth(1).unwrap().1.source,
            Path::new("/abs/b.wasm")
        );
    }

    #[test]
    fn mistakes_name_the_line() {
        let e = err("[components.a]\nsource = \"a.wasm\"\ncolour = \"red\"\n");
        assert!(
            e.contains("line 3") && e.contains("unknown field `colour`"),
            "{e}"
        );
        let e = err("[components.a]\nsource = \"a.wasm\"\nlimits = { memory = \"64 MB\" }\n");
        assert!(e.contains("line 3") && e.contains("is not a size"), "{e}");
        let e = err("[components.a]\nsource = \"a.wasm\"\nlimits = { call_timeout = \"2 sec\" }\n");
        assert!(
            e.contains("line 3") && e.contains("is not a duration"),
            "{e}"
        );
        let e = err("[components.a]\nsource = \"a.wasm\"\nsupervision = { policy = \"retry\" }\n");
        assert!(
            e.contains("line 3") && e.contains("unknown variant `retry`"),
            "{e}"
        );
        let e = err("[components.Bad_Name]\nsource = \"a.wasm\"\n");
        assert!(
            e.contains("[components.Bad_Name]") && e.contains("kebab-case"),
            "{e}"
        );
        let e = err("[host]\nfuel_metering = true\n");
        assert!(e.contains("no components"), "{e}");
        assert!(err("[components.a]\n").contains("missing field `source`"));
        let e = err("[components.a]\nsource = \"a\"\ngrants = { net = [\"example.com\"] }\n");
        assert!(e.contains("line 3") && e.contains("add a port"), "{e}");
        let e = err("[components.a]\nsource = \"a\"\ngrants = { files = [\"/x\"] }\n");
        assert!(
            e.contains("line 3") && e.contains("unknown variant `files`"),
            "{e}"
        );
        let e = err("[host.http]\nnameservers = [\"ns1\"]\n[components.a]\nsource = \"a\"\n");
        assert!(
            e.contains("line 2") && e.contains("invalid socket address"),
            "{e}"
        );
        let e = err("[host.http]\nroots = []\n[components.a]\nsource = \"a\"\n");
        assert!(
            e.contains("line 2") && e.contains("unknown field `roots`"),
            "{e}"
        );
        let e = err("[storage]\ncache = \"1MiB\"\n[components.a]\nsource = \"a\"\n");
        assert!(
            e.contains("[storage]") && e.contains("memory = true"),
            "{e}"
        );
        let e = err("[storage]\npath = \"a\"\nmemory = true\n[components.a]\nsource = \"a\"\n");
        assert!(e.contains("not both"), "{e}");
        let e = err("[storage]\npaht = \"a\"\n[components.a]\nsource = \"a\"\n");
        assert!(
            e.contains("line 2") && e.contains("unknown field `paht`"),
            "{e}"
        );
        let e = err("[components.a]\nsource = \"a\"\nlimits = { storage = { max_keyz = 1 } }\n");
        assert!(
            e.contains("line 3") && e.contains("unknown field `max_keyz`"),
            "{e}"
        );
        let e = err("[host]\nallocator = \"pool\"\n[components.a]\nsource = \"a\"\n");
        assert!(
            e.contains("line 2")
                && e.contains("unknown variant `pool`, expected `on-demand` or `pooling`"),
            "{e}"
        );
        let e = err("[host]\nmode = \"lax\"\n[components.a]\nsource = \"a\"\n");
        assert!(
            e.contains("line 2") && e.contains("unknown variant `lax`"),
            "{e}"
        );
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("64MB"), None);
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("2"), None);
    }
}
