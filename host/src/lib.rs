//! Run untrusted airssys WebAssembly components inside any Rust application.
//!
//! `airssys-host` is the host half of airssys. It loads components written with the `airssys`
//! SDK, checks they are components of the `airssys:core` world before compiling them, and
//! runs each instance as an actor that serves calls one at a time with its state kept.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> airssys_host::Result<()> {
//!     // One line: load on a shared default host.
//!     let greeter = airssys_host::load("greeter.wasm").await?;
//!     let reply: serde_json::Value =
//!         greeter.request_json(&serde_json::json!({ "name": "Ada" })).await?;
//!     println!("{reply}");
//!
//!     // Or build a host once and load many components with it.
//!     let host = airssys_host::Host::builder().mailbox_capacity(128).build()?;
//!     let counter = host
//!         .load_with("counter.wasm", airssys_host::LoadOptions::new().config("start", "10"))
//!         .await?;
//!     println!("{}", counter.manifest().name());
//!     Ok(())
//! }
//! ```
//!
//! Every component runs at an address, the operator's name for it (by default its manifest's
//! name): see [`LoadOptions::address`], [`Host::component`], [`Host::components`] and
//! [`Host::stop`]. Errors, [`Event`]s and audit lines name it by its [`Identity`].
//!
//! Guests get WASI with no environment, and files, TCP connects, storage namespaces
//! ([`HostBuilder::storage`], [`storage`]) and other components (by address and by topic)
//! only as the operator granted what they declared (see [`Mode`] and
//! [`LoadOptions::grants`]); their stdout and stderr lines, and their `airssys::log` events,
//! go to `tracing` on the `airssys::guest` target, tagged with their address and
//! `name@version`. The embedder reaches components the same way: [`Host::send`],
//! [`Host::request`], [`Host::publish`] and [`Host::subscribe`].
//!
//! Inside, the crate is layered, each layer using only those before it: plain types (errors,
//! sources, limits, identity, events), policy (grants, the capability gate, audit), the host
//! interfaces, the runtime (instances, the call path, actors), the registry of addresses,
//! and the [`Host`] itself (docs/architecture.md walks through them).

#![deny(missing_docs)]

mod app;
mod bindings;
mod broker;
pub mod build;
mod clock;
pub mod cluster;
mod deploy;
mod error;
mod events;
mod host;
mod identity;
mod inspect;
mod interfaces;
mod limits;
mod mail;
mod metrics;
mod policy;
mod registry;
mod runtime;
pub mod server;
mod signature;
mod source;
mod stage;
mod state;
pub mod storage;
mod supervision;
pub mod testing;
mod totals;

pub use airssys_contract::{
    CONTENT_TYPE_BYTES, CONTENT_TYPE_JSON, CONTENT_TYPE_TEXT, CONTRACT_VERSION, Capabilities,
    CapabilityKind, ErrorKind, Health, MAX_TOPIC_LEN, Manifest, PatternError, Payload,
};
pub use app::{AdminConfig, AppComponent, AppManifest, StorageConfig};
pub use broker::Published;
pub use cluster::{
    Cluster, ClusterAuth, ClusterConfig, ClusterTls, DEFAULT_CONNECT_TIMEOUT, PeerComponent,
    PeerInfo, REMOTE_HOST,
};
pub use deploy::{
    CanaryOptions, DeployOptions, DeployReport, Deployment, FailureRate, Progress, Strategy,
};
pub use error::{Error, GuestError, GuestPanic, HostLimit, Result, Trap, TrapKind};
pub use events::{Event, EventKind};
pub use host::{
    Allocator, ComponentHandle, DEFAULT_EPOCH_TICK, DEFAULT_KEEP_VERSIONS,
    DEFAULT_MAILBOX_CAPACITY, DEFAULT_MAX_CACHE_SIZE, DEFAULT_MAX_DISK_CACHE,
    DEFAULT_MAX_INSTANCES, DEFAULT_MAX_MEMORY, DEFAULT_MAX_WASM_STACK, DEFAULT_SEND_TIMEOUT, Host,
    HostBuilder, LoadOptions, Prepared, Subscription, load,
};
pub use identity::Identity;
pub use inspect::{ComponentKind, Inspection, inspect, inspect_file};
pub use interfaces::HttpSettings;
pub use limits::{Limits, MAX_CALL_TIMEOUT, MAX_PAYLOAD, MemoryUsage};
pub use mail::Message;
pub use policy::{AuditEvent, EffectiveCapabilities, Mode, Outcome};
pub use registry::{ComponentInfo, VersionInfo, VersionState};
pub use runtime::Stats;
pub use server::{
    DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER, DEFAULT_REQUEST_TIMEOUT,
    HEADER_TIMEOUT, Server, ServerSettings,
};
pub use signature::{
    PublicKey, SIGNATURE_SECTION, SecretKey, SignatureError, SignatureStatus, Signer, signers,
};
pub use source::{DEFAULT_MAX_COMPONENT_SIZE, Source};
pub use stage::DeployStage;
pub use state::State;
pub use supervision::{Pending, Restart, Supervision};
pub use totals::HostUsage;
