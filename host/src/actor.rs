//! One task per instance: it owns the `Store` and serves calls from its mailbox one at a
//! time, so guest state needs no locks and calls to one instance never interleave. After a
//! trap it applies the supervision policy: restart a fresh instance, stop, or escalate.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use airssys_contract::{Health, Payload};
use tokio::sync::{mpsc, oneshot};
use wasmtime::Store;

use crate::bindings::{self, wit};
use crate::handle::Shared;
use crate::prepared::{Prepared, StartSpec, from_wit_error};
use crate::sandbox;
use crate::state::InstanceState;
use crate::{Error, Event, EventKind, Pending, Result, Supervision, Trap};

/// A call waiting in an instance's mailbox.
pub(crate) enum Call {
    Request(Payload, oneshot::Sender<Result<Payload>>),
    Message(Payload),
    Health(oneshot::Sender<Result<Health>>),
    Shutdown(oneshot::Sender<Result<()>>),
}

/// A live instance: its store and its exports.
pub(crate) struct Instance {
    pub(crate) store: Store<InstanceState>,
    pub(crate) bindings: bindings::Component,
    pub(crate) fuel_metering: bool,
}

pub(crate) struct Actor {
    prepared: Prepared,
    spec: StartSpec,
    supervision: Supervision,
    instance: Instance,
    label: Arc<str>,
    /// When each restart still inside the policy's window happened.
    restarts: VecDeque<Instant>,
    /// Messages kept during a restart under `Pending::Fail`, delivered first afterwards.
    replay: VecDeque<Payload>,
}

impl Actor {
    pub(crate) fn new(
        prepared: Prepared,
        spec: StartSpec,
        supervision: Supervision,
        instance: Instance,
    ) -> Self {
        Self {
            label: prepared.label().clone(),
            prepared,
            spec,
            supervision,
            instance,
            restarts: VecDeque::new(),
            replay: VecDeque::new(),
        }
    }

    pub(crate) fn spec(&self) -> &StartSpec {
        &self.spec
    }

    pub(crate) fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// Serves calls until shutdown, the policy gives up after a trap, or every handle is
    /// dropped; then answers whoever is still waiting with why the instance stopped.
    pub(crate) async fn run(mut self, mut mailbox: mpsc::Receiver<Call>, shared: Arc<Shared>) {
        self.emit(EventKind::Started);
        let reason = loop {
            let call = match self.replay.pop_front() {
                Some(payload) => Call::Message(payload),
                None => match mailbox.recv().await {
                    Some(call) => call,
                    None => {
                        let _ = self.shutdown().await;
                        break "every handle was dropped".to_owned();
                    }
                },
            };
            let trap = match call {
                Call::Request(payload, reply) => {
                    shared.requests.fetch_add(1, Ordering::Relaxed);
                    let result = self.request(payload).await;
                    let trap = trap_of(&result);
                    let _ = reply.send(result);
                    trap
                }
                Call::Message(payload) => {
                    shared.messages.fetch_add(1, Ordering::Relaxed);
                    let result = self.message(payload).await;
                    let trap = trap_of(&result);
                    if let (Err(err), None) = (&result, &trap) {
                        tracing::warn!(target: "airssys::host", component = %self.label, "message failed: {err}");
                    }
                    trap
                }
                Call::Health(reply) => {
                    let result = self.health().await;
                    let trap = trap_of(&result);
                    let _ = reply.send(result);
                    trap
                }
                Call::Shutdown(reply) => {
                    let result = self.shutdown().await;
                    let _ = reply.send(result);
                    break "it was shut down".to_owned();
                }
            };
            if let Some(trap) = trap
                && let Some(reason) = self.recover(trap, &mut mailbox, &shared).await
            {
                break reason;
            }
        };
        tracing::debug!(target: "airssys::host", component = %self.label, %reason, "instance stopped");
        shared.stop(reason.clone());
        self.emit(EventKind::Stopped {
            reason: reason.clone(),
        });
        // Refuse new calls, then answer every call already queued: none is dropped silently.
        mailbox.close();
        let stopped = || Error::Stopped {
            component: self.label.to_string(),
            reason: reason.clone(),
        };
        let undelivered = self.replay.len();
        while let Some(call) = mailbox.recv().await {
            match call {
                Call::Request(_, reply) => drop(reply.send(Err(stopped()))),
                Call::Health(reply) => drop(reply.send(Err(stopped()))),
                Call::Shutdown(reply) => drop(reply.send(Ok(()))),
                Call::Message(_) => warn_undelivered(&self.label, &reason, 1),
            }
        }
        if undelivered > 0 {
            warn_undelivered(&self.label, &reason, undelivered);
        }
    }

    /// Applies the supervision policy after `trap`. `None` means a fresh instance now
    /// serves; `Some(reason)` means the instance stops for good.
    async fn recover(
        &mut self,
        mut trap: Trap,
        mailbox: &mut mpsc::Receiver<Call>,
        shared: &Shared,
    ) -> Option<String> {
        loop {
            shared.traps.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "airssys::host", component = %self.label, "instance {trap}");
            self.emit(EventKind::Trapped(trap.clone()));
            let policy = match &self.supervision {
                Supervision::Stop => return Some(trap.to_string()),
                Supervision::Escalate => {
                    self.emit(EventKind::Escalated(trap.clone()));
                    return Some(format!("{trap}; escalated to the embedder"));
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
                return Some(format!(
                    "restart limit reached: {} restarts within {:?}; last: {trap}",
                    self.restarts.len(),
                    policy.window
                ));
            }
            let backoff = policy.backoff_for(self.restarts.len() as u32);
            self.restarts.push_back(now);
            if !self.wait_out(backoff, policy.pending, mailbox).await {
                return Some("it was shut down while restarting".to_owned());
            }
            match self.prepared.instantiate(&self.spec).await {
                Ok(instance) => {
                    self.instance = instance;
                    let restarts = shared.restarts.fetch_add(1, Ordering::Relaxed) + 1;
                    self.emit(EventKind::Restarted { restarts });
                    return None;
                }
                Err(Error::Trap { trap: again, .. }) => trap = again,
                Err(other) => return Some(format!("restart failed: {other}")),
            }
        }
    }

    /// Sleeps through the backoff. Under `Pending::Fail`, answers requests and health checks
    /// meanwhile and keeps messages for the fresh instance. False when shutdown was asked.
    async fn wait_out(
        &mut self,
        backoff: std::time::Duration,
        pending: Pending,
        mailbox: &mut mpsc::Receiver<Call>,
    ) -> bool {
        let sleep = tokio::time::sleep(backoff);
        if pending == Pending::Wait {
            sleep.await;
            return true;
        }
        tokio::pin!(sleep);
        let restarting = || Error::Restarting {
            component: self.label.to_string(),
        };
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                call = mailbox.recv() => match call {
                    None => return true,
                    Some(Call::Request(_, reply)) => drop(reply.send(Err(restarting()))),
                    Some(Call::Health(reply)) => drop(reply.send(Err(restarting()))),
                    Some(Call::Message(payload)) => self.replay.push_back(payload),
                    Some(Call::Shutdown(reply)) => {
                        let _ = reply.send(Ok(()));
                        return false;
                    }
                },
            }
        }
    }

    async fn request(&mut self, payload: Payload) -> Result<Payload> {
        let (content_type, body) = payload.into_parts();
        let request = wit::Request {
            source: None,
            payload: wit::Payload { content_type, body },
        };
        self.arm()?;
        let inst = &mut self.instance;
        let result = inst
            .bindings
            .airssys_core_lifecycle()
            .call_handle_request(&mut inst.store, &request)
            .await;
        let reply = self.guest_result(result)??;
        let limit = self.spec.limits.max_payload;
        if reply.body.len() > limit {
            return Err(Error::PayloadTooLarge {
                component: self.label.to_string(),
                direction: "reply",
                size: reply.body.len(),
                limit,
            });
        }
        Ok(Payload::new(reply.content_type, reply.body))
    }

    async fn message(&mut self, payload: Payload) -> Result<()> {
        let (content_type, body) = payload.into_parts();
        let message = wit::Message {
            source: None,
            topic: None,
            payload: wit::Payload { content_type, body },
        };
        self.arm()?;
        let inst = &mut self.instance;
        let result = inst
            .bindings
            .airssys_core_lifecycle()
            .call_handle_message(&mut inst.store, &message)
            .await;
        self.guest_result(result)?
    }

    async fn health(&mut self) -> Result<Health> {
        self.arm()?;
        let inst = &mut self.instance;
        let result = inst
            .bindings
            .airssys_core_lifecycle()
            .call_health(&mut inst.store)
            .await;
        Ok(match self.trap(result)? {
            wit::HealthStatus::Healthy => Health::Healthy,
            wit::HealthStatus::Degraded(why) => Health::Degraded(why),
            wit::HealthStatus::Unhealthy(why) => Health::Unhealthy(why),
        })
    }

    async fn shutdown(&mut self) -> Result<()> {
        self.arm()?;
        let inst = &mut self.instance;
        let result = inst
            .bindings
            .airssys_core_lifecycle()
            .call_shutdown(&mut inst.store)
            .await;
        self.trap(result)
    }

    fn arm(&mut self) -> Result<()> {
        sandbox::arm(&mut self.instance.store, self.instance.fuel_metering)
    }

    /// Splits a guest call's outcome: the outer error is a trap, the inner a domain error.
    fn guest_result<T>(
        &mut self,
        result: wasmtime::Result<Result<T, wit::Error>>,
    ) -> Result<Result<T>> {
        Ok(self.trap(result)?.map_err(|error| Error::Guest {
            component: self.label.to_string(),
            error: from_wit_error(error),
        }))
    }

    fn trap<T>(&mut self, result: wasmtime::Result<T>) -> Result<T> {
        result.map_err(|err| Error::Trap {
            component: self.label.to_string(),
            trap: sandbox::classify(&mut self.instance.store, &err),
        })
    }

    fn emit(&self, kind: EventKind) {
        // No subscriber is fine: events are for whoever listens.
        let _ = self.prepared.host().inner.events.send(Event {
            component: self.label.to_string(),
            kind,
        });
    }
}

fn trap_of<T>(result: &Result<T>) -> Option<Trap> {
    match result {
        Err(Error::Trap { trap, .. }) => Some(trap.clone()),
        _ => None,
    }
}

fn warn_undelivered(label: &str, reason: &str, count: usize) {
    tracing::warn!(
        target: "airssys::host",
        component = %label,
        "{count} message(s) not delivered: the instance stopped ({reason})"
    );
}
