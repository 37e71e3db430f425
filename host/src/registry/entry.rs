//! What runs at one address: its versions, each with its instances, and the route between
//! them.

use std::sync::Arc;
use std::time::Duration;

use airssys_contract::Manifest;

use super::route::Route;
use crate::broker::Deadline;
use crate::mail::Call;
use crate::policy::EffectiveCapabilities;
use crate::runtime::{Mailbox, Shared, Stats};
use crate::{Error, Identity, MemoryUsage, Result, State};

/// One address: everything the registry and handles know about what runs there.
pub(crate) struct Entry {
    versions: Vec<Version>,
    route: Route,
}

/// One version of the component at an address.
pub(crate) struct Version {
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) capabilities: Arc<EffectiveCapabilities>,
    /// Largest request body its instances accept.
    pub(crate) max_payload: usize,
    pub(crate) instances: Vec<Slot>,
}

/// One instance of a version: where its deliveries go and what it shares.
pub(crate) struct Slot {
    pub(crate) mailbox: Mailbox,
    pub(crate) shared: Arc<Shared>,
}

/// One running (or stopped) component, from [`Host::components`](crate::Host::components)
/// or [`ComponentHandle::info`](crate::ComponentHandle::info).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComponentInfo {
    /// Its address, manifest name and version, and content hash.
    pub identity: Identity,
    /// Where it is in its life.
    pub state: State,
    /// Time since it first started; zero once it stopped.
    pub uptime: Duration,
    /// Its counters, summed over its instances.
    pub stats: Stats,
    /// Its linear memory, summed over its instances.
    pub memory: MemoryUsage,
    /// How many instances serve it.
    pub instances: usize,
    /// Calls waiting in its mailboxes; never more than the mailbox capacity per instance.
    pub queued: usize,
}

impl Entry {
    /// An address served by one version with one instance.
    pub(crate) fn single(version: Version) -> Self {
        Self {
            versions: vec![version],
            route: Route::Single,
        }
    }

    /// The instance the next delivery goes to.
    pub(crate) fn pick(&self) -> &Slot {
        let counts = self.versions.iter().map(|v| v.instances.len());
        let (version, instance) = self.route.pick(counts).unwrap_or((0, 0));
        // Entries are built with at least one instance, so (0, 0) always exists.
        &self.versions[version].instances[instance]
    }

    /// Queues `call` in the routed instance's mailbox, waiting for room until `deadline`
    /// (`None`: as long as it takes; the caller may stop waiting, which withdraws the call).
    /// A body over the version's `max_payload` is refused before anything is queued.
    pub(crate) async fn deliver(&self, call: Call, deadline: Option<&mut Deadline>) -> Result<()> {
        if let Some((size, direction)) = call.body() {
            let limit = self.current().max_payload;
            if size > limit {
                return Err(Error::PayloadTooLarge {
                    component: self.identity().to_string(),
                    direction,
                    size,
                    limit,
                });
            }
        }
        let mailbox = &self.pick().mailbox;
        let Some(deadline) = deadline else {
            return mailbox.send(call).await.map_err(|_| self.stopped());
        };
        match deadline.bound(mailbox.send(call)).await {
            Some(sent) => sent.map_err(|_| self.stopped()),
            None => Err(Error::MailboxFull {
                component: self.identity().to_string(),
                capacity: mailbox.capacity(),
                waited: deadline.allowed(),
            }),
        }
    }

    /// Why a call could not reach it: it stopped, and the reason it gave.
    pub(crate) fn stopped(&self) -> Error {
        Error::Stopped {
            component: self.identity().to_string(),
            reason: self
                .pick()
                .shared
                .stop_reason()
                .unwrap_or_else(|| "its task ended".to_owned()),
        }
    }

    /// Calls waiting in its instances' mailboxes.
    pub(crate) fn queued(&self) -> usize {
        self.slots().map(|s| s.mailbox.queued()).sum()
    }

    /// The version deliveries currently go to.
    pub(crate) fn current(&self) -> &Version {
        &self.versions[0]
    }

    /// Every instance of every version.
    pub(crate) fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.versions.iter().flat_map(|v| &v.instances)
    }

    pub(crate) fn identity(&self) -> &Arc<Identity> {
        self.pick().shared.identity()
    }

    /// The routed instance's state: what a caller would meet.
    pub(crate) fn state(&self) -> State {
        self.pick().shared.state()
    }

    pub(crate) fn stats(&self) -> Stats {
        self.slots()
            .map(|s| s.shared.stats())
            .fold(Stats::default(), |sum, s| sum + s)
    }

    pub(crate) fn memory(&self) -> MemoryUsage {
        self.slots()
            .map(|s| s.shared.memory())
            .fold(MemoryUsage::default(), |sum, m| MemoryUsage {
                current: sum.current + m.current,
                peak: sum.peak + m.peak,
            })
    }

    pub(crate) fn info(&self) -> ComponentInfo {
        ComponentInfo {
            identity: Identity::clone(self.identity()),
            state: self.state(),
            uptime: self
                .slots()
                .map(|s| s.shared.uptime())
                .max()
                .unwrap_or_default(),
            stats: self.stats(),
            memory: self.memory(),
            instances: self.slots().count(),
            queued: self.queued(),
        }
    }
}
