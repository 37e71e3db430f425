//! The `airssys:core/messaging` host interface: send, request and publish from a guest,
//! through the host's [`Broker`]. Every call checks its address or topic, asks the gate
//! (`message` for an address, `publish` for a topic), and waits at most the guest's timeout,
//! cut to what is left of the call's deadline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use airssys_contract::{CapabilityKind, Payload, validate_name, validate_topic};
use wasmtime::component::{HasData, Linker};

use crate::Limits;
use crate::bindings::airssys::core::messaging::{self, Error, Published};
use crate::bindings::{guest_error_value, wit};
use crate::broker::{Broker, Deadline};
use crate::clock::Clock;
use crate::mail::Message;
use crate::policy::{Denied, Gate, escape_controls};

/// What the messaging interface keeps per instance.
pub(crate) struct MessagingCtx {
    /// The host's broker. Weak: the host owns its registry, never the other way round.
    broker: Weak<dyn Broker>,
    /// This component's address, the `source` of what it sends.
    source: Arc<str>,
    sent: Arc<Sent>,
    /// Every wait of this instance ends through it; kept across calls (see [`Deadline`]).
    deadline: Deadline,
    /// Stamps what it sends.
    clock: Clock,
}

impl MessagingCtx {
    pub(crate) fn new(
        broker: Weak<dyn Broker>,
        source: &str,
        sent: Arc<Sent>,
        clock: Clock,
    ) -> Self {
        Self {
            broker,
            source: Arc::from(source),
            sent,
            deadline: Deadline::after(Duration::ZERO, None),
            clock,
        }
    }
}

/// What a component sent, counted once a call passed its checks (whatever the outcome).
#[derive(Debug, Default)]
pub(crate) struct Sent {
    messages: AtomicU64,
    requests: AtomicU64,
    publishes: AtomicU64,
}

impl Sent {
    /// Messages sent so far.
    pub(crate) fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// Requests made so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Publishes so far.
    pub(crate) fn publishes(&self) -> u64 {
        self.publishes.load(Ordering::Relaxed)
    }
}

/// What a messaging call sees: the gate, the limits, the call's deadline and the context.
pub(crate) struct Messaging<'a> {
    pub(crate) gate: &'a Gate,
    pub(crate) limits: &'a Limits,
    pub(crate) deadline: Instant,
    pub(crate) ctx: &'a mut MessagingCtx,
}

struct HasMessaging;

impl HasData for HasMessaging {
    type Data<'a> = Messaging<'a>;
}

/// Links `airssys:core/messaging`, projecting the store data to a [`Messaging`] view.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Messaging<'_>,
) -> wasmtime::Result<()> {
    messaging::add_to_linker::<T, HasMessaging>(linker, get)
}

impl messaging::Host for Messaging<'_> {
    async fn send(
        &mut self,
        to: String,
        payload: wit::Payload,
        timeout_ms: u32,
    ) -> Result<(), Error> {
        let message = self.addressed(&to, payload)?;
        let broker = self.broker()?;
        self.ctx.sent.messages.fetch_add(1, Ordering::Relaxed);
        let deadline = self.until(timeout_ms);
        broker.send(&to, message, deadline).await.map_err(failure)
    }

    async fn request(
        &mut self,
        to: String,
        payload: wit::Payload,
        timeout_ms: u32,
    ) -> Result<wit::Payload, Error> {
        let message = self.addressed(&to, payload)?;
        let broker = self.broker()?;
        self.ctx.sent.requests.fetch_add(1, Ordering::Relaxed);
        let deadline = self.until(timeout_ms);
        let reply = broker
            .request(&to, message, deadline)
            .await
            .map_err(failure)?;
        let (content_type, body) = reply.into_parts();
        Ok(wit::Payload { content_type, body })
    }

    async fn publish(
        &mut self,
        topic: String,
        payload: wit::Payload,
        timeout_ms: u32,
    ) -> Result<Published, Error> {
        validate_topic(&topic).map_err(|err| Error::Invalid(err.to_string()))?;
        self.gate.check(CapabilityKind::Publish, &topic)?;
        let message = self.message(Some(Arc::from(topic)), payload)?;
        let broker = self.broker()?;
        self.ctx.sent.publishes.fetch_add(1, Ordering::Relaxed);
        let published = broker.publish(message, self.until(timeout_ms)).await;
        let published = published.map_err(failure)?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Published {
            delivered: count(published.delivered),
            missed: count(published.missed),
        })
    }
}

impl Messaging<'_> {
    /// A message for the component at `to`, once the address is well-formed and allowed.
    fn addressed(&self, to: &str, payload: wit::Payload) -> Result<Message, Error> {
        validate_name(to).map_err(|_| {
            Error::Invalid(format!(
                "`{}` is not an address: addresses are kebab-case names (lowercase letters, digits and `-`, starting with a letter, at most 64 bytes)",
                escape_controls(to)
            ))
        })?;
        self.gate.check(CapabilityKind::Message, to)?;
        self.message(None, payload)
    }

    /// A message from this component, if its body fits its own payload limit.
    fn message(&self, topic: Option<Arc<str>>, payload: wit::Payload) -> Result<Message, Error> {
        let limit = self.limits.max_payload;
        if payload.body.len() > limit {
            return Err(Error::Invalid(format!(
                "the body is {} bytes, over this component's limit of {limit} (`Limits::max_payload`)",
                payload.body.len()
            )));
        }
        let payload = Payload::new(payload.content_type, payload.body);
        let timestamp = self.ctx.clock.now();
        Ok(Message::new(
            Some(self.ctx.source.clone()),
            topic,
            payload,
            timestamp,
        ))
    }

    fn broker(&self) -> Result<Arc<dyn Broker>, Error> {
        self.ctx
            .broker
            .upgrade()
            .ok_or_else(|| Error::Stopped("the host is shutting down".to_owned()))
    }

    /// The instance's deadline, set to the guest's timeout but never past the call's own
    /// deadline.
    fn until(&mut self, timeout_ms: u32) -> &mut Deadline {
        let timeout = Duration::from_millis(timeout_ms.into());
        self.ctx.deadline.set(timeout, Some(self.deadline));
        &mut self.ctx.deadline
    }
}

/// A delivery failure as the guest sees it. The broker fails only in the ways listed; the
/// last arm keeps any other error a clear refusal rather than a trap.
fn failure(err: crate::Error) -> Error {
    use crate::Error as E;
    let message = err.to_string();
    match err {
        E::Guest { error, .. } => Error::Target(guest_error_value(&error)),
        E::UnknownAddress { .. } => Error::NoSuchComponent(message),
        E::Timeout { .. } => Error::Timeout(message),
        E::MailboxFull { .. } => Error::MailboxFull(message),
        E::Trap { .. } => Error::Trapped(message),
        E::Restarting { .. } => Error::Restarting(message),
        E::Denied { .. } => Error::Denied(message),
        E::PayloadTooLarge { .. } | E::InvalidTopic { .. } | E::InvalidAddress { .. } => {
            Error::Invalid(message)
        }
        _ => Error::Stopped(message),
    }
}

impl From<Denied> for Error {
    fn from(denied: Denied) -> Self {
        Error::Denied(denied.message)
    }
}
