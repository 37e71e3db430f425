//! What travels to an instance: a [`Message`] (who sent it, when, on which topic, and its
//! payload) and the [`Call`]s an instance's mailbox holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use airssys_contract::{Health, Payload};
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::Result;

pub(crate) use wasmtime_wasi_http::p2::body::{HyperIncomingBody, HyperOutgoingBody};

/// A message as delivered: to a component's `on_message` (or, as a request, its
/// `on_request`), or to a host [`Subscription`](crate::Subscription).
///
/// ```no_run
/// # async fn run(host: airssys_host::Host) -> Result<(), Box<dyn std::error::Error>> {
/// let mut placed = host.subscribe("orders.>")?;
/// while let Some(message) = placed.recv().await {
///     println!("{:?} on {:?}: {}", message.source(), message.topic(), message.payload().as_text()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    source: Option<Arc<str>>,
    topic: Option<Arc<str>>,
    timestamp: SystemTime,
    payload: Payload,
}

impl Message {
    /// A message sent at `timestamp` (the host's clock) by `source` (`None`: the host), on
    /// `topic` if published.
    pub(crate) fn new(
        source: Option<Arc<str>>,
        topic: Option<Arc<str>>,
        payload: Payload,
        timestamp: SystemTime,
    ) -> Self {
        Self {
            source,
            topic,
            timestamp,
            payload,
        }
    }

    /// The sending component's address; `None` when the host sent it.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The topic it was published on; `None` for a direct send or a request.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_deref()
    }

    /// When it was sent, by the host's wall clock.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The body and its content type.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The body, by value.
    pub fn into_payload(self) -> Payload {
        self.payload
    }

    /// Decodes a JSON body; see [`Payload::decode_json`].
    pub fn json<T: DeserializeOwned>(&self) -> std::result::Result<T, crate::GuestError> {
        self.payload.decode_json()
    }
}

/// A call waiting in an instance's mailbox.
pub(crate) enum Call {
    Request {
        message: Message,
        /// Names the request in the guest and in logs: see [`next_correlation`].
        correlation: u64,
        reply: oneshot::Sender<Result<Payload>>,
    },
    Message(Message),
    Health(oneshot::Sender<Result<Health>>),
    /// The state to hand to the next version: a deploy's last call to this instance.
    Snapshot(oneshot::Sender<Result<Option<Payload>>>),
    /// State handed over by the previous version, before the instance takes traffic.
    Restore(Payload, oneshot::Sender<Result<()>>),
    /// An HTTP request for a `wasi:http` component; the reply is the response head (its
    /// body streams from the guest as it writes it).
    Http {
        request: hyper::Request<HyperIncomingBody>,
        reply: oneshot::Sender<Result<hyper::Response<HyperOutgoingBody>>>,
    },
    Shutdown(oneshot::Sender<Result<()>>),
}

impl Call {
    /// The body's size and what it is (`request` or `message`), for the size limit.
    pub(crate) fn body(&self) -> Option<(usize, &'static str)> {
        match self {
            Self::Request { message, .. } => Some((message.payload.body().len(), "request")),
            Self::Message(message) => Some((message.payload.body().len(), "message")),
            _ => None,
        }
    }
}

/// A fresh correlation id: unique within the process, whichever host or broker asks.
pub(crate) fn next_correlation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
