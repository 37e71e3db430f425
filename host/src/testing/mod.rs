//! End-to-end tests of built components against the real host, in a few lines.
//!
//! [`TestHost`] is a [`Host`](crate::Host) preset: storage in memory, a loopback-only network,
//! and a [`TestClock`] the test moves (WASI's clocks, `airssys::now` and message timestamps
//! follow it). [`build`] compiles a component crate for wasm32-wasip2 once per process, and
//! [`TestHost::load_crate`] builds and starts it.
//!
//! For a component's fast native tests, with no wasm build at all, see `airssys::testing`
//! in the SDK: it drives the component type directly with the host's rules.

mod clock;
mod host;

pub use clock::{START_TIME, TestClock};
pub use host::{LoadCrateError, TestHost, build, build_with};
