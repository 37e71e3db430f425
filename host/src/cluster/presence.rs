//! Which host runs what: each host announces the components it runs on its presence subject,
//! at every change and every [`HEARTBEAT`]; a host not heard from for [`EXPIRY`] is gone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::registry::Registry;

/// How often a host announces what it runs, changed or not.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long after its last announcement a host counts as gone (three missed heartbeats).
pub const EXPIRY: Duration = Duration::from_secs(3);

/// What a host announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Announcement {
    pub(crate) host: String,
    pub(crate) components: Vec<PeerComponent>,
    /// Set by a host that stops: forget it at once.
    #[serde(default)]
    pub(crate) leaving: bool,
}

impl Announcement {
    /// What `host` runs now: every address whose component has not stopped.
    pub(crate) fn of(host: &str, registry: &Registry) -> Self {
        let components = registry
            .list()
            .iter()
            .filter(|entry| !entry.state().is_final())
            .map(|entry| {
                let info = entry.info();
                PeerComponent {
                    address: info.identity.address.clone(),
                    component: info.identity.label(),
                    state: info.state.to_string(),
                    instances: info.instances,
                }
            })
            .collect();
        Self {
            host: host.to_owned(),
            components,
            leaving: false,
        }
    }
}

/// A component another host runs, as it announced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PeerComponent {
    /// Its address.
    pub address: String,
    /// `name@version`.
    pub component: String,
    /// Its state there (`running`, `restarting`, ...).
    pub state: String,
    /// Instances serving it there.
    pub instances: usize,
}

/// Another host of the cluster, from [`Host::peers`](crate::Host::peers).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// Its name (`[cluster] host`).
    pub host: String,
    /// What it runs, in address order.
    pub components: Vec<PeerComponent>,
    /// Time since it last announced itself.
    pub last_seen: Duration,
}

/// The other hosts heard from.
#[derive(Default)]
pub(crate) struct Peers {
    seen: Mutex<HashMap<String, (Announcement, Instant)>>,
}

impl Peers {
    /// Takes in an announcement (a leaving host is forgotten).
    pub(crate) fn heard(&self, announcement: Announcement) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if announcement.leaving {
            seen.remove(&announcement.host);
        } else {
            seen.insert(announcement.host.clone(), (announcement, Instant::now()));
        }
    }

    /// The hosts heard from within [`EXPIRY`], by name; forgets the others.
    pub(crate) fn list(&self) -> Vec<PeerInfo> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, (_, at)| at.elapsed() < EXPIRY);
        let mut peers: Vec<PeerInfo> = seen
            .values()
            .map(|(announcement, at)| {
                let mut components = announcement.components.clone();
                components.sort_by(|a, b| a.address.cmp(&b.address));
                PeerInfo {
                    host: announcement.host.clone(),
                    components,
                    last_seen: at.elapsed(),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.host.cmp(&b.host));
        peers
    }
}
