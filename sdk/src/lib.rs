//! Write WebAssembly components in plain Rust.
//!
//! `airssys` is the guest half of airssys. You write an `impl Component for YourType` block,
//! put `#[airssys::component]` on it, and build with `cargo build --target wasm32-wasip2`
//! (or `airssys build`). The result is a WebAssembly component that any Rust application can
//! run safely with `airssys_host::load`.
//!
//! ```
//! use airssys::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Greet { name: String }
//!
//! #[derive(serde::Serialize)]
//! struct Greeting { text: String, count: u64 }
//!
//! #[derive(Default)]
//! struct Greeter { count: u64 }
//!
//! #[airssys::component(name = "greeter", version = "0.1.0")]
//! impl Component for Greeter {
//!     fn on_request(&mut self, req: Request) -> Result<Payload> {
//!         let greet: Greet = req.json()?;
//!         self.count += 1;
//!         Payload::json(&Greeting { text: format!("Hello, {}!", greet.name), count: self.count })
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! Each instance keeps one value of your type between calls. Handlers you leave out get
//! defaults (see [`Component`]); leaving out `init` builds the state with `Default`.
//!
//! Capabilities the component needs are declared in the attribute and embedded in the binary,
//! where the host and `airssys inspect` read them:
//!
//! ```
//! # use airssys::prelude::*;
//! # #[derive(Default)] struct Indexer;
//! #[airssys::component(
//!     name = "indexer",
//!     version = "1.2.0",
//!     capabilities(
//!         fs_read("/data/**"),
//!         fs_write("/data/index/*"),
//!         net("api.example.com:443", "*.cdn.example.com:443"),
//!         storage("indexer.>"),
//!         message("search", "thumbnails"),
//!         publish("index.updated"),
//!         subscribe("documents.*"),
//!         process("git log **"),
//!         env("LANG"),
//!     )
//! )]
//! impl Component for Indexer {}
//! # fn main() {}
//! ```
//!
//! `name` and `version` default to the package name and version from `Cargo.toml`.
//! The patterns of each kind are specified in `docs/security.md`.
//!
//! Components talk through [`msg`]: requests and messages to an address, publishes to the
//! subscribers of a topic, each typed with serde if you like (`msg::request_json`).
//!
//! A component's own `cargo test` drives it natively with [`testing::TestHost`], which serves
//! every host API from memory with the host's rules: no wasm build needed.
#![deny(missing_docs)]

extern crate self as airssys;

mod component;
mod config;
pub mod fs;
mod host;
pub mod http;
pub mod log;
mod message;
pub mod msg;
pub mod process;
pub mod storage;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use airssys_contract::{Error, ErrorKind, Health, Payload};
pub use airssys_macros::component;
pub use component::Component;
pub use config::Config;
pub use host::{Identity, identity, now};
pub use message::{Message, Request};

/// `Result` with the airssys domain [`Error`] as the default error.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything a component usually needs: `use airssys::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Component, Config, Error, ErrorKind, Health, Message, Payload, Request, Result,
    };
}
