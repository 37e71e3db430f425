//! One task per instance: it owns the `Store` and serves calls from its mailbox one at a
//! time, so guest state needs no locks and calls to one instance never interleave.

use std::sync::Arc;

use airssys_contract::{Health, Payload};
use tokio::sync::{mpsc, oneshot};
use wasmtime::Store;

use crate::bindings::{self, wit};
use crate::handle::Status;
use crate::prepared::{from_wit_error, trap_error};
use crate::state::InstanceState;
use crate::{Error, Result};

/// A call waiting in an instance's mailbox.
pub(crate) enum Call {
    Request(Payload, oneshot::Sender<Result<Payload>>),
    Message(Payload),
    Health(oneshot::Sender<Result<Health>>),
    Shutdown(oneshot::Sender<Result<()>>),
}

pub(crate) struct Actor {
    store: Store<InstanceState>,
    instance: bindings::Component,
    label: Arc<str>,
}

impl Actor {
    pub(crate) fn new(
        store: Store<InstanceState>,
        instance: bindings::Component,
        label: Arc<str>,
    ) -> Self {
        Self {
            store,
            instance,
            label,
        }
    }

    /// Serves calls until shutdown, a trap, or every handle is dropped; then tells whoever
    /// is still waiting why the instance stopped.
    pub(crate) async fn run(mut self, mut mailbox: mpsc::Receiver<Call>, status: Arc<Status>) {
        let reason = loop {
            let Some(call) = mailbox.recv().await else {
                // Every handle is gone: shut down cleanly.
                let _ = self.shutdown().await;
                break "every handle was dropped".to_owned();
            };
            match call {
                Call::Request(payload, reply) => {
                    let result = self.request(payload).await;
                    let trapped = trap_reason(&result);
                    let _ = reply.send(result);
                    if let Some(reason) = trapped {
                        break reason;
                    }
                }
                Call::Message(payload) => {
                    let result = self.message(payload).await;
                    let trapped = trap_reason(&result);
                    if let Err(err) = result {
                        tracing::warn!(target: "airssys::host", component = %self.label, "message failed: {err}");
                    }
                    if let Some(reason) = trapped {
                        break reason;
                    }
                }
                Call::Health(reply) => {
                    let result = self.health().await;
                    let trapped = trap_reason(&result);
                    let _ = reply.send(result);
                    if let Some(reason) = trapped {
                        break reason;
                    }
                }
                Call::Shutdown(reply) => {
                    let result = self.shutdown().await;
                    let _ = reply.send(result);
                    break "it was shut down".to_owned();
                }
            }
        };
        tracing::debug!(target: "airssys::host", component = %self.label, %reason, "instance stopped");
        status.stop(reason.clone());
        // Refuse new calls, then answer every call already queued: none is dropped silently.
        mailbox.close();
        while let Some(call) = mailbox.recv().await {
            let stopped = || Error::Stopped {
                component: self.label.to_string(),
                reason: reason.clone(),
            };
            match call {
                Call::Request(_, reply) => drop(reply.send(Err(stopped()))),
                Call::Health(reply) => drop(reply.send(Err(stopped()))),
                Call::Shutdown(reply) => drop(reply.send(Ok(()))),
                Call::Message(_) => tracing::warn!(
                    target: "airssys::host",
                    component = %self.label,
                    "message not delivered: the instance stopped ({reason})"
                ),
            }
        }
    }

    async fn request(&mut self, payload: Payload) -> Result<Payload> {
        let (content_type, body) = payload.into_parts();
        let request = wit::Request {
            source: None,
            payload: wit::Payload { content_type, body },
        };
        let result = self
            .instance
            .airssys_core_lifecycle()
            .call_handle_request(&mut self.store, &request)
            .await;
        match self.guest_result(result)? {
            Ok(reply) => Ok(Payload::new(reply.content_type, reply.body)),
            Err(error) => Err(error),
        }
    }

    async fn message(&mut self, payload: Payload) -> Result<()> {
        let (content_type, body) = payload.into_parts();
        let message = wit::Message {
            source: None,
            topic: None,
            payload: wit::Payload { content_type, body },
        };
        let result = self
            .instance
            .airssys_core_lifecycle()
            .call_handle_message(&mut self.store, &message)
            .await;
        self.guest_result(result)?
    }

    async fn health(&mut self) -> Result<Health> {
        let result = self
            .instance
            .airssys_core_lifecycle()
            .call_health(&mut self.store)
            .await;
        Ok(match self.trap(result)? {
            wit::HealthStatus::Healthy => Health::Healthy,
            wit::HealthStatus::Degraded(why) => Health::Degraded(why),
            wit::HealthStatus::Unhealthy(why) => Health::Unhealthy(why),
        })
    }

    async fn shutdown(&mut self) -> Result<()> {
        let result = self
            .instance
            .airssys_core_lifecycle()
            .call_shutdown(&mut self.store)
            .await;
        self.trap(result)
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
        result.map_err(|err| trap_error(&self.label, &mut self.store, err))
    }
}

/// Why the instance must stop after this result, if it trapped.
fn trap_reason<T>(result: &Result<T>) -> Option<String> {
    match result {
        Err(err @ Error::Trap { .. }) => Some(err.to_string()),
        _ => None,
    }
}
