//! The one path from the host into a guest export: arm the limits, call, classify the
//! outcome. `init` and every handler go through [`Instance::call`] and differ only in the
//! export they call.

use std::future::Future;
use std::pin::Pin;

use airssys_contract::{Health, Payload};
use wasmtime::Store;

use super::Instance;
use super::sandbox;
use crate::bindings::exports::airssys::core::lifecycle;
use crate::bindings::{datetime, domain_error, wit};
use crate::interfaces::StoreData;
use crate::mail::Message;
use crate::{Error, Result};

/// A guest export in flight, borrowing the store for `'s`.
type ExportCall<'s, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 's>>;

impl Instance {
    /// Arms the deadline and fuel, runs `export` on the store, bounded as a whole by the
    /// deadline (waits in host calls included), and classifies a failure as a trap of this
    /// component. A trapped store must not be called again.
    pub(crate) async fn call<R>(
        &mut self,
        export: impl for<'s> FnOnce(lifecycle::Guest, &'s mut Store<StoreData>) -> ExportCall<'s, R>,
    ) -> Result<R> {
        let deadline = sandbox::arm(&mut self.store)?;
        let call = export(self.exports.clone(), &mut self.store);
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
        let config = config.to_vec();
        let result = self
            .call(|guest, store| Box::pin(async move { guest.call_init(store, &config).await }))
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
        let result = self
            .call(|guest, store| {
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
        let result = self
            .call(|guest, store| {
                Box::pin(async move { guest.call_handle_message(store, &message).await })
            })
            .await?;
        self.domain(result)
    }

    /// `health`.
    pub(crate) async fn health(&mut self) -> Result<Health> {
        let status = self
            .call(|guest, store| Box::pin(async move { guest.call_health(store).await }))
            .await?;
        Ok(match status {
            wit::HealthStatus::Healthy => Health::Healthy,
            wit::HealthStatus::Degraded(why) => Health::Degraded(why),
            wit::HealthStatus::Unhealthy(why) => Health::Unhealthy(why),
        })
    }

    /// `shutdown`.
    pub(crate) async fn shutdown(&mut self) -> Result<()> {
        self.call(|guest, store| Box::pin(async move { guest.call_shutdown(store).await }))
            .await
    }

    /// `snapshot`: the state to hand to the next version, if the guest keeps any.
    pub(crate) async fn snapshot(&mut self) -> Result<Option<Payload>> {
        let result = self
            .call(|guest, store| Box::pin(async move { guest.call_snapshot(store).await }))
            .await?;
        Ok(self
            .domain(result)?
            .map(|state| Payload::new(state.content_type, state.body)))
    }

    /// `restore(state)`: takes over what the previous version's `snapshot` returned.
    pub(crate) async fn restore(&mut self, state: Payload) -> Result<()> {
        let (content_type, body) = state.into_parts();
        let state = wit::Payload { content_type, body };
        let result = self
            .call(|guest, store| Box::pin(async move { guest.call_restore(store, &state).await }))
            .await?;
        self.domain(result)
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
