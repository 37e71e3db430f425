//! The actor of one instance: it owns the `Store` and serves calls from its mailbox one at a
//! time, so guest state needs no locks and calls to one instance never interleave. It runs
//! as a task while it has calls and parks in its [`Mailbox`](super::Mailbox) when it has
//! none. After a trap its [`Supervisor`] applies the policy: restart a fresh instance, stop,
//! or escalate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use airssys_contract::Payload;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use super::mailbox::Home;
use super::observe::observe;
use super::{Blueprint, Instance, Shared};
use crate::broker::SubscriptionGuard;
use crate::mail::{Call, Message};
use crate::metrics::CallKind;
use crate::totals::InstancePermit;
use crate::{Error, EventKind, Pending, Result, State, Supervision, Trap};

/// Why an actor whose handles are all gone stops.
const DROPPED: &str = "the host and every handle were dropped";

/// Serves one started instance until it stops for good.
pub(crate) struct Actor {
    instance: Instance,
    supervisor: Supervisor,
    /// Where it parks when idle; gone once every handle and the host are.
    pub(super) home: Weak<Home>,
    /// Set by [`Mailbox::evict`](super::Mailbox::evict): park before the next call.
    pub(super) evicting: Arc<AtomicBool>,
}

/// What outlives each instance of a component: how to make a fresh one, the shared record,
/// the policy and its history, the host's permit for the instance, and its subscriptions.
pub(crate) struct Supervisor {
    blueprint: Arc<Blueprint>,
    shared: Arc<Shared>,
    supervision: Supervision,
    /// When each restart still inside the policy's window happened.
    restarts: VecDeque<Instant>,
    /// Messages kept during a restart under `Pending::Fail`, delivered first afterwards; at
    /// most a mailbox's worth, so a restart never makes room for more than the mailbox holds.
    replay: VecDeque<Message>,
    /// Its place among the host's instances, kept across restarts.
    permit: InstancePermit,
    /// The component's subscriptions, into this instance's mailbox; they end with it.
    subscriptions: Vec<SubscriptionGuard>,
}

/// How the actor ends: the final state, why, and the shutdown call to answer once it is in it.
struct Stop {
    state: State,
    reason: String,
    reply: Option<(oneshot::Sender<Result<()>>, Result<()>)>,
}

impl Stop {
    fn failed(reason: String) -> Self {
        Self {
            state: State::Failed,
            reason,
            reply: None,
        }
    }
}

impl Actor {
    pub(crate) fn new(
        blueprint: Arc<Blueprint>,
        shared: Arc<Shared>,
        supervision: Supervision,
        instance: Instance,
        permit: InstancePermit,
        subscriptions: Vec<SubscriptionGuard>,
    ) -> Self {
        Self {
            instance,
            supervisor: Supervisor {
                blueprint,
                shared,
                supervision,
                restarts: VecDeque::new(),
                replay: VecDeque::new(),
                permit,
                subscriptions,
            },
            home: Weak::new(),
            evicting: Arc::default(),
        }
    }

    /// Serves calls until none is left, then parks in its home and ends this task; or until
    /// shutdown, the policy gives up after a trap, or every handle and the host are gone.
    /// Then it answers whoever is still waiting with why the instance stopped. The cold
    /// paths (stops, recovery) are boxed, so the task spawned for each burst of calls stays
    /// small (about 1 KiB instead of 4).
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<Call>) {
        let (supervisor, stop) = loop {
            if self.evicting.load(Ordering::Acquire) {
                match self.home.upgrade() {
                    Some(home) => return home.park(self, inbox),
                    None => break Box::pin(self.stop(DROPPED, None)).await,
                }
            }
            let call = match self.supervisor.replay.pop_front() {
                Some(message) => Call::Message(message),
                None => match inbox.try_recv() {
                    Ok(call) => call,
                    Err(TryRecvError::Empty) => match self.home.upgrade() {
                        Some(home) => return home.park(self, inbox),
                        None => break Box::pin(self.stop(DROPPED, None)).await,
                    },
                    Err(TryRecvError::Disconnected) => {
                        break Box::pin(self.stop(DROPPED, None)).await;
                    }
                },
            };
            // A busy mailbox must not keep this worker from its other tasks.
            tokio::task::consume_budget().await;
            let shared = &self.supervisor.shared;
            let trap = match call {
                Call::Request {
                    message,
                    correlation,
                    reply,
                } => {
                    if reply.is_closed() {
                        // Its requester stopped waiting (a timeout, a dropped future): nobody
                        // would see the reply, so the request is dropped instead of run.
                        let who = shared.identity();
                        tracing::debug!(target: "airssys::host", address = %who.address, component = %who.label(), correlation, source = message.source(), "request skipped: its requester stopped waiting");
                        continue;
                    }
                    shared.requests.fetch_add(1, Ordering::Relaxed);
                    let call = self.instance.request(message, correlation);
                    let result = observe(shared, CallKind::Request, call).await;
                    count_error(shared, &result);
                    let trap = trap_of(&result);
                    let _ = reply.send(result);
                    trap
                }
                Call::Message(message) => {
                    shared.messages.fetch_add(1, Ordering::Relaxed);
                    let call = self.instance.message(message);
                    let result = observe(shared, CallKind::Message, call).await;
                    count_error(shared, &result);
                    let trap = trap_of(&result);
                    if let (Err(err), None) = (&result, &trap) {
                        let who = shared.identity();
                        tracing::warn!(target: "airssys::host", address = %who.address, component = %who.label(), "message failed: {err}");
                    }
                    trap
                }
                Call::Health(reply) => {
                    let result = self.instance.health().await;
                    let trap = trap_of(&result);
                    let _ = reply.send(result);
                    trap
                }
                Call::Snapshot(reply) => {
                    let result = self.instance.snapshot().await;
                    let trap = trap_of(&result);
                    let _ = reply.send(result);
                    trap
                }
                Call::Restore(state, reply) => {
                    let result = self.instance.restore(state).await;
                    let trap = trap_of(&result);
                    let _ = reply.send(result);
                    trap
                }
                Call::Http { request, reply } => {
                    if reply.is_closed() {
                        // The client went away while the request waited.
                        continue;
                    }
                    shared.requests.fetch_add(1, Ordering::Relaxed);
                    let call = self.instance.http(request, reply);
                    let result = observe(shared, CallKind::Http, call).await;
                    trap_of(&result)
                }
                Call::Shutdown(reply) => {
                    break Box::pin(self.stop("it was shut down", Some(reply))).await;
                }
            };
            if let Some(trap) = trap {
                // The trapped instance is retired first: its store, memory and pool slot are
                // free before a fresh one starts.
                let Self {
                    instance,
                    mut supervisor,
                    home,
                    evicting,
                } = self;
                drop(instance);
                match Box::pin(supervisor.recover(trap, &mut inbox)).await {
                    Ok(instance) => {
                        self = Self {
                            instance,
                            supervisor,
                            home,
                            evicting,
                        }
                    }
                    Err(stop) => break (supervisor, stop),
                }
            }
        };
        Box::pin(supervisor.finish(stop, inbox)).await;
    }

    /// Shuts down an idle instance with nothing queued, in whichever task calls it.
    pub(super) async fn shut_down(
        self,
        inbox: mpsc::Receiver<Call>,
        reply: oneshot::Sender<Result<()>>,
    ) {
        let (supervisor, stop) = self.stop("it was shut down", Some(reply)).await;
        supervisor.finish(stop, inbox).await;
    }

    /// Stops an evicted instance (the guest's `shutdown`, then `reason` as its final word) and
    /// returns the calls still queued for it, in order, unserved: a stop-start deploy moves
    /// them to the version that replaces it.
    pub(crate) async fn retire(self, mut inbox: mpsc::Receiver<Call>, reason: &str) -> Vec<Call> {
        let (mut supervisor, stop) = self.stop(reason, None).await;
        inbox.close();
        let mut queued: Vec<Call> = supervisor.replay.drain(..).map(Call::Message).collect();
        while let Some(call) = inbox.recv().await {
            queued.push(call);
        }
        supervisor.finish(stop, inbox).await;
        queued
    }

    /// Asks the guest for the state to hand over, in whichever task holds the evicted
    /// actor; a trap here ends nothing (the instance is retired next either way).
    pub(crate) async fn snapshot(&mut self) -> Result<Option<Payload>> {
        self.instance.snapshot().await
    }

    /// A stop that was asked for: runs the guest's `shutdown`.
    async fn stop(
        mut self,
        reason: &str,
        reply: Option<oneshot::Sender<Result<()>>>,
    ) -> (Supervisor, Stop) {
        self.supervisor
            .shared
            .enter(State::Stopping, EventKind::Stopping);
        let result = self.instance.shutdown().await;
        let stop = Stop {
            state: State::Stopped,
            reason: reason.to_owned(),
            reply: reply.map(|reply| (reply, result)),
        };
        (self.supervisor, stop)
    }
}

impl Supervisor {
    /// Enters the final state (so the address is free before anyone hears of the stop), then
    /// ends its subscriptions, refuses new calls and answers every call already queued: none
    /// is dropped silently.
    async fn finish(mut self, stop: Stop, mut mailbox: mpsc::Receiver<Call>) {
        let Stop {
            state,
            reason,
            reply,
        } = stop;
        self.subscriptions.clear();
        // Its place is free before anyone hears of the stop, like its address.
        drop(self.permit);
        let who = self.shared.identity().clone();
        tracing::debug!(target: "airssys::host", address = %who.address, component = %who.label(), %reason, "instance stopped");
        self.shared.enter(
            state,
            EventKind::Stopped {
                reason: reason.clone(),
            },
        );
        if let Some((reply, result)) = reply {
            let _ = reply.send(result);
        }
        mailbox.close();
        let stopped = || Error::Stopped {
            component: who.to_string(),
            reason: reason.clone(),
        };
        let undelivered = self.replay.len();
        while let Some(call) = mailbox.recv().await {
            match call {
                Call::Request { reply, .. } => drop(reply.send(Err(stopped()))),
                Call::Health(reply) => drop(reply.send(Err(stopped()))),
                Call::Snapshot(reply) => drop(reply.send(Err(stopped()))),
                Call::Http { reply, .. } => drop(reply.send(Err(stopped()))),
                Call::Restore(_, reply) => drop(reply.send(Err(stopped()))),
                Call::Shutdown(reply) => drop(reply.send(Ok(()))),
                Call::Message(_) => warn_undelivered(&self.shared, &reason, 1),
            }
        }
        if undelivered > 0 {
            warn_undelivered(&self.shared, &reason, undelivered);
        }
    }

    /// Applies the supervision policy after `trap`: a fresh instance to serve, or how the
    /// component stops for good.
    async fn recover(
        &mut self,
        mut trap: Trap,
        mailbox: &mut mpsc::Receiver<Call>,
    ) -> Result<Instance, Stop> {
        loop {
            self.shared.traps.fetch_add(1, Ordering::Relaxed);
            self.shared.gate.metrics().trap(&trap);
            let who = self.shared.identity();
            tracing::warn!(target: "airssys::host", address = %who.address, component = %who.label(), "instance {trap}");
            let policy = match &self.supervision {
                Supervision::Stop => {
                    self.shared
                        .enter(State::Stopping, EventKind::Trapped(trap.clone()));
                    return Err(Stop::failed(trap.to_string()));
                }
                Supervision::Escalate => {
                    self.shared
                        .enter(State::Stopping, EventKind::Trapped(trap.clone()));
                    self.shared
                        .enter(State::Stopping, EventKind::Escalated(trap.clone()));
                    return Err(Stop::failed(format!("{trap}; escalated to the embedder")));
                }
                Supervision::Restart(policy) => policy.clone(),
            };
            let now = Instant::now();
            while self
                .restarts
                .front()
                .is_some_and(|at| now.duration_since(*at) > policy.window)
            {
                self.restarts.pop_front();
            }
            if self.restarts.len() >= policy.max_restarts as usize {
                self.shared
                    .enter(State::Stopping, EventKind::Trapped(trap.clone()));
                return Err(Stop::failed(format!(
                    "restart limit reached: {} restarts within {:?}; last: {trap}",
                    self.restarts.len(),
                    policy.window
                )));
            }
            self.shared
                .enter(State::Restarting, EventKind::Trapped(trap));
            let backoff = policy.backoff_for(self.restarts.len() as u32);
            self.restarts.push_back(now);
            if let Some(reply) = self.wait_out(backoff, policy.pending, mailbox).await {
                return Err(Stop {
                    state: State::Stopped,
                    reason: "it was shut down while restarting".to_owned(),
                    reply: Some((reply, Ok(()))),
                });
            }
            match Instance::start(&self.blueprint, &self.shared).await {
                Ok(instance) => {
                    let restarts = self.shared.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                    self.shared.gate.metrics().restart();
                    self.shared
                        .enter(State::Running, EventKind::Restarted { restarts });
                    return Ok(instance);
                }
                Err(Error::Trap { trap: again, .. }) => trap = again,
                Err(other) => return Err(Stop::failed(format!("restart failed: {other}"))),
            }
        }
    }

    /// Sleeps through the backoff. Under `Pending::Fail`, answers requests and health checks
    /// meanwhile and keeps messages for the fresh instance, up to a mailbox's worth (then the
    /// mailbox fills and senders wait, as they would for a busy instance). Returns the reply
    /// of a shutdown asked for meanwhile.
    async fn wait_out(
        &mut self,
        backoff: Duration,
        pending: Pending,
        mailbox: &mut mpsc::Receiver<Call>,
    ) -> Option<oneshot::Sender<Result<()>>> {
        let sleep = tokio::time::sleep(backoff);
        if pending == Pending::Wait {
            sleep.await;
            return None;
        }
        tokio::pin!(sleep);
        let restarting = || Error::Restarting {
            component: self.shared.identity().to_string(),
        };
        let room = mailbox.max_capacity();
        loop {
            tokio::select! {
                () = &mut sleep => return None,
                call = mailbox.recv(), if self.replay.len() < room => match call {
                    None => return None,
                    Some(Call::Request { reply, .. }) => drop(reply.send(Err(restarting()))),
                    Some(Call::Health(reply)) => drop(reply.send(Err(restarting()))),
                    Some(Call::Snapshot(reply)) => drop(reply.send(Err(restarting()))),
                    Some(Call::Http { reply, .. }) => drop(reply.send(Err(restarting()))),
                    Some(Call::Restore(_, reply)) => drop(reply.send(Err(restarting()))),
                    Some(Call::Message(message)) => self.replay.push_back(message),
                    Some(Call::Shutdown(reply)) => return Some(reply),
                },
            }
        }
    }
}

fn warn_undelivered(shared: &Shared, reason: &str, count: usize) {
    let who = shared.identity();
    tracing::warn!(
        target: "airssys::host",
        address = %who.address,
        component = %who.label(),
        "{count} message(s) not delivered: the instance stopped ({reason})"
    );
}

/// Counts a handler's domain error: what a canary's error rate is made of.
fn count_error<T>(shared: &Shared, result: &Result<T>) {
    if let Err(Error::Guest { .. }) = result {
        shared.errors.fetch_add(1, Ordering::Relaxed);
    }
}

fn trap_of<T>(result: &Result<T>) -> Option<Trap> {
    match result {
        Err(Error::Trap { trap, .. }) => Some(trap.clone()),
        _ => None,
    }
}
