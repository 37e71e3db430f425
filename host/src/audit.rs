//! Audit: every capability decision, allowed or denied, as an event on the `airssys::audit`
//! tracing target and, when configured, a line in an append-only JSON-lines file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use airssys_contract::CapabilityKind;
use serde::Serialize;

use crate::{Error, Result};

/// Whether a capability check let the call through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The resource matched a declared and a granted pattern.
    Allowed,
    /// It did not; the guest got a `denied` error.
    Denied,
}

/// One capability decision, as written to the audit file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The component's name.
    pub component: String,
    /// The component's version.
    pub version: String,
    /// The capability the call needed.
    pub capability: CapabilityKind,
    /// The resource asked for (a path, `host:port`, topic, namespace or command line).
    pub resource: String,
    /// The decision.
    pub outcome: Outcome,
}

/// Where audit events go: always `tracing`, and a JSON-lines file when the host has one.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    file: Option<Mutex<File>>,
}

impl AuditLog {
    /// Opens (creating if needed) `path` for appending.
    pub(crate) fn to_file(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            file: Some(Mutex::new(file)),
        })
    }

    pub(crate) fn record(
        &self,
        component: &str,
        version: &str,
        capability: CapabilityKind,
        resource: &str,
        outcome: Outcome,
    ) {
        let resource = crate::state::escape_controls(resource);
        match outcome {
            Outcome::Allowed => tracing::info!(
                target: "airssys::audit", component, version, %capability, %resource, outcome = "allowed"
            ),
            Outcome::Denied => tracing::warn!(
                target: "airssys::audit", component, version, %capability, %resource, outcome = "denied"
            ),
        }
        let Some(file) = &self.file else { return };
        let event = AuditEvent {
            time_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            component: component.to_owned(),
            version: version.to_owned(),
            capability,
            resource: resource.into_owned(),
            outcome,
        };
        let mut line = serde_json::to_vec(&event).expect("an audit event always serializes");
        line.push(b'\n');
        // One write per line, under the lock, so concurrent instances never interleave.
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = file.write_all(&line) {
            tracing::error!(target: "airssys::audit", "cannot write the audit file: {err}");
        }
    }
}
