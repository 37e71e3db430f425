//! What handlers receive: messages and requests, with who sent them, when, and (for
//! publishes) on which topic.

use std::time::SystemTime;

use serde::de::DeserializeOwned;

use crate::{Payload, Result};

/// A fire-and-forget delivery, handled by [`Component::on_message`](crate::Component::on_message):
/// a direct [`send`](crate::msg::send) to this component, or a [`publish`](crate::msg::publish)
/// on a topic it subscribes to.
///
/// ```
/// use airssys::{Message, Payload};
/// let msg = Message::new(Payload::text("42 apples"))
///     .with_source("orders")
///     .with_topic("stock.apples");
/// assert_eq!(msg.topic(), Some("stock.apples"));
/// assert_eq!(msg.payload().as_text().unwrap(), "42 apples");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    source: Option<String>,
    topic: Option<String>,
    timestamp: SystemTime,
    payload: Payload,
}

impl Message {
    /// A message carrying `payload`, sent now, with no source or topic (as the host sends it).
    pub fn new(payload: Payload) -> Self {
        Self {
            source: None,
            topic: None,
            timestamp: crate::now(),
            payload,
        }
    }

    /// Sets the sender's address.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the topic it was published on.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sets when it was sent.
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The sending component's address, to reply to with [`msg::send`](crate::msg::send);
    /// `None` when the host sent it.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The topic it was published on; `None` for a direct send.
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
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        self.payload.decode_json()
    }
}

/// A delivery that expects a reply, handled by [`Component::on_request`](crate::Component::on_request).
///
/// ```
/// use airssys::{Payload, Request};
/// #[derive(serde::Deserialize)]
/// struct Greet { name: String }
///
/// let req = Request::new(Payload::json(&serde_json::json!({ "name": "Ada" })).unwrap());
/// assert_eq!(req.json::<Greet>().unwrap().name, "Ada");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    source: Option<String>,
    correlation_id: u64,
    timestamp: SystemTime,
    payload: Payload,
}

impl Request {
    /// A request carrying `payload`, sent now, with no source (as the host sends it) and
    /// correlation id 0.
    pub fn new(payload: Payload) -> Self {
        Self {
            source: None,
            correlation_id: 0,
            timestamp: crate::now(),
            payload,
        }
    }

    /// Sets the requester's address.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: u64) -> Self {
        self.correlation_id = id;
        self
    }

    /// Sets when it was sent.
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The requesting component's address; `None` when the host asked.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The host's id for this request, unique within the host's process: log it to tie the
    /// requester's and the responder's lines together.
    pub fn correlation_id(&self) -> u64 {
        self.correlation_id
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
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        self.payload.decode_json()
    }
}
