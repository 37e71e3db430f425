//! The host's error type: every way loading or calling a component can fail.

use std::path::PathBuf;

pub use airssys_contract::Error as GuestError;

/// `Result` with the host [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong loading or calling a component.
///
/// Load errors name the file (or the label given for bytes) and say how to fix it. Errors
/// about a running component name it by its [`Identity`](crate::Identity): `address
/// (name@version)`, or `name@version` when it runs at its own name. A component's own domain
/// errors ([`Error::Guest`]) are kept apart from traps ([`Error::Trap`]), which end the
/// instance.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are larger than the host accepts.
    #[error(
        "{origin} is {size} bytes, over this host's limit of {limit} bytes; raise it with `HostBuilder::max_component_size`"
    )]
    TooLarge {
        /// The file or label.
        origin: String,
        /// Its size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The bytes are not WebAssembly at all.
    #[error(
        "{origin} is not a WebAssembly binary (it does not start with `\\0asm`); pass a .wasm component built for wasm32-wasip2 (e.g. with `airssys build`)"
    )]
    NotWasm {
        /// The file or label.
        origin: String,
    },
    /// The bytes are a core module, not a component.
    #[error(
        "{origin} is a core WebAssembly module, not a component; build it for the `wasm32-wasip2` target (e.g. `airssys build`, or `cargo build --target wasm32-wasip2`)"
    )]
    CoreModule {
        /// The file or label.
        origin: String,
    },
    /// The bytes are not valid WebAssembly (truncated, corrupt, or using unsupported features).
    #[error("{origin} is not a valid WebAssembly component: {reason}")]
    Malformed {
        /// The file or label.
        origin: String,
        /// What the validator said.
        reason: String,
    },
    /// A valid component, but neither of the airssys world nor of `wasi:http/proxy`.
    #[error("{origin} is not an airssys component: it exports [{}] but not `airssys:core/lifecycle@{}` (nor `wasi:http/incoming-handler`); write it with #[airssys::component], or build it for the wasi:http proxy world", exports.join(", "), airssys_contract::CONTRACT_VERSION)]
    WrongWorld {
        /// The file or label.
        origin: String,
        /// What it exports instead.
        exports: Vec<String>,
    },
    /// An airssys component built against another contract version.
    #[error(
        "{origin} was built for airssys:core@{found}, but this host implements airssys:core@{}; rebuild it with a matching airssys SDK",
        airssys_contract::CONTRACT_VERSION
    )]
    ContractVersion {
        /// The file or label.
        origin: String,
        /// The version it was built for.
        found: String,
    },
    /// The lifecycle interface lacks a function, or has one of the wrong type.
    #[error(
        "{origin} exports airssys:core/lifecycle, but {problem}; rebuild it with #[airssys::component]"
    )]
    MissingExport {
        /// The file or label.
        origin: String,
        /// Which function is missing or wrong.
        problem: String,
    },
    /// No `airssys:manifest` custom section.
    #[error(
        "{origin} has no airssys manifest (custom section `airssys:manifest`); build it with #[airssys::component]"
    )]
    MissingManifest {
        /// The file or label.
        origin: String,
    },
    /// The manifest is there but does not parse or validate.
    #[error("{origin} has a corrupt airssys manifest: {reason}")]
    CorruptManifest {
        /// The file or label.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The component imports something this host does not provide.
    #[error("{origin} cannot be linked: {reason}")]
    Link {
        /// The file or label.
        origin: String,
        /// What the linker said (usually the unknown import).
        reason: String,
    },
    /// Compilation to native code failed.
    #[error("failed to compile {origin}: {reason}")]
    Compile {
        /// The file or label.
        origin: String,
        /// What the compiler said.
        reason: String,
    },
    /// The operator's file (`airssys.toml`) is malformed; the reason names the line.
    #[error("{origin}: {reason}")]
    AppManifest {
        /// The file.
        origin: String,
        /// What is wrong, with the line and column.
        reason: String,
    },
    /// Strict mode: the component declares capabilities the operator did not grant.
    #[error("{component} was not started: it declares capabilities that are not granted: {}; grant them (`--grant KIND=PATTERN` with `airssys run`, `grants` in airssys.toml, or LoadOptions::grants) or use the permissive mode", missing.iter().map(|(k, p)| format!("{k} `{p}`")).collect::<Vec<_>>().join(", "))]
    NotGranted {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// The declared patterns no grant covers.
        missing: Vec<(crate::CapabilityKind, String)>,
    },
    /// A component is already running at the address a start asked for.
    #[error(
        "address `{address}` is taken by {component}, which is {state}; start this one at another address (`LoadOptions::address`, or another key in airssys.toml), or stop that one first (`ComponentHandle::shutdown`, `Host::stop`)"
    )]
    AddressTaken {
        /// The address.
        address: String,
        /// What runs there.
        component: String,
        /// Its state (never stopped or failed: those are replaced).
        state: crate::State,
    },
    /// No component is registered at this address.
    #[error("no component runs at address `{address}`; `Host::components` lists the addresses")]
    UnknownAddress {
        /// The address asked for.
        address: String,
    },
    /// An address that is not kebab-case.
    #[error("`{address}` cannot be an address: {reason}")]
    InvalidAddress {
        /// The address given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Starting it would pass a limit of the whole host (instances, combined memory, pool).
    #[error("{component} was not started: {limit}")]
    HostLimit {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// Which limit, how much is in use, and how to make room.
        limit: HostLimit,
    },
    /// The host itself could not be configured.
    #[error("invalid host configuration: {0}")]
    Config(String),
    /// None of the NATS servers of `[cluster]` could be reached at start.
    #[error(
        "cannot reach NATS at {servers}: {reason}; check `[cluster] servers` and that nats-server runs there"
    )]
    ClusterUnreachable {
        /// The servers tried.
        servers: String,
        /// What the client said.
        reason: String,
    },
    /// Another host of the cluster refused a delivery: its `[cluster] remote` does not let
    /// the sender reach that address or topic.
    #[error(
        "host `{host}` refused it: {reason}; the operator of `{host}` lists what other hosts' components may reach in its `[cluster] remote`"
    )]
    Denied {
        /// The host that refused.
        host: String,
        /// What was refused, and why.
        reason: String,
    },
    /// The cluster could not carry a delivery to `address` (NATS is unreachable, or answered
    /// with an error). Nothing is known to have been delivered.
    #[error("cannot reach `{address}` through the cluster: {reason}")]
    Unavailable {
        /// The address asked for.
        address: String,
        /// What NATS said.
        reason: String,
    },
    /// The host's store could not be opened or used (see [`StorageError`](crate::storage::StorageError)).
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// The component's `init` returned an error: the instance did not start.
    #[error("{component} failed to initialise: {error}")]
    Init {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// The error it returned.
        error: GuestError,
    },
    /// The component handled the call and returned a domain error.
    #[error("{component} returned an error: {error}")]
    Guest {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// The error it returned.
        error: GuestError,
    },
    /// The instance trapped (panic, `unreachable`, out-of-bounds access, ...). It will not be
    /// called again.
    #[error("{component} {trap}")]
    Trap {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// What happened.
        trap: Trap,
    },
    /// A request or reply body is larger than [`Limits::max_payload`](crate::Limits::max_payload).
    #[error(
        "{component}: the {direction} body is {size} bytes, over the limit of {limit}; raise it with `Limits::max_payload`"
    )]
    PayloadTooLarge {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// `request` or `reply`.
        direction: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The instance is restarting after a trap and its policy fails calls meanwhile
    /// ([`Pending::Fail`](crate::Pending::Fail)).
    #[error("{component} is restarting after a trap; try again shortly")]
    Restarting {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
    },
    /// The instance is no longer running: it was shut down or trapped earlier.
    #[error("{component} is not running ({reason}); load it again to get a fresh instance")]
    Stopped {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// Why it stopped.
        reason: String,
    },
    /// A request was delivered, but no reply came before its deadline. The component may
    /// still handle it later (or skip it, if it has not started yet); the reply is dropped.
    #[error("no reply from {component} within {waited:?}")]
    Timeout {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// How long the caller waited, delivery included.
        waited: std::time::Duration,
    },
    /// The component's mailbox stayed full until the deadline: it is not keeping up with what
    /// it is sent. Nothing was delivered.
    #[error(
        "{component}'s mailbox stayed full ({capacity} calls waiting) for {waited:?}; nothing was delivered. It is not keeping up: send less, wait longer, or raise `HostBuilder::mailbox_capacity`"
    )]
    MailboxFull {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// The mailbox's capacity.
        capacity: usize,
        /// How long the caller waited for room.
        waited: std::time::Duration,
    },
    /// A topic or topic pattern that does not follow the grammar (see docs/security.md).
    #[error("`{topic}` cannot be {role}: {reason}")]
    InvalidTopic {
        /// The text given.
        topic: String,
        /// `published on` or `subscribed to`.
        role: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A call the component's world has no export for: an airssys request or message to a
    /// `wasi:http` component, or HTTP to an airssys one.
    #[error("{component} cannot take {asked}: {why}")]
    NotServed {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// What it was asked to take.
        asked: &'static str,
        /// Why not, and what to do instead.
        why: &'static str,
    },
    /// A `wasi:http` component ended its handler without a response, or answered with an
    /// error code instead of one.
    #[error("{component} gave no HTTP response: {reason}")]
    NoResponse {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// What happened instead.
        reason: String,
    },
    /// The server could not listen on its address.
    #[error("cannot listen on {address}: {source}; choose another `address` in [ingress]")]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// What the OS said (the address is taken, or not this machine's).
        source: std::io::Error,
    },
    /// A JSON request could not be encoded, or its reply not decoded into the type asked for.
    #[error("JSON exchange with {component} failed: {error}")]
    Json {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// The decoding error.
        error: GuestError,
    },
    /// The component's signatures do not meet the host's [`SignatureError`] policy, or a key
    /// could not be read. Nothing was compiled.
    #[error("{origin} was refused: {problem}")]
    Signature {
        /// The file, label or key file.
        origin: String,
        /// What is wrong, and the fix.
        problem: crate::SignatureError,
    },
    /// A deploy failed or was aborted at `stage`; the address serves what it served before.
    #[error(
        "deploy of {version} to `{address}` failed while {stage}: {cause}; `{address}` still serves {serving}"
    )]
    Deploy {
        /// The address deployed to.
        address: String,
        /// The version that was to take over (`name@version`).
        version: String,
        /// How far it got.
        stage: crate::DeployStage,
        /// What went wrong.
        cause: Box<Error>,
        /// What serves the address now (`name@version`).
        serving: String,
    },
    /// A health check did not report healthy.
    #[error("{component} reported itself {health}")]
    Unhealthy {
        /// Its [`Identity`](crate::Identity), as displayed.
        component: String,
        /// What it reported.
        health: crate::Health,
    },
    /// A canary failed too many of its calls within the window.
    #[error(
        "{component} failed {failed} of its {calls} calls within {window:?} ({:.1}%), over the canary's limit of {:.1}%",
        100.0 * *failed as f64 / (*calls).max(1) as f64,
        100.0 * threshold
    )]
    CanaryFailed {
        /// The canary's [`Identity`](crate::Identity), as displayed.
        component: String,
        /// Calls that ended in an error or a trap.
        failed: u64,
        /// Calls it served within the window.
        calls: u64,
        /// The window.
        window: std::time::Duration,
        /// The share of failed calls that aborts it.
        threshold: f64,
    },
    /// The operator aborted the deploy ([`Host::abort`](crate::Host::abort)).
    #[error("it was aborted")]
    Aborted,
    /// A deploy to this address is under way already.
    #[error(
        "a deploy of {version} to `{address}` is under way; wait for it, or promote or abort it (`airssys promote`, `airssys abort`)"
    )]
    DeployInProgress {
        /// The address.
        address: String,
        /// The version being deployed.
        version: String,
    },
    /// No deploy to promote or abort at this address.
    #[error("no deploy is under way at `{address}`; `airssys status` shows its versions")]
    NoDeploy {
        /// The address.
        address: String,
    },
    /// A rollback found no earlier version kept at the address.
    #[error(
        "`{address}` keeps no earlier version to roll back to (it was never deployed over, or the versions were retired); deploy one instead"
    )]
    NothingToRollBack {
        /// The address.
        address: String,
    },
    /// The version runs (serving, a canary, deploying or draining), so it cannot be retired.
    #[error(
        "version {id} of `{address}` is {state}; deploy or roll back to another version first, then retire it"
    )]
    VersionInUse {
        /// The address.
        address: String,
        /// The version's number.
        id: u64,
        /// Its state.
        state: crate::VersionState,
    },
    /// No version with this number is kept at the address.
    #[error("`{address}` keeps no version {id}; `Host::versions` lists them")]
    UnknownVersion {
        /// The address.
        address: String,
        /// The number asked for.
        id: u64,
    },
}

impl Error {
    /// A short, stable name for what went wrong (`unknown_address`, `trap`, `timeout`, ...;
    /// for a component's domain error its [`ErrorKind`](crate::ErrorKind), as `not_found`):
    /// the `kind` of an ingress error body and the `kind` label of error metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::TooLarge { .. } => "component_too_large",
            Self::NotWasm { .. }
            | Self::CoreModule { .. }
            | Self::Malformed { .. }
            | Self::WrongWorld { .. }
            | Self::ContractVersion { .. }
            | Self::MissingExport { .. }
            | Self::MissingManifest { .. }
            | Self::CorruptManifest { .. }
            | Self::Link { .. }
            | Self::Compile { .. } => "invalid_component",
            Self::AppManifest { .. } | Self::Config(_) => "config",
            Self::NotGranted { .. } => "not_granted",
            Self::AddressTaken { .. } => "address_taken",
            Self::UnknownAddress { .. } => "unknown_address",
            Self::InvalidAddress { .. } => "invalid_address",
            Self::HostLimit { .. } => "host_limit",
            Self::Storage(_) => "storage",
            Self::ClusterUnreachable { .. } => "cluster_unreachable",
            Self::Denied { .. } => "denied",
            Self::Unavailable { .. } => "unavailable",
            Self::Init { .. } => "init_failed",
            Self::Guest { error, .. } | Self::Json { error, .. } => error.kind().code(),
            Self::Trap { .. } => "trap",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Restarting { .. } => "restarting",
            Self::Stopped { .. } => "stopped",
            Self::Timeout { .. } => "timeout",
            Self::MailboxFull { .. } => "mailbox_full",
            Self::InvalidTopic { .. } => "invalid_topic",
            Self::Listen { .. } => "listen",
            Self::NotServed { .. } => "not_served",
            Self::NoResponse { .. } => "no_response",
            Self::Signature { .. } => "signature",
            Self::Deploy { .. } => "deploy_failed",
            Self::Unhealthy { .. } => "unhealthy",
            Self::CanaryFailed { .. } => "canary_failed",
            Self::Aborted => "aborted",
            Self::DeployInProgress { .. } => "deploy_in_progress",
            Self::NoDeploy { .. } => "no_deploy",
            Self::NothingToRollBack { .. } => "nothing_to_roll_back",
            Self::VersionInUse { .. } => "version_in_use",
            Self::UnknownVersion { .. } => "unknown_version",
        }
    }

    /// The component's own domain error, if that is what this is.
    pub fn guest_error(&self) -> Option<&GuestError> {
        match self {
            Self::Guest { error, .. } | Self::Init { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A limit of the whole host that a start would pass (see
/// [`HostBuilder`](crate::HostBuilder)): the error names it, what is in use, and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostLimit {
    /// The host already runs its maximum number of instances.
    #[error(
        "the host already runs {running} instances, its maximum of {max}; stop one, or raise `HostBuilder::max_instances` (`max_instances` in `[host]`)"
    )]
    Instances {
        /// Instances running (restarting ones included).
        running: usize,
        /// [`HostBuilder::max_instances`](crate::HostBuilder::max_instances).
        max: usize,
    },
    /// Its initial linear memory would take the host's combined memory past the maximum.
    #[error(
        "its {requested} bytes of initial linear memory would take the host's combined {used} bytes past its maximum of {max}; stop a component, or raise `HostBuilder::max_memory` (`max_memory` in `[host]`)"
    )]
    Memory {
        /// Bytes of linear memory all instances held.
        used: u64,
        /// Bytes the new instance asked for.
        requested: u64,
        /// [`HostBuilder::max_memory`](crate::HostBuilder::max_memory).
        max: u64,
    },
    /// The pooling allocator has no free slot of some kind: the component needs more
    /// memories, tables or core instances than the pool keeps per instance on average.
    #[error(
        "the pooling allocator is exhausted ({detail}); its pools are sized from `HostBuilder::max_instances`, so raise it, or use the on-demand allocator"
    )]
    Pool {
        /// What wasmtime reported.
        detail: String,
    },
}

/// Why an instance trapped, classified so embedders can react to each cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    /// The cause.
    pub kind: TrapKind,
    /// The trap as wasmtime reports it, with the wasm backtrace when available.
    pub detail: String,
}

/// The cause of a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapKind {
    /// The call used up its fuel budget ([`Limits::fuel`](crate::Limits::fuel)).
    OutOfFuel,
    /// The call ran past its wall-clock deadline ([`Limits::call_timeout`](crate::Limits::call_timeout)).
    Deadline(std::time::Duration),
    /// The guest failed after its memory could not grow past [`Limits::memory`](crate::Limits::memory).
    MemoryLimit(u64),
    /// The guest failed after its memory could not grow because the host's combined linear
    /// memory reached [`HostBuilder::max_memory`](crate::HostBuilder::max_memory).
    HostMemoryLimit(u64),
    /// The guest failed after a table could not grow past
    /// [`Limits::table_elements`](crate::Limits::table_elements).
    TableLimit(usize),
    /// The guest exhausted its wasm stack (e.g. unbounded recursion).
    StackOverflow,
    /// The guest panicked; the SDK reported the message before trapping.
    Panic(GuestPanic),
    /// The guest executed `unreachable` (e.g. `std::process::abort`).
    Unreachable,
    /// Any other trap: out-of-bounds access, division by zero, a failed host call, ...
    Other,
}

impl TrapKind {
    /// A short, stable name for the cause (`panic`, `deadline`, `out_of_fuel`, ...): the
    /// `kind` label of trap metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutOfFuel => "out_of_fuel",
            Self::Deadline(_) => "deadline",
            Self::MemoryLimit(_) => "memory_limit",
            Self::HostMemoryLimit(_) => "host_memory_limit",
            Self::TableLimit(_) => "table_limit",
            Self::StackOverflow => "stack_overflow",
            Self::Panic(_) => "panic",
            Self::Unreachable => "unreachable",
            Self::Other => "other",
        }
    }
}

/// A panic reported by the guest just before it trapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestPanic {
    /// The panic message.
    pub message: String,
    /// `file:line:column` in the guest's source, when known.
    pub location: Option<String>,
}

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            TrapKind::Panic(GuestPanic {
                message,
                location: Some(location),
            }) => write!(f, "panicked at {location}: {message}"),
            TrapKind::Panic(GuestPanic { message, .. }) => write!(f, "panicked: {message}"),
            TrapKind::OutOfFuel => f.write_str("ran out of fuel"),
            TrapKind::Deadline(timeout) => write!(f, "exceeded its {timeout:?} call deadline"),
            TrapKind::MemoryLimit(limit) => {
                write!(
                    f,
                    "trapped after reaching its memory limit of {limit} bytes"
                )
            }
            TrapKind::HostMemoryLimit(limit) => write!(
                f,
                "trapped after its memory could not grow: the host's combined memory limit of {limit} bytes is reached"
            ),
            TrapKind::TableLimit(limit) => {
                write!(
                    f,
                    "trapped after reaching its table limit of {limit} elements"
                )
            }
            TrapKind::StackOverflow => f.write_str("overflowed its wasm stack"),
            TrapKind::Unreachable => f.write_str("trapped: executed `unreachable`"),
            TrapKind::Other => write!(f, "trapped: {}", self.detail),
        }
    }
}
