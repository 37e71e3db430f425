//! The seam between what sends and what delivers: the [`Broker`] trait.
//!
//! Guests (through the `messaging` interface) and the embedder (through the host's verbs)
//! reach components only through a broker. It is shaped by NATS, so a broker on NATS can
//! take its place for several hosts without guests noticing:
//!
//! - an address is what a NATS subject in a queue group named after it would be: one of the
//!   instances serving it takes each delivery (in process, the entry's route picks it);
//! - a request waits for exactly one reply, correlated inside the broker as NATS does with a
//!   reply inbox, and ends at the requester's deadline;
//! - a publish goes to every subscription whose subject pattern matches, once per queue group
//!   (a component's patterns form its group, so overlapping patterns deliver once);
//! - every sink is bounded, and a publish waits for room only until its deadline.
//!
//! The in-process broker is the [`Registry`](crate::registry::Registry) itself
//! (`registry/broker.rs`); a host in a cluster uses the cluster broker
//! (`cluster/broker.rs`), which delivers locally through the registry and to other hosts
//! through NATS.

use std::pin::Pin;
use std::sync::Weak;
use std::task::Poll;
use std::time::{Duration, Instant};

use airssys_contract::Payload;
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Sleep;

use crate::Result;
use crate::mail::Message;
use crate::registry::Entry;

/// Delivers messages and requests by address, and publishes by topic.
#[async_trait]
pub(crate) trait Broker: Send + Sync {
    /// Queues `message` for the component at `to`, waiting until `deadline` for room in its
    /// mailbox.
    async fn send(&self, to: &str, message: Message, deadline: &mut Deadline) -> Result<()>;

    /// Delivers `message` as a request to the component at `to` and waits until `deadline`
    /// (room in its mailbox included) for the reply.
    async fn request(&self, to: &str, message: Message, deadline: &mut Deadline)
    -> Result<Payload>;

    /// Offers `message` (its topic is the subject) to every matching subscription, once per
    /// group, waiting until `deadline` for room in full sinks.
    async fn publish(&self, message: Message, deadline: &mut Deadline) -> Result<Published>;

    /// Adds a subscription to the subjects `pattern` (a valid `subscribe` pattern) matches,
    /// delivering into `sink`; of the subscriptions sharing a `group`, one takes each message.
    fn subscribe(&self, pattern: &str, group: Option<&str>, sink: Sink) -> SubscriptionId;

    /// Removes a subscription; nothing reaches its sink afterwards.
    fn unsubscribe(&self, id: SubscriptionId);
}

/// What a publish reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Published {
    /// Subscriptions whose sink took the message.
    pub delivered: usize,
    /// Subscriptions whose sink stayed full until the deadline, was closed, or refused the
    /// body as too large: they never see this message.
    pub missed: usize,
}

/// Names a subscription within its broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SubscriptionId(pub(crate) u64);

/// Where a subscription's messages go. Both kinds are bounded.
#[derive(Clone)]
pub(crate) enum Sink {
    /// A component's address: a component's subscription. It delivers through the address's
    /// routing, so a deploy's switch moves it with requests and sends; bodies over the
    /// serving version's `max_payload`, and topics its patterns do not cover, are refused.
    Address(Weak<Entry>),
    /// An embedder's [`Subscription`](crate::Subscription).
    Host(mpsc::Sender<Message>),
}

/// Why a sink did not take a message at once.
pub(crate) enum Refused {
    /// It is full: the message, to offer again.
    Full(Message),
    /// It is closed or the body is too large for it: never.
    Never,
}

impl Sink {
    /// Offers `message` without waiting.
    pub(crate) fn try_offer(&self, message: Message) -> Result<(), Refused> {
        match self {
            Self::Address(entry) => entry.upgrade().ok_or(Refused::Never)?.try_publish(message),
            Self::Host(sender) => sender.try_send(message).map_err(|err| match err {
                TrySendError::Full(message) => Refused::Full(message),
                TrySendError::Closed(_) => Refused::Never,
            }),
        }
    }

    /// Offers `message`, waiting until `deadline` for room; true when it was taken.
    pub(crate) async fn offer(&self, message: Message, deadline: &mut Deadline) -> bool {
        match self {
            Self::Address(entry) => match entry.upgrade() {
                Some(entry) => entry.publish(message, deadline).await,
                None => false,
            },
            Self::Host(sender) => deadline
                .bound(sender.send(message))
                .await
                .is_some_and(|sent| sent.is_ok()),
        }
    }
}

/// When a wait must end, with the timer that ends it.
///
/// A component keeps one across its calls (in its messaging context) and sets it for each
/// call. The timer is touched only when a wait actually has to wait, and then moved rather
/// than made: moving a registered tokio timer later is one atomic update, while registering
/// a fresh one wakes the runtime's parked timer thread, a context switch that cost about a
/// third of a component-to-component request round trip.
pub(crate) struct Deadline {
    /// When it was set, to say how long a failed wait allowed.
    since: Instant,
    at: Instant,
    /// Made at the first wait that needs it, inside the runtime.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    /// A deadline `timeout` from now, but never past `cap`.
    pub(crate) fn after(timeout: Duration, cap: Option<Instant>) -> Self {
        let mut deadline = Self {
            since: Instant::now(),
            at: Instant::now(),
            timer: None,
        };
        deadline.set(timeout, cap);
        deadline
    }

    /// Waits end `timeout` from now (never past `cap`) from now on.
    pub(crate) fn set(&mut self, timeout: Duration, cap: Option<Instant>) {
        self.since = Instant::now();
        // Held to a year, so that no timeout overflows the clock.
        let at = self.since + timeout.min(Duration::from_secs(365 * 24 * 3600));
        self.at = cap.map_or(at, |cap| at.min(cap));
    }

    /// How long waits were allowed, from when it was set.
    pub(crate) fn allowed(&self) -> Duration {
        self.at.saturating_duration_since(self.since)
    }

    /// How long is left until it passes (zero once it has).
    pub(crate) fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Runs `work` until it finishes (`Some`) or the deadline passes (`None`).
    pub(crate) async fn bound<F: Future>(&mut self, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        let mut armed = false;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(done) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(done));
            }
            let timer = self.timer(&mut armed);
            timer.as_mut().poll(cx).map(|()| None)
        })
        .await
    }

    /// The timer, set to the deadline once per wait.
    fn timer(&mut self, armed: &mut bool) -> &mut Pin<Box<Sleep>> {
        let at = self.at.into();
        let first = !std::mem::replace(armed, true);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if first {
            timer.as_mut().reset(at);
        }
        timer
    }
}

/// Removes its subscription when dropped (the broker may be gone already, which is fine).
pub(crate) struct SubscriptionGuard {
    broker: Weak<dyn Broker>,
    id: SubscriptionId,
}

impl SubscriptionGuard {
    pub(crate) fn new(broker: Weak<dyn Broker>, id: SubscriptionId) -> Self {
        Self { broker, id }
    }
}

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        if let Some(broker) = self.broker.upgrade() {
            broker.unsubscribe(self.id);
        }
    }
}
