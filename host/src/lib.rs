//! Run untrusted airssys WebAssembly components inside any Rust application.
//!
//! `airssys-host` is the host half of airssys. It loads components written with the `airssys`
//! SDK, checks they are components of the `airssys:core` world before compiling them, and
//! runs each instance as a task that serves calls one at a time with its state kept.
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
//! Guests get WASI with no environment, and files and TCP connects only as the operator
//! granted what they declared (see [`Mode`] and [`LoadOptions::grants`]); their stdout and
//! stderr lines, and their `airssys::log` events, go to `tracing` on the `airssys::guest`
//! target, tagged with `name@version`.

mod actor;
mod app;
mod audit;
mod bindings;
mod error;
mod fs;
mod grants;
mod handle;
mod host;
mod http;
mod inspect;
mod limits;
mod options;
mod prepared;
mod process;
mod sandbox;
mod source;
mod state;
mod stdio;
pub mod storage;
mod supervision;

pub use airssys_contract::{
    CONTENT_TYPE_BYTES, CONTENT_TYPE_JSON, CONTENT_TYPE_TEXT, CONTRACT_VERSION, Capabilities,
    CapabilityKind, ErrorKind, Health, Manifest, PatternError, Payload,
};
pub use app::{AppComponent, AppManifest};
pub use audit::{AuditEvent, Outcome};
pub use error::{Error, GuestError, GuestPanic, Result, Trap, TrapKind};
pub use grants::{EffectiveCapabilities, Mode};
pub use handle::{ComponentHandle, Stats};
pub use host::{
    DEFAULT_EPOCH_TICK, DEFAULT_MAILBOX_CAPACITY, DEFAULT_MAX_COMPONENT_SIZE,
    DEFAULT_MAX_WASM_STACK, Host, HostBuilder, load,
};
pub use inspect::{Inspection, inspect, inspect_file};
pub use limits::Limits;
pub use options::LoadOptions;
pub use prepared::Prepared;
pub use sandbox::MemoryUsage;
pub use source::Source;
pub use supervision::{Event, EventKind, Pending, Restart, Supervision};
