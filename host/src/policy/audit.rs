//! Audit: every capability decision, allowed or denied, as an event on the `airssys::audit`
//! tracing target, when configured a line in an append-only JSON-lines file, and, while
//! someone watches ([`Host::audit_events`](crate::Host::audit_events)), a broadcast.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use airssys_contract::CapabilityKind;
use serde::Serialize;
use tokio::sync::broadcast;

use super::escape_controls;
use crate::{Error, Identity, Result};

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
#[non_exhaustive]
pub struct AuditEvent {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The operator's name for the component (see [`Identity::address`]).
    pub address: String,
    /// The name the component's manifest declares.
    pub component: String,
    /// The version the component's manifest declares.
    pub version: String,
    /// The SHA-256 of the component's bytes, 64 hex digits.
    pub hash: String,
    /// The capability the call needed.
    pub capability: CapabilityKind,
    /// The resource decided on (a path, `host:port`, topic, namespace or command line), in
    /// canonical form: a numeric host as the address it is (`127.0.0.1:80`).
    pub resource: String,
    /// The resource as the guest asked for it, when that differs from `resource`: a numeric
    /// host in another notation (`0x7f000001:80`), or the name an address was resolved from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    /// The decision.
    pub outcome: Outcome,
}

/// Where audit events go: always `tracing`, a JSON-lines file when the host has one, and
/// the watchers subscribed at the moment.
#[derive(Debug)]
pub(crate) struct AuditLog {
    file: Option<Mutex<File>>,
    watchers: broadcast::Sender<AuditEvent>,
}

/// Decisions kept for a slow watcher before it starts missing the oldest.
const WATCH_BUFFER: usize = 256;

impl Default for AuditLog {
    fn default() -> Self {
        Self {
            file: None,
            watchers: broadcast::channel(WATCH_BUFFER).0,
        }
    }
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
            ..Self::default()
        })
    }

    /// Every decision from now on.
    pub(crate) fn watch(&self) -> broadcast::Receiver<AuditEvent> {
        self.watchers.subscribe()
    }

    /// Records one decision; called only by the [`Gate`](super::Gate).
    pub(crate) fn record(
        &self,
        who: &Identity,
        capability: CapabilityKind,
        resource: &str,
        asked: Option<&str>,
        outcome: Outcome,
    ) {
        let traced = match outcome {
            Outcome::Allowed => tracing::enabled!(target: "airssys::audit", tracing::Level::INFO),
            Outcome::Denied => tracing::enabled!(target: "airssys::audit", tracing::Level::WARN),
        };
        // Escaping scans every character; skip it when nobody would read the line (the hot
        // path of an allowed call on a host that logs no audit events).
        let watched = self.watchers.receiver_count() > 0;
        if self.file.is_none() && !traced && !watched {
            return;
        }
        let resource = escape_controls(resource);
        let asked = asked.map(|a| escape_controls(a).into_owned());
        let (address, component, version, hash) =
            (&who.address, &who.name, &who.version, &who.hash);
        match outcome {
            Outcome::Allowed => tracing::info!(
                target: "airssys::audit", address, component, version, hash, %capability, %resource, asked, outcome = "allowed"
            ),
            Outcome::Denied => tracing::warn!(
                target: "airssys::audit", address, component, version, hash, %capability, %resource, asked, outcome = "denied"
            ),
        }
        if self.file.is_none() && !watched {
            return;
        }
        let event = AuditEvent {
            time_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            address: address.clone(),
            component: component.clone(),
            version: version.clone(),
            hash: hash.clone(),
            capability,
            resource: resource.into_owned(),
            asked,
            outcome,
        };
        if watched {
            // No watcher left is fine: it stopped watching.
            let _ = self.watchers.send(event.clone());
        }
        let Some(file) = &self.file else { return };
        let mut line = serde_json::to_vec(&event).expect("an audit event always serializes");
        line.push(b'\n');
        // One write per line, under the lock, so concurrent instances never interleave.
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = file.write_all(&line) {
            tracing::error!(target: "airssys::audit", "cannot write the audit file: {err}");
        }
    }
}
