//! The one path from the host into a guest export: arm the limits, call, classify the
//! outcome. `init`, every lifecycle handler and the `wasi:http` handler go through
//! [`Instance::call`] and differ only in the export they call.

use std::future::Future;
use std::pin::Pin;

use std::sync::{Arc, Mutex};

use airssys_contract::{Health, Payload};
use tokio::sync::oneshot;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use super::Instance;
use super::instance::Exports;
use super::sandbox;
use crate::bindings::exports::airssys::core::lifecycle;
use crate::bindings::{datetime, domain_error, wit};
use crate::interfaces::StoreData;
use crate::mail::{HyperIncomingBody, HyperOutgoingBody, Message};
use crate::{Error, Result};

/// A guest export in flight, borrowing the store for `'s`.
type ExportCall<'s, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 's>>;

impl Instance {
    /// Arms the deadline and fuel, runs `export` on the store, bounded as a whole by the
    /// deadline (waits in host calls included), and classifies a failure as a trap of this
    /// component. A trapped store must not be called again.
    pub(crate) async fn call<G, R>(
        &mut self,
        guest: G,
        export: impl for<'s> FnOnce(G, &'s mut Store<StoreData>) -> ExportCall<'s, R>,
    ) -> Result<R> {
        let deadline = sandbox::arm(&mut self.store)?;
        let call = export(guest, &mut self.store);
        let trap = match sandbox::bounded(deadline, self.tick, call).await {
            Some(Ok(value)) => return Ok(value),
            Some(Err(err)) => sandbox::classify(&mut self.store, &err),
            None => sandbox::overdue(&self.store),
        };
        Err(Error::Trap {
            component: self.store.data().identity().to_string(),
            trap,
        })
    }

    /// `init(config)`; a domain error means the instance did not start.
    pub(crate) async fn init(&mut self, config: &[(String, String)]) -> Result<()> {
        // A `wasi:http` component has no `init`: instantiating it is its start.
        let Exports::Airssys(guest) = &self.exports else {
            return Ok(());
        };
        let (guest, config) = (guest.clone(), config.to_vec());
        let result = self
            .call(guest, |guest, store| {
                Box::pin(async move { guest.call_init(store, &config).await })
            })
            .await?;
        result.map_err(|error| Error::Init {
            component: self.store.data().identity().to_string(),
            error: domain_error(error),
        })
    }

    /// `handle-request`; the reply body must fit in `max_payload`.
    pub(crate) async fn request(&mut self, message: Message, correlation: u64) -> Result<Payload> {
        let (source, _, timestamp, payload) = lower(message);
        let request = wit::Request {
            source,
            correlation_id: correlation,
            timestamp,
            payload,
        };
        let guest = self.lifecycle("requests")?;
        let result = self
            .call(guest, |guest, store| {
                Box::pin(async move { guest.call_handle_request(store, &request).await })
            })
            .await?;
        let reply = self.domain(result)?;
        let limit = self.store.data().limits.max_payload;
        if reply.body.len() > limit {
            return Err(Error::PayloadTooLarge {
                component: self.store.data().identity().to_string(),
                direction: "reply",
                size: reply.body.len(),
                limit,
            });
        }
        Ok(Payload::new(reply.content_type, reply.body))
    }

    /// `handle-message`.
    pub(crate) async fn message(&mut self, message: Message) -> Result<()> {
        let (source, topic, timestamp, payload) = lower(message);
        let message = wit::Message {
            source,
            topic,
            timestamp,
            payload,
        };
        let guest = self.lifecycle("messages")?;
        let result = self
            .call(guest, |guest, store| {
                Box::pin(async move { guest.call_handle_message(store, &message).await })
            })
            .await?;
        self.domain(result)
    }

    /// `health`; a `wasi:http` component that is up is healthy (it has no `health`).
    pub(crate) async fn health(&mut self) -> Result<Health> {
        let Exports::Airssys(guest) = &self.exports else {
            return Ok(Health::Healthy);
        };
        let status = self
            .call(guest.clone(), |guest, store| {
                Box::pin(async move { guest.call_health(store).await })
            })
            .await?;
        Ok(match status {
            wit::HealthStatus::Healthy => Health::Healthy,
            wit::HealthStatus::Degraded(why) => Health::Degraded(why),
            wit::HealthStatus::Unhealthy(why) => Health::Unhealthy(why),
        })
    }

    /// `shutdown`; nothing for a `wasi:http` component.
    pub(crate) async fn shutdown(&mut self) -> Result<()> {
        let Exports::Airssys(guest) = &self.exports else {
            return Ok(());
        };
        self.call(guest.clone(), |guest, store| {
            Box::pin(async move { guest.call_shutdown(store).await })
        })
        .await
    }

    /// `snapshot`: the state to hand to the next version, if the guest keeps any (a
    /// `wasi:http` component keeps none).
    pub(crate) async fn snapshot(&mut self) -> Result<Option<Payload>> {
        let Exports::Airssys(guest) = &self.exports else {
            return Ok(None);
        };
        let result = self
            .call(guest.clone(), |guest, store| {
                Box::pin(async move { guest.call_snapshot(store).await })
            })
            .await?;
        Ok(self
            .domain(result)?
            .map(|state| Payload::new(state.content_type, state.body)))
    }

    /// `restore(state)`: takes over what the previous version's `snapshot` returned.
    pub(crate) async fn restore(&mut self, state: Payload) -> Result<()> {
        let (content_type, body) = state.into_parts();
        let state = wit::Payload { content_type, body };
        let guest = self.lifecycle("state from a previous version")?;
        let result = self
            .call(guest, |guest, store| {
                Box::pin(async move { guest.call_restore(store, &state).await })
            })
            .await?;
        self.domain(result)
    }

    /// Serves one HTTP request with a `wasi:http` component's `incoming-handler`. `reply`
    /// gets the response head as soon as the guest sets it, so its body streams while the
    /// guest writes; if the guest ends without one (it trapped, returned, or answered an
    /// error code), `reply` gets why. The result is the handler call's own.
    pub(crate) async fn http(
        &mut self,
        request: hyper::Request<HyperIncomingBody>,
        reply: oneshot::Sender<Result<hyper::Response<HyperOutgoingBody>>>,
    ) -> Result<()> {
        let component = self.store.data().identity().to_string();
        let Exports::HttpProxy(handler) = &self.exports else {
            let refusal = || Error::NotServed {
                component: component.clone(),
                asked: "HTTP requests",
                why: "it is an airssys component; call it with POST /components/ADDRESS, and give `route` only to wasi:http components",
            };
            let _ = reply.send(Err(refusal()));
            return Err(refusal());
        };
        let handler = handler.clone();
        let reply = Arc::new(Mutex::new(Some(reply)));
        let answer = reply.clone();
        let named = component.clone();
        let mut http = self.store.data_mut().http();
        let parts = http
            .new_incoming_request(Scheme::Http, request)
            .and_then(|request| {
                let out = http.new_response_outparam_from_callback(move |response| {
                    let response = response.map_err(|code| Error::NoResponse {
                        component: named,
                        reason: format!("it answered the error code {code:?}"),
                    });
                    if let Some(reply) = take(&answer) {
                        let _ = reply.send(response);
                    }
                })?;
                Ok((request, out))
            });
        let result = match parts {
            Ok((request, out)) => {
                self.call(handler, |guest, store| {
                    Box::pin(async move { guest.call_handle(store, request, out).await })
                })
                .await
            }
            Err(err) => Err(Error::NoResponse {
                component: component.clone(),
                reason: format!("the request could not be handed to it: {err:#}"),
            }),
        };
        if let Some(reply) = take(&reply) {
            let why = match &result {
                Err(Error::Trap { component, trap }) => Error::Trap {
                    component: component.clone(),
                    trap: trap.clone(),
                },
                Ok(()) => Error::NoResponse {
                    component,
                    reason: "its handler returned without setting a response".to_owned(),
                },
                Err(err) => Error::NoResponse {
                    component,
                    reason: err.to_string(),
                },
            };
            let _ = reply.send(Err(why));
        }
        result
    }

    /// The lifecycle exports, or why an instance of a `wasi:http` component cannot take
    /// `asked`.
    fn lifecycle(&self, asked: &'static str) -> Result<lifecycle::Guest> {
        match &self.exports {
            Exports::Airssys(guest) => Ok(guest.clone()),
            Exports::HttpProxy(_) => Err(Error::NotServed {
                component: self.store.data().identity().to_string(),
                asked,
                why: "it is a wasi:http component; send it HTTP on its route",
            }),
        }
    }

    /// A handler's own error, as [`Error::Guest`]; the instance keeps running.
    fn domain<T>(&self, result: Result<T, wit::Error>) -> Result<T> {
        result.map_err(|error| Error::Guest {
            component: self.store.data().identity().to_string(),
            error: domain_error(error),
        })
    }
}

/// A message's parts as the lifecycle records spell them: source, topic, timestamp, payload.
fn lower(message: Message) -> (Option<String>, Option<String>, wit::Datetime, wit::Payload) {
    let source = message.source().map(str::to_owned);
    let topic = message.topic().map(str::to_owned);
    let timestamp = datetime(message.timestamp());
    let (content_type, body) = message.into_payload().into_parts();
    (
        source,
        topic,
        timestamp,
        wit::Payload { content_type, body },
    )
}

/// Takes what `slot` holds, whoever else held it.
fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}
