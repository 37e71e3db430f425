//! Structured logging to the host.
//!
//! Events go to the host's `tracing` subscriber, tagged with the component's name and
//! version. `println!` and `eprintln!` also reach the host log, line by line, but these
//! carry a level and fields.
//!
//! ```
//! use airssys::log::{self, Level};
//! airssys::info!("processed {} items", 3);
//! log::log(Level::Warn, "slow reply", &[("elapsed_ms", "250")]);
//! ```

/// Severity of a log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Diagnostics for developers.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the component handled.
    Warn,
    /// A failure.
    Error,
}

/// Emits `message` at `level` with structured `fields`.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    crate::host::log(level, message, fields);
}

/// Logs a formatted message at `trace` level.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Trace, &::std::format!($($arg)+), &[]) };
}

/// Logs a formatted message at `debug` level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+), &[]) };
}

/// Logs a formatted message at `info` level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+), &[]) };
}

/// Logs a formatted message at `warn` level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+), &[]) };
}

/// Logs a formatted message at `error` level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+), &[]) };
}
