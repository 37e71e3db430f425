//! The one place that calls the host imports.
//!
//! Off wasm (native unit tests of a component, docs) there is no host, so each call falls
//! back to the closest local behaviour instead of aborting.

use std::time::SystemTime;

#[cfg(target_arch = "wasm32")]
use crate::__private::bindings::airssys::core::{host, types};
use crate::log::Level;

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
    Identity {
        name: "native".to_owned(),
        version: "0.0.0".to_owned(),
    }
}

/// The host's wall-clock time.
pub fn now() -> SystemTime {
    #[cfg(target_arch = "wasm32")]
    return crate::__private::from_wit_datetime(host::now());
    #[cfg(not(target_arch = "wasm32"))]
    SystemTime::now()
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
    eprintln!("[{level:?}] {message} {fields:?}");
}

pub(crate) fn config_entries() -> Vec<(String, String)> {
    #[cfg(target_arch = "wasm32")]
    return host::config_entries();
    #[cfg(not(target_arch = "wasm32"))]
    Vec::new()
}

pub(crate) fn report_panic(message: &str, location: Option<&str>) {
    #[cfg(target_arch = "wasm32")]
    host::report_panic(message, location);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (message, location);
}
