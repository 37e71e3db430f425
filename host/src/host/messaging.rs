//! The embedder's messaging verbs: what components do with `airssys::msg` (send and request by
//! address, publish by topic), and subscriptions to topic patterns, through the same broker.
//! The host is trusted, so no capability is checked; components still receive a message only
//! on topics their own subscriptions match.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use airssys_contract::{CapabilityKind, Payload, validate_name, validate_topic};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::Host;
use crate::broker::{Deadline, Published, Sink, SubscriptionGuard};
use crate::mail::Message;
use crate::{Error, Result};

impl Host {
    /// Queues `payload` for the component at address `to` (`source` is none), waiting up to
    /// [`HostBuilder::send_timeout`](crate::HostBuilder::send_timeout) for room in its
    /// mailbox. Returns once it is queued; its handling is not awaited.
    ///
    /// Fails with [`Error::UnknownAddress`], [`Error::MailboxFull`], [`Error::Stopped`],
    /// [`Error::PayloadTooLarge`] or [`Error::InvalidAddress`].
    pub async fn send(&self, to: &str, payload: Payload) -> Result<()> {
        check_address(to)?;
        let mut deadline = Deadline::after(self.inner.settings.send_timeout, None);
        let message = Message::new(None, None, payload, self.inner.settings.clock.now());
        self.inner.broker.send(to, message, &mut deadline).await
    }

    /// Sends a request to the component at address `to` and waits up to `timeout` for the
    /// reply, room in its mailbox included.
    ///
    /// Fails as [`ComponentHandle::request`](crate::ComponentHandle::request) does, and with
    /// [`Error::Timeout`], [`Error::MailboxFull`], [`Error::UnknownAddress`] or
    /// [`Error::InvalidAddress`].
    ///
    /// ```no_run
    /// # async fn run(host: airssys_host::Host) -> airssys_host::Result<()> {
    /// use std::time::Duration;
    /// let reply = host
    ///     .request("pricing", airssys_host::Payload::text("apple"), Duration::from_secs(1))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn request(&self, to: &str, payload: Payload, timeout: Duration) -> Result<Payload> {
        check_address(to)?;
        let message = Message::new(None, None, payload, self.inner.settings.clock.now());
        self.inner
            .broker
            .request(to, message, &mut Deadline::after(timeout, None))
            .await
    }

    /// [`request`](Self::request) with `request` as JSON and the reply decoded from JSON.
    pub async fn request_json<Q, R>(&self, to: &str, request: &Q, timeout: Duration) -> Result<R>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let json = |error| Error::Json {
            component: to.to_owned(),
            error,
        };
        let payload = Payload::json(request).map_err(json)?;
        self.request(to, payload, timeout)
            .await?
            .decode_json()
            .map_err(json)
    }

    /// Offers `payload` on `topic` (no wildcards) to every subscription that matches it: each
    /// component whose subscriptions match, once, and each host [`Subscription`]. A full
    /// mailbox is waited for until [`HostBuilder::send_timeout`](crate::HostBuilder::send_timeout)
    /// has passed (one deadline for the whole publish); a subscriber still full then misses
    /// this message, and [`Published::missed`] counts it.
    pub async fn publish(&self, topic: &str, payload: Payload) -> Result<Published> {
        validate_topic(topic).map_err(|err| Error::InvalidTopic {
            topic: err.topic().to_owned(),
            role: "published on",
            reason: err.reason().to_owned(),
        })?;
        let mut deadline = Deadline::after(self.inner.settings.send_timeout, None);
        let message = Message::new(
            None,
            Some(topic.into()),
            payload,
            self.inner.settings.clock.now(),
        );
        self.inner.broker.publish(message, &mut deadline).await
    }

    /// Subscribes the embedder to the topics `pattern` matches (`orders.*`, `orders.>`; the
    /// `subscribe` grammar). Messages arrive in a buffer of
    /// [`HostBuilder::mailbox_capacity`](crate::HostBuilder::mailbox_capacity); while it is
    /// full, publishers wait for room as they do for a component, and miss this subscriber
    /// past their deadline. Dropping the [`Subscription`] ends it.
    pub fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        CapabilityKind::Subscribe
            .validate(pattern)
            .map_err(|err| Error::InvalidTopic {
                topic: pattern.to_owned(),
                role: "subscribed to",
                reason: err.reason().to_owned(),
            })?;
        let (sender, messages) = mpsc::channel(self.inner.settings.mailbox_capacity);
        let id = self
            .inner
            .broker
            .subscribe(pattern, None, Sink::Host(sender));
        Ok(Subscription {
            pattern: pattern.to_owned(),
            messages,
            _guard: SubscriptionGuard::new(std::sync::Arc::downgrade(&self.inner.broker), id),
        })
    }
}

/// The embedder's subscription to a topic pattern, from [`Host::subscribe`]: a bounded stream
/// of the [`Message`]s published on matching topics, in the order each publisher sent them.
///
/// Read it with [`recv`](Self::recv), or as a [`futures_core::Stream`]. It ends (`None`)
/// only when the host is gone; dropping it unsubscribes.
pub struct Subscription {
    pattern: String,
    messages: mpsc::Receiver<Message>,
    _guard: SubscriptionGuard,
}

impl Subscription {
    /// The next message, waiting for one.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.recv().await
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Message> {
        self.messages.try_recv().ok()
    }

    /// How many messages wait to be read.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when no message waits.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The pattern subscribed to.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl futures_core::Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.messages.poll_recv(cx)
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("pattern", &self.pattern)
            .field("waiting", &self.messages.len())
            .finish()
    }
}

fn check_address(to: &str) -> Result<()> {
    validate_name(to).map_err(|err| Error::InvalidAddress {
        address: to.to_owned(),
        reason: err.to_string(),
    })
}
