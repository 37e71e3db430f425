//! The one place that calls the host imports.
//!
//! Off wasm there is no host: each call is served by the test host of the current call
//! (`airssys::testing`), or else falls back to the closest local behaviour instead of
//! aborting.

use std::time::SystemTime;

#[cfg(target_arch = "wasm32")]
use crate::__private::bindings::airssys::core::{host, types};
use crate::log::Level;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::scope;

/// The identity an instance runs under: its manifest's name and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The component's kebab-case name.
    pub name: String,
    /// The component's semantic version.
    pub version: String,
}

/// The identity this instance runs under.
pub fn identity() -> Identity {
    #[cfg(target_arch = "wasm32")]
    {
        let id = host::identity();
        Identity {
            name: id.name,
            version: id.version,
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    match scope::current() {
        Some(scope) => Identity {
            name: scope.guest.name.clone(),
            version: scope.guest.version.clone(),
        },
        None => Identity {
            name: "native".to_owned(),
            version: "0.0.0".to_owned(),
        },
    }
}

/// The host's wall-clock time (under `airssys::testing`, the test host's clock).
pub fn now() -> SystemTime {
    #[cfg(target_arch = "wasm32")]
    return crate::__private::from_wit_datetime(host::now());
    #[cfg(not(target_arch = "wasm32"))]
    scope::current().map_or_else(SystemTime::now, |scope| scope.host.clock.now())
}

pub(crate) fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    #[cfg(target_arch = "wasm32")]
    {
        let level = match level {
            Level::Trace => types::LogLevel::Trace,
            Level::Debug => types::LogLevel::Debug,
            Level::Info => types::LogLevel::Info,
            Level::Warn => types::LogLevel::Warn,
            Level::Error => types::LogLevel::Error,
        };
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        host::log(level, message, &fields);
    }
    #[cfg(not(target_arch = "wasm32"))]
    match scope::current() {
        Some(scope) => scope.host.logs.borrow_mut().push(crate::testing::LogLine {
            level,
            message: message.to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }),
        None => eprintln!("[{level:?}] {message} {fields:?}"),
    }
}

pub(crate) fn config_entries() -> Vec<(String, String)> {
    #[cfg(target_arch = "wasm32")]
    return host::config_entries();
    #[cfg(not(target_arch = "wasm32"))]
    scope::current().map_or_else(Vec::new, |scope| scope.guest.config.clone())
}

/// Tells the host why the instance is about to trap; false when there is nobody to tell
/// (natively, outside the test host), so the panic is reported the usual way.
pub(crate) fn report_panic(message: &str, location: Option<&str>) -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        host::report_panic(message, location);
        true
    }
    #[cfg(not(target_arch = "wasm32"))]
    match scope::current() {
        Some(scope) => {
            *scope.guest.panic.borrow_mut() = Some(crate::testing::Panic {
                message: message.to_owned(),
                location: location.map(str::to_owned),
            });
            true
        }
        None => false,
    }
}
