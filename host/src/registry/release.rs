//! A version an address holds: its compiled code ready to start, what its instances start
//! with, its record (semver, hash, source, load time, signatures) and its lifecycle.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use airssys_contract::{CapabilityKind, Manifest};
use serde::Serialize;
use tokio::sync::broadcast;

use super::{Entry, Slot};
use crate::broker::{Sink, SubscriptionGuard};
use crate::metrics::Metrics;
use crate::policy::{AuditLog, EffectiveCapabilities, Gate};
use crate::runtime::{Actor, Blueprint, Inbox, Instance, Mailbox, Shared, Stats};
use crate::totals::InstancePermit;
use crate::{
    Error, Event, EventKind, Identity, LoadOptions, Result, SignatureStatus, State, Supervision,
};

/// Where a version is in its life at an address. Every change is an [`Event`] of kind
/// [`EventKind::Version`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VersionState {
    /// Its instances are starting, being health-checked or taking state over, while the
    /// version before it serves.
    Deploying,
    /// Serving a share of traffic beside the serving version.
    Canary,
    /// Serving the address.
    Serving,
    /// Replaced: finishing the calls queued for it, then stopping.
    Draining,
    /// Not running, kept compiled: [`Host::rollback`](crate::Host::rollback) returns to it
    /// without compiling.
    Standby,
    /// A deploy of it failed or was aborted; kept compiled, not running.
    Failed,
    /// Forgotten by the operator ([`Host::retire`](crate::Host::retire)): its code is freed.
    Retired,
}

impl std::fmt::Display for VersionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Deploying => "deploying",
            Self::Canary => "canary",
            Self::Serving => "serving",
            Self::Draining => "draining",
            Self::Standby => "standby",
            Self::Failed => "failed",
            Self::Retired => "retired",
        })
    }
}

/// One version kept at an address, from [`Host::versions`](crate::Host::versions).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// Its number at the address: 1 for the first version started there, then one more for
    /// each version deployed.
    pub id: u64,
    /// Address, manifest name and version, content hash.
    pub identity: Identity,
    /// Where its bytes came from: the file, or the label given with them.
    pub source: String,
    /// When the host loaded it.
    pub loaded_at: SystemTime,
    /// What its signatures are worth to this host.
    pub signature: SignatureStatus,
    /// Where it is in its life.
    pub state: VersionState,
    /// Its instances serving now (0 when not running).
    pub instances: usize,
    /// Counters over its instances serving now.
    pub stats: Stats,
}

/// A version an address holds.
pub(crate) struct Release {
    /// Its number at the address.
    pub(crate) id: u64,
    pub(crate) identity: Arc<Identity>,
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) capabilities: Arc<EffectiveCapabilities>,
    /// The compiled code and everything an instance starts with: a restart, a pool's
    /// instances and a rollback all start from it.
    pub(crate) blueprint: Arc<Blueprint>,
    pub(crate) supervision: Supervision,
    /// How many instances serve it: more than one makes a pool.
    pub(crate) instances: usize,
    /// Largest request body its instances accept.
    pub(crate) max_payload: usize,
    /// Its effective `subscribe` patterns: each instance subscribes to them, in the address's
    /// group, and publishes reach whichever version serves when they are delivered.
    pub(crate) subscriptions: Vec<String>,
    pub(crate) source: String,
    pub(crate) loaded_at: SystemTime,
    pub(crate) signature: SignatureStatus,
    pub(crate) host: Kit,
    /// What it was started with: a deploy without options of its own reuses them.
    pub(crate) options: LoadOptions,
    state: Mutex<VersionState>,
}

/// What starting an instance needs from its host.
#[derive(Clone)]
pub(crate) struct Kit {
    pub(crate) audit: Arc<AuditLog>,
    /// Where each instance's gate and actor record.
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) mailbox_capacity: usize,
}

/// Everything a [`Release`] is made of, named.
pub(crate) struct ReleaseParts {
    pub(crate) id: u64,
    pub(crate) identity: Arc<Identity>,
    pub(crate) manifest: Arc<Manifest>,
    pub(crate) capabilities: Arc<EffectiveCapabilities>,
    pub(crate) blueprint: Arc<Blueprint>,
    pub(crate) supervision: Supervision,
    pub(crate) instances: usize,
    pub(crate) source: String,
    pub(crate) signature: SignatureStatus,
    pub(crate) host: Kit,
    pub(crate) options: LoadOptions,
}

/// An instance admitted and registered, not yet started: deliveries to its slot wait in the
/// mailbox until [`start`](Self::start) serves them.
pub(crate) struct Unstarted {
    pub(crate) slot: Arc<Slot>,
    inbox: Inbox,
    permit: InstancePermit,
}

impl Release {
    pub(crate) fn new(parts: ReleaseParts, state: VersionState) -> Self {
        Self {
            id: parts.id,
            max_payload: parts.blueprint.limits.max_payload,
            subscriptions: parts
                .capabilities
                .effective()
                .get(CapabilityKind::Subscribe)
                .to_vec(),
            identity: parts.identity,
            manifest: parts.manifest,
            capabilities: parts.capabilities,
            blueprint: parts.blueprint,
            supervision: parts.supervision,
            instances: parts.instances,
            source: parts.source,
            loaded_at: SystemTime::now(),
            signature: parts.signature,
            host: parts.host,
            options: parts.options,
            state: Mutex::new(state),
        }
    }

    pub(crate) fn state(&self) -> VersionState {
        *self.lock()
    }

    /// Moves to `state` and emits the event (with `detail`, e.g. why a deploy failed).
    pub(crate) fn enter(&self, state: VersionState, detail: Option<String>) {
        *self.lock() = state;
        let running = match state {
            VersionState::Failed => State::Failed,
            VersionState::Standby | VersionState::Retired => State::Stopped,
            _ => State::Running,
        };
        // No subscriber is fine: events are for whoever listens.
        let _ = self.host.events.send(Event {
            component: Identity::clone(&self.identity),
            state: running,
            kind: EventKind::Version {
                id: self.id,
                state,
                detail,
            },
        });
    }

    /// Whether instances of it may be running.
    pub(crate) fn runs(&self) -> bool {
        !matches!(
            self.state(),
            VersionState::Standby | VersionState::Failed | VersionState::Retired
        )
    }

    /// Whether a deploy may bring this kept version back instead of making another.
    pub(crate) fn reusable(&self) -> bool {
        matches!(self.state(), VersionState::Standby | VersionState::Failed)
    }

    /// Takes a place among the host's instances and makes the instance's record and mailbox.
    pub(crate) fn admit(&self) -> Result<Unstarted> {
        let permit = self
            .blueprint
            .totals
            .admit()
            .map_err(|limit| Error::HostLimit {
                component: self.identity.to_string(),
                limit,
            })?;
        let gate = Gate::new(
            self.identity.clone(),
            self.capabilities.clone(),
            self.host.audit.clone(),
            self.host.metrics.component(&self.identity),
        );
        let shared = Arc::new(Shared::new(Arc::new(gate), self.host.events.clone()));
        let (mailbox, inbox) = Mailbox::new(self.host.mailbox_capacity);
        Ok(Unstarted {
            slot: Arc::new(Slot { mailbox, shared }),
            inbox,
            permit,
        })
    }

    /// Admits and starts one instance serving `entry`; see [`Unstarted::start`].
    pub(crate) async fn start_instance(&self, entry: &Arc<Entry>) -> Result<Arc<Slot>> {
        let unstarted = self.admit()?;
        let slot = unstarted.slot.clone();
        unstarted.start(self, entry).await?;
        Ok(slot)
    }

    fn lock(&self) -> MutexGuard<'_, VersionState> {
        // A state stays consistent even if a holder panicked, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Unstarted {
    /// Instantiates and runs `init`; then the actor serves the slot, parked until its first
    /// call, and the instance subscribes to its version's patterns in `entry`'s group, until
    /// it stops for good. A failure leaves the slot [`State::Failed`] with the reason.
    pub(crate) async fn start(self, release: &Release, entry: &Arc<Entry>) -> Result<()> {
        let shared = self.slot.shared.clone();
        shared.enter(State::Starting, EventKind::Starting);
        match Instance::start(&release.blueprint, &shared).await {
            Ok(instance) => {
                let subscriptions = subscribe(release, entry);
                shared.enter(State::Running, EventKind::Started);
                let actor = Actor::new(
                    release.blueprint.clone(),
                    shared,
                    release.supervision.clone(),
                    instance,
                    self.permit,
                    subscriptions,
                );
                self.inbox.serve(actor);
                Ok(())
            }
            Err(err) => {
                shared.enter(
                    State::Failed,
                    EventKind::Stopped {
                        reason: format!("it failed to start: {err}"),
                    },
                );
                Err(err)
            }
        }
    }
}

/// One subscription per pattern of `release`, in the group named after `entry`'s address,
/// delivering through the address: a publish reaches one instance of the version serving
/// when it is delivered.
fn subscribe(release: &Release, entry: &Arc<Entry>) -> Vec<SubscriptionGuard> {
    let weak = release.blueprint.broker.clone();
    let Some(broker) = weak.upgrade() else {
        return Vec::new();
    };
    release
        .subscriptions
        .iter()
        .map(|pattern| {
            let sink = Sink::Address(Arc::downgrade(entry));
            let id = broker.subscribe(pattern, Some(entry.address()), sink);
            SubscriptionGuard::new(weak.clone(), id)
        })
        .collect()
}
