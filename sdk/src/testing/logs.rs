//! What components logged under the test host.

use std::fmt;

use crate::log::Level;

/// One `airssys::log` event, as the host would log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: Level,
    /// The message.
    pub message: String,
    /// The structured fields, in order.
    pub fields: Vec<(String, String)>,
}

impl fmt::Display for LogLine {
    /// `INFO message k="v"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        write!(f, "{level} {}", self.message)?;
        for (key, value) in &self.fields {
            write!(f, " {key}={value:?}")?;
        }
        Ok(())
    }
}
