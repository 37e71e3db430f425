//! Test a component natively, in a plain `#[test]`, in seconds: no wasm build, no host.
//!
//! A [`TestHost`] drives the component type through the glue the host calls (the functions
//! `#[airssys::component]` exports), and serves every host API the component calls from
//! memory: configuration, logs, a clock the test moves, files in a temporary directory,
//! scripted programs, canned HTTP responses, scripted components to message and request, and
//! storage with the host's own rules. It decides capabilities as the host does (declared and
//! granted, under a [`Mode`]), so a refusal is the same error with the same message; a panic is
//! a trap, a domain error stays a domain error.
//!
//! ```
//! use airssys::prelude::*;
//! use airssys::testing::{CapabilityKind, TestHost};
//!
//! #[derive(serde::Deserialize)]
//! struct Visit { page: String }
//!
//! struct Visits { greeting: String }
//!
//! #[airssys::component(name = "visits", version = "0.1.0", capabilities(storage("visits")))]
//! impl Component for Visits {
//!     fn init(config: &Config) -> Result<Self> {
//!         Ok(Visits { greeting: config.get_or("greeting", "Hello").to_owned() })
//!     }
//!
//!     fn on_request(&mut self, req: Request) -> Result<Payload> {
//!         let Visit { page } = req.json()?;
//!         let count = airssys::storage::open("visits")?.increment(&page, 1)?;
//!         Ok(Payload::text(format!("{} visitor {count} of {page}", self.greeting)))
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = TestHost::new()
//!     .config("greeting", "Hi")
//!     .grant(CapabilityKind::Storage, "visits");
//! let mut visits = host.start::<Visits>()?;
//! let reply = visits.request(Payload::json(&serde_json::json!({ "page": "/" }))?)?;
//! assert_eq!(reply.as_text()?, "Hi visitor 1 of /");
//! assert_eq!(host.stored("visits", "/")?, Some(b"1".to_vec()));
//! # Ok(()) }
//! ```
//!
//! What differs from the host, by design: calls run one at a time on the test's thread, with no
//! deadlines, fuel or memory limits; a trap restarts the component at the next call at once;
//! names in URLs are not resolved; files are the test's own (no symlink or hard-link checks);
//! messages go to the components the test scripted, not to real ones. The standard library is
//! not served (`std::fs`, `std::net`, `std::time::SystemTime::now`, `println!`): use the
//! `airssys` APIs (`airssys::now` follows the test's clock). Test a built component against
//! the real host with `airssys_host::testing`.

mod error;
pub(crate) mod files;
mod host;
pub(crate) mod http;
mod logs;
pub(crate) mod msg;
pub(crate) mod process;
mod running;
pub(crate) mod scope;
pub(crate) mod storage;

pub use airssys_contract::storage::Quota;
pub use airssys_contract::{CapabilityKind, Mode};
pub use error::{CallError, Panic};
pub use host::{START_TIME, TestHost};
pub use http::SentRequest;
pub use logs::LogLine;
pub use msg::Outgoing;
pub use process::RanCommand;
pub use running::Running;
