//! End-to-end tests of built components against the real host.
//!
//! (Being written.)

mod clock;

pub use clock::{START_TIME, TestClock};
