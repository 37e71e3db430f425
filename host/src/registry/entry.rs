//! What runs at one address: the versions it keeps, the instances serving it now, and the
//! route between them.
//!
//! What serves an address is one immutable [`Routing`], swapped whole by a deploy: a delivery
//! reads the current one, picks an instance with its [`Route`], and queues the call there. A
//! switch is therefore atomic for every delivery. A deploy waits, after each switch, until the
//! deliveries still under way through the old routing have queued their calls
//! ([`Routing::quiesce`]), so nothing reaches an instance after the deploy told it to stop.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{Notify, mpsc};

use airssys_contract::CapabilityKind;
use tokio::sync::mpsc::error::TrySendError;

use super::release::{Release, VersionInfo, VersionState};
use super::route::Route;
use crate::broker::{Deadline, Refused};
use crate::mail::{Call, Message};
use crate::runtime::{Closed, Mailbox, Shared, Stats};
use crate::{Error, Identity, MemoryUsage, Result, State};

/// One address: everything the registry and handles know about what runs there.
pub(crate) struct Entry {
    address: String,
    routing: ArcSwap<Routing>,
    /// Wakes deliveries waiting while a routing is held.
    changed: Notify,
    /// Numbers deliveries for the route.
    turn: AtomicU64,
    /// Every version kept here, oldest first.
    releases: Mutex<Vec<Arc<Release>>>,
    next_id: AtomicU64,
    /// Set by a shutdown: a deploy under way gives up instead of switching.
    closing: AtomicBool,
    /// The deploy under way, if any.
    deploy: Mutex<Option<Steering>>,
}

/// What serves an address at one moment: the versions, the instances of each that take
/// deliveries, and how deliveries are spread over them.
pub(crate) struct Routing {
    pub(crate) groups: Vec<Group>,
    pub(crate) route: Route,
    /// Deliveries wait instead of queueing, until the next switch (a handover of state is
    /// under way: nothing may reach either version meanwhile).
    pub(crate) held: bool,
    /// Instances per group, as the route reads them.
    counts: Vec<usize>,
    senders: Senders,
}

/// A version's instances that take deliveries.
#[derive(Clone)]
pub(crate) struct Group {
    pub(crate) release: Arc<Release>,
    pub(crate) slots: Vec<Arc<Slot>>,
}

/// One instance: where its deliveries go and what it shares.
pub(crate) struct Slot {
    pub(crate) mailbox: Mailbox,
    pub(crate) shared: Arc<Shared>,
}

/// The deploy under way at an address, and how the operator steers it.
pub(crate) struct Steering {
    /// The version it brings in (`name@version`).
    pub(crate) version: String,
    pub(crate) orders: mpsc::UnboundedSender<Order>,
}

/// What the operator tells a deploy under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Give the canary all the traffic.
    Promote,
    /// Give up, and leave the old version serving.
    Abort,
}

/// One running (or stopped) component, from [`Host::components`](crate::Host::components)
/// or [`ComponentHandle::info`](crate::ComponentHandle::info).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComponentInfo {
    /// Its address, and the manifest name and version and content hash of the version
    /// serving it.
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
    /// How many versions it keeps (serving, canary, standby for rollback).
    pub versions: usize,
    /// Whether a deploy is under way.
    pub deploying: bool,
    /// Calls waiting in its mailboxes; never more than the mailbox capacity per instance.
    pub queued: usize,
}

impl Entry {
    /// An address served by `release`'s `slots`, round-robin.
    pub(crate) fn new(release: Arc<Release>, slots: Vec<Arc<Slot>>) -> Self {
        let next_id = release.id + 1;
        Self {
            address: release.identity.address.clone(),
            routing: ArcSwap::from_pointee(Routing::new(
                vec![Group {
                    release: release.clone(),
                    slots,
                }],
                Route::RoundRobin,
            )),
            changed: Notify::new(),
            turn: AtomicU64::new(0),
            releases: Mutex::new(vec![release]),
            next_id: AtomicU64::new(next_id),
            closing: AtomicBool::new(false),
            deploy: Mutex::new(None),
        }
    }

    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// What serves the address now.
    pub(crate) fn routing(&self) -> Arc<Routing> {
        self.routing.load_full()
    }

    /// Makes `routing` the one deliveries go through, waking those waiting on a held one,
    /// and returns the one it replaces: [`quiesce`](Routing::quiesce) it before telling its
    /// instances to stop.
    pub(crate) fn switch(&self, routing: Routing) -> Arc<Routing> {
        let old = self.routing.swap(Arc::new(routing));
        self.changed.notify_waiters();
        old
    }

    /// Queues `call` for the instance the route picks, waiting for room until `deadline`
    /// (`None`: as long as it takes; the caller may stop waiting, which withdraws the call).
    /// A call that meets a mailbox closed by a switch goes through the new routing; one whose
    /// instance stopped for good goes to the next instance of a pool, or fails with
    /// [`Error::Stopped`]. A body over the version's `max_payload` is refused first.
    pub(crate) async fn deliver(&self, call: Call, deadline: Option<&mut Deadline>) -> Result<()> {
        match deadline {
            None => self.route(call).await,
            Some(deadline) => match deadline.bound(self.route(call)).await {
                Some(delivered) => delivered,
                None => {
                    let routing = self.routing.load();
                    Err(Error::MailboxFull {
                        component: self.identity().to_string(),
                        capacity: routing.groups[0].slots[0].mailbox.capacity(),
                        waited: deadline.allowed(),
                    })
                }
            },
        }
    }

    async fn route(&self, mut call: Call) -> Result<()> {
        let mut closed = 0;
        loop {
            let routing = self.routing.load_full();
            if routing.held {
                self.wait_change(&routing).await;
                continue;
            }
            let sending = routing.senders.enter();
            // A switch between the load and `enter` must not go unseen: the deploy would
            // stop the instance without waiting for this call.
            if !Arc::ptr_eq(&routing, &self.routing.load()) {
                continue;
            }
            let ticket = self.turn.fetch_add(1, Ordering::Relaxed);
            let Some((group, slot)) = routing.pick(ticket) else {
                return Err(self.stopped());
            };
            check_size(&call, group)?;
            match slot.mailbox.send(call).await {
                Ok(()) => return Ok(()),
                Err(Closed(back)) => {
                    drop(sending);
                    call = back;
                    if Arc::ptr_eq(&routing, &self.routing.load()) {
                        closed += 1;
                        if closed >= routing.slots().count() {
                            return Err(self.stopped());
                        }
                    }
                }
            }
        }
    }

    /// Offers a published message to the version serving now, without waiting: a
    /// component's subscription goes through its address, so a switch moves it with
    /// everything else. A version whose own patterns do not cover the topic misses it.
    pub(crate) fn try_publish(&self, message: Message) -> Result<(), Refused> {
        let routing = self.routing.load_full();
        if routing.held {
            return Err(Refused::Full(message));
        }
        let _sending = routing.senders.enter();
        if !Arc::ptr_eq(&routing, &self.routing.load()) {
            return Err(Refused::Full(message));
        }
        let ticket = self.turn.fetch_add(1, Ordering::Relaxed);
        let (group, slot) = routing.pick(ticket).ok_or(Refused::Never)?;
        if !subscribes(group, &message)
            || message.payload().body().len() > group.release.max_payload
        {
            return Err(Refused::Never);
        }
        slot.mailbox
            .try_send(Call::Message(message))
            .map_err(|err| match err {
                TrySendError::Full(Call::Message(message)) => Refused::Full(message),
                _ => Refused::Never,
            })
    }

    /// Offers a published message, waiting until `deadline` for room; true when taken.
    pub(crate) async fn publish(&self, message: Message, deadline: &mut Deadline) -> bool {
        let routing = self.routing.load();
        let wanted = routing
            .groups
            .iter()
            .any(|group| subscribes(group, &message));
        wanted
            && self
                .deliver(Call::Message(message), Some(deadline))
                .await
                .is_ok()
    }

    async fn wait_change(&self, routing: &Arc<Routing>) {
        let changed = self.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if Arc::ptr_eq(routing, &self.routing.load()) {
            changed.await;
        }
    }

    /// Calls waiting in its instances' mailboxes.
    pub(crate) fn queued(&self) -> usize {
        self.slots().iter().map(|s| s.mailbox.queued()).sum()
    }

    /// Why a call could not reach it: it stopped, and the reason it gave.
    pub(crate) fn stopped(&self) -> Error {
        let primary = self.primary();
        Error::Stopped {
            component: primary.shared.identity().to_string(),
            reason: primary
                .shared
                .stop_reason()
                .unwrap_or_else(|| "its task ended".to_owned()),
        }
    }

    /// The first instance of the first serving version: whose state callers meet.
    fn primary(&self) -> Arc<Slot> {
        let routing = self.routing.load();
        // Routings are built with at least one instance.
        routing.groups[0].slots[0].clone()
    }

    /// The version serving the address (the stable one during a canary).
    pub(crate) fn current(&self) -> Arc<Release> {
        self.routing.load().groups[0].release.clone()
    }

    /// Every instance serving now.
    pub(crate) fn slots(&self) -> Vec<Arc<Slot>> {
        self.routing.load().slots().cloned().collect()
    }

    pub(crate) fn identity(&self) -> Arc<Identity> {
        self.current().identity.clone()
    }

    /// The serving instance's state: what a caller would meet.
    pub(crate) fn state(&self) -> State {
        self.primary().shared.state()
    }

    /// Stops a deploy under way from switching; [`ComponentHandle::shutdown`] sets it.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Release);
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn stats(&self) -> Stats {
        sum_stats(&self.slots())
    }

    pub(crate) fn memory(&self) -> MemoryUsage {
        self.slots()
            .iter()
            .map(|s| s.shared.memory())
            .fold(MemoryUsage::default(), |sum, m| MemoryUsage {
                current: sum.current + m.current,
                peak: sum.peak + m.peak,
            })
    }

    pub(crate) fn info(&self) -> ComponentInfo {
        let slots = self.slots();
        ComponentInfo {
            identity: Identity::clone(&self.identity()),
            state: self.state(),
            uptime: slots
                .iter()
                .map(|s| s.shared.uptime())
                .max()
                .unwrap_or_default(),
            stats: sum_stats(&slots),
            memory: self.memory(),
            instances: slots.len(),
            versions: self.lock_releases().len(),
            deploying: self.lock_deploy().is_some(),
            queued: self.queued(),
        }
    }

    /// A number for the next version kept here.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Keeps `release` among the versions (once).
    pub(crate) fn keep(&self, release: &Arc<Release>) {
        let mut releases = self.lock_releases();
        if !releases.iter().any(|r| Arc::ptr_eq(r, release)) {
            releases.push(release.clone());
        }
    }

    /// Every version kept, oldest first.
    pub(crate) fn releases(&self) -> Vec<Arc<Release>> {
        self.lock_releases().clone()
    }

    /// Forgets version `id`: its code is freed once nothing runs it.
    pub(crate) fn forget(&self, id: u64) -> Option<Arc<Release>> {
        let mut releases = self.lock_releases();
        let at = releases.iter().position(|r| r.id == id)?;
        Some(releases.remove(at))
    }

    /// What each kept version is and does, oldest first.
    pub(crate) fn versions(&self) -> Vec<VersionInfo> {
        let routing = self.routing.load();
        self.releases()
            .iter()
            .map(|release| {
                let slots: Vec<Arc<Slot>> = routing
                    .groups
                    .iter()
                    .filter(|g| Arc::ptr_eq(&g.release, release))
                    .flat_map(|g| g.slots.iter().cloned())
                    .collect();
                VersionInfo {
                    id: release.id,
                    identity: Identity::clone(&release.identity),
                    source: release.source.clone(),
                    loaded_at: release.loaded_at,
                    signature: release.signature.clone(),
                    state: release.state(),
                    instances: slots.len(),
                    stats: sum_stats(&slots),
                }
            })
            .collect()
    }

    /// Claims the address for a deploy of `version`; refused while another is under way.
    pub(crate) fn begin_deploy(&self, version: &str) -> Result<mpsc::UnboundedReceiver<Order>> {
        let mut deploy = self.lock_deploy();
        if let Some(under_way) = &*deploy {
            return Err(Error::DeployInProgress {
                address: self.address.clone(),
                version: under_way.version.clone(),
            });
        }
        let (orders, receiver) = mpsc::unbounded_channel();
        *deploy = Some(Steering {
            version: version.to_owned(),
            orders,
        });
        Ok(receiver)
    }

    /// The deploy under way is over.
    pub(crate) fn end_deploy(&self) {
        *self.lock_deploy() = None;
    }

    /// Tells the deploy under way `order`.
    pub(crate) fn steer(&self, order: Order) -> Result<()> {
        let deploy = self.lock_deploy();
        let sent = deploy
            .as_ref()
            .is_some_and(|steering| steering.orders.send(order).is_ok());
        if sent {
            Ok(())
        } else {
            Err(Error::NoDeploy {
                address: self.address.clone(),
            })
        }
    }

    /// The version a rollback returns to: the newest kept one that is not serving.
    pub(crate) fn previous(&self) -> Option<Arc<Release>> {
        let current = self.current();
        self.releases().into_iter().rev().find(|release| {
            !Arc::ptr_eq(release, &current)
                && matches!(
                    release.state(),
                    VersionState::Standby | VersionState::Draining
                )
        })
    }

    fn lock_releases(&self) -> MutexGuard<'_, Vec<Arc<Release>>> {
        // The list stays consistent even if a holder panicked, so poisoning is ignored.
        self.releases.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_deploy(&self) -> MutexGuard<'_, Option<Steering>> {
        self.deploy.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Routing {
    pub(crate) fn new(groups: Vec<Group>, route: Route) -> Self {
        Self {
            counts: groups.iter().map(|g| g.slots.len()).collect(),
            groups,
            route,
            held: false,
            senders: Senders::default(),
        }
    }

    /// The same versions and instances, with deliveries held until the next switch.
    pub(crate) fn held(&self) -> Self {
        Self {
            held: true,
            ..Self::new(self.groups.clone(), self.route)
        }
    }

    /// Every instance, of every version.
    pub(crate) fn slots(&self) -> impl Iterator<Item = &Arc<Slot>> {
        self.groups.iter().flat_map(|g| &g.slots)
    }

    /// Waits until no delivery is still queueing a call through this routing. Called on a
    /// routing a switch replaced, it means every call sent through it is in a mailbox.
    pub(crate) async fn quiesce(&self) {
        self.senders.quiesce().await;
    }

    fn pick(&self, ticket: u64) -> Option<(&Group, &Arc<Slot>)> {
        let (group, slot) = self.route.pick(ticket, &self.counts)?;
        let group = &self.groups[group];
        Some((group, &group.slots[slot]))
    }
}

/// Counts deliveries under way through one routing.
#[derive(Default)]
struct Senders {
    count: AtomicUsize,
    idle: Notify,
}

/// One delivery under way; dropping it counts it out.
struct Sending<'a>(&'a Senders);

impl Senders {
    fn enter(&self) -> Sending<'_> {
        // SeqCst, with the switch's swap: either `quiesce` sees this delivery, or the
        // delivery sees the switch (and retries through the new routing).
        self.count.fetch_add(1, Ordering::SeqCst);
        Sending(self)
    }

    async fn quiesce(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

fn check_size(call: &Call, group: &Group) -> Result<()> {
    let Some((size, direction)) = call.body() else {
        return Ok(());
    };
    let limit = group.release.max_payload;
    if size > limit {
        return Err(Error::PayloadTooLarge {
            component: group.release.identity.to_string(),
            direction,
            size,
            limit,
        });
    }
    Ok(())
}

/// Whether `group`'s version subscribes to the topic `message` was published on.
fn subscribes(group: &Group, message: &Message) -> bool {
    let topic = message.topic().unwrap_or_default();
    group
        .release
        .subscriptions
        .iter()
        .any(|pattern| CapabilityKind::Subscribe.matches(pattern, topic))
}

fn sum_stats(slots: &[Arc<Slot>]) -> Stats {
    slots
        .iter()
        .map(|s| s.shared.stats())
        .fold(Stats::default(), |sum, s| sum + s)
}
