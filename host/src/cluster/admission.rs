//! The receiving host's say over deliveries from other hosts: `[cluster] remote`.
//!
//! The sending host checked its component's grants already. This is the second check, under
//! the control of this host's operator: may that sender, on that host, reach this address or
//! topic here? Each decision goes through a [`Gate`], so it is audited and counted like a
//! local one.

use std::collections::BTreeMap;
use std::sync::Arc;

use airssys_contract::{Capabilities, CapabilityKind};

use super::config::REMOTE_HOST;
use crate::metrics::Metrics;
use crate::policy::{AuditLog, EffectiveCapabilities, Gate, Mode};
use crate::{Error, Identity, Result};

/// One gate per listed sender, and one that refuses every sender not listed.
pub(crate) struct Admission {
    /// This host's name, for the refusal.
    host: String,
    listed: BTreeMap<String, Gate>,
    unlisted: Gate,
}

/// The version remote senders are audited under: `checkout@remote`.
const REMOTE_VERSION: &str = "remote";

impl Admission {
    pub(crate) fn new(
        host: &str,
        remote: &BTreeMap<String, Capabilities>,
        audit: &Arc<AuditLog>,
        metrics: &Arc<Metrics>,
    ) -> Result<Self> {
        let gate = |sender: &str, grants: &Capabilities| -> Result<Gate> {
            let identity = Arc::new(Identity::new(
                sender.to_owned(),
                sender,
                REMOTE_VERSION,
                String::new(),
            ));
            let capabilities = EffectiveCapabilities::decide(grants, grants, Mode::Strict)
                .map_err(|_| {
                    Error::Config(format!(
                        "[cluster] remote: the grants of `{sender}` are inconsistent"
                    ))
                })?;
            let metrics = metrics.component(&identity);
            Ok(Gate::new(
                identity,
                Arc::new(capabilities),
                audit.clone(),
                metrics,
            ))
        };
        let listed = remote
            .iter()
            .map(|(sender, grants)| Ok((sender.clone(), gate(sender, grants)?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            host: host.to_owned(),
            listed,
            unlisted: gate("unlisted", &Capabilities::default())?,
        })
    }

    /// Whether `source` (none: the sending host itself) on host `from` may use `kind` on
    /// `resource` here; a refusal is [`Error::Denied`] naming this host.
    pub(crate) fn check(
        &self,
        source: Option<&str>,
        from: &str,
        kind: CapabilityKind,
        resource: &str,
    ) -> Result<()> {
        let sender = source.unwrap_or(REMOTE_HOST);
        let denied = |reason: String| Error::Denied {
            host: self.host.clone(),
            reason,
        };
        match self.listed.get(sender) {
            Some(gate) => gate.check(kind, resource).map_err(|denied_here| {
                denied(format!("from host `{from}`: {}", denied_here.message))
            }),
            None => {
                let asked = format!("{sender} on {from}");
                let refused = self.unlisted.deny_asked(
                    kind,
                    resource,
                    Some(asked.as_str()),
                    format!(
                        "`{sender}` on host `{from}` may reach nothing here: it is not listed in [cluster] remote"
                    ),
                );
                Err(denied(refused.message))
            }
        }
    }
}
