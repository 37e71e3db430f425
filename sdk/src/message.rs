//! What handlers receive: messages and requests.

use serde::de::DeserializeOwned;

use crate::{Payload, Result};

/// A fire-and-forget delivery, handled by [`Component::on_message`](crate::Component::on_message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    source: Option<String>,
    topic: Option<String>,
    payload: Payload,
}

impl Message {
    /// A message carrying `payload`, with no source or topic (as the host sends it).
    pub fn new(payload: Payload) -> Self {
        Self {
            source: None,
            topic: None,
            payload,
        }
    }

    /// Sets the sending component's name.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the topic it was published on.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// The sending component's name; `None` when the host sent it.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The topic it was published on; `None` for a direct send.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_deref()
    }

    /// The body.
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
    payload: Payload,
}

impl Request {
    /// A request carrying `payload`, with no source (as the host sends it).
    pub fn new(payload: Payload) -> Self {
        Self {
            source: None,
            payload,
        }
    }

    /// Sets the requesting component's name.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The requesting component's name; `None` when the host asked.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// The body.
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
