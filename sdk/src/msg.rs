//! Talking to other components: to one by its address ([`send`], [`request`]) and to every
//! subscriber of a topic ([`publish`]).
//!
//! ```no_run
//! # fn run() -> airssys::Result<()> {
//! use std::time::Duration;
//! use airssys::{Payload, msg};
//!
//! #[derive(serde::Serialize)]
//! struct Quote { item: String, qty: u32 }
//! #[derive(serde::Deserialize)]
//! struct Price { cents: u64 }
//!
//! // A typed request and its typed reply; `?` turns any failure into `airssys::Error`.
//! let price: Price = msg::request_json("pricing", &Quote { item: "apple".into(), qty: 3 })?;
//! // To every subscriber of a matching pattern (`orders.*`, `orders.>`, ...).
//! msg::publish_json("orders.placed", &serde_json::json!({ "cents": price.cents }))?;
//! // Fire and forget, waiting at most 200 ms for room in the target's mailbox.
//! msg::with_timeout(Duration::from_millis(200)).send("audit", Payload::text("placed"))?;
//! # Ok(()) }
//! ```
//!
//! Sending or requesting needs `message("pricing")` (or `message("*")`) declared in
//! `#[airssys::component(capabilities(...))]` and granted; publishing needs a `publish`
//! pattern that matches the topic. Subscriptions are declared the same way
//! (`subscribe("orders.*")`) and arrive in [`Component::on_message`](crate::Component::on_message)
//! with [`Message::topic`](crate::Message::topic) set.
//!
//! Every call waits at most its timeout ([`DEFAULT_TIMEOUT`] unless [`with_timeout`] says
//! otherwise), and never past the deadline of the handler it is called from. A full mailbox
//! makes it wait for room; a request also waits for the reply. Off wasm, the test host of
//! `airssys::testing` checks them as the host does and delivers them to the components the
//! test scripted; with no test host every call fails with [`MsgError::Unsupported`].

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, ErrorKind, Payload};

/// How long a call waits when no [`with_timeout`] is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a send, request or publish failed.
///
/// It converts into [`airssys::Error`](crate::Error) (see [`MsgError::kind`]), so `?` works in
/// handlers; [`Target`](Self::Target) converts into the target's own error unchanged, so an
/// error passes through a chain of requests with its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MsgError {
    /// The target handled the request and returned this error.
    #[error("{0}")]
    Target(Error),
    /// No component runs at the address.
    #[error("no such component: {0}")]
    NoSuchComponent(String),
    /// The capability (`message` for the address, `publish` for the topic) is not declared
    /// and granted.
    #[error("denied: {0}")]
    Denied(String),
    /// The request was delivered, but no reply came in time.
    #[error("timeout: {0}")]
    Timeout(String),
    /// The target's mailbox stayed full for the whole timeout; nothing was delivered.
    #[error("mailbox full: {0}")]
    MailboxFull(String),
    /// The target trapped handling the request.
    #[error("trapped: {0}")]
    Trapped(String),
    /// The target is restarting after a trap; retrying later may succeed.
    #[error("restarting: {0}")]
    Restarting(String),
    /// The target has stopped.
    #[error("stopped: {0}")]
    Stopped(String),
    /// The address, topic or payload is not acceptable (malformed, a wildcard in a published
    /// topic, too large, or not the JSON expected).
    #[error("invalid: {0}")]
    Invalid(String),
    /// There is no airssys host: the code runs natively, not inside a component.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl MsgError {
    /// The [`ErrorKind`] it converts to: the target's own kind, `not-found`, `denied`,
    /// `timeout`, `unavailable` (mailbox full, restarting, stopped: the target may come back),
    /// `internal` (trapped), `invalid-input`, `unsupported`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Target(err) => err.kind(),
            Self::NoSuchComponent(_) => ErrorKind::NotFound,
            Self::Denied(_) => ErrorKind::Denied,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::MailboxFull(_) | Self::Restarting(_) | Self::Stopped(_) => ErrorKind::Unavailable,
            Self::Trapped(_) => ErrorKind::Internal,
            Self::Invalid(_) => ErrorKind::InvalidInput,
            Self::Unsupported(_) => ErrorKind::Unsupported,
        }
    }
}

impl From<MsgError> for Error {
    fn from(err: MsgError) -> Self {
        let kind = err.kind();
        match err {
            MsgError::Target(err) => err,
            MsgError::NoSuchComponent(m)
            | MsgError::Denied(m)
            | MsgError::Timeout(m)
            | MsgError::MailboxFull(m)
            | MsgError::Trapped(m)
            | MsgError::Restarting(m)
            | MsgError::Stopped(m)
            | MsgError::Invalid(m)
            | MsgError::Unsupported(m) => Error::new(kind, m),
        }
    }
}

/// What a [`publish`] reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Published {
    /// Subscribers whose mailbox took the message.
    pub delivered: u32,
    /// Subscribers whose mailbox stayed full until the timeout, or that stopped meanwhile:
    /// they never see this message.
    pub missed: u32,
}

/// The calls of this module with another timeout than [`DEFAULT_TIMEOUT`]:
/// `msg::with_timeout(Duration::from_millis(200)).request("pricing", payload)`.
pub fn with_timeout(timeout: Duration) -> WithTimeout {
    WithTimeout { timeout }
}

/// Sends, requests and publishes that wait at most a chosen time; made by [`with_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithTimeout {
    timeout: Duration,
}

impl WithTimeout {
    /// See [`send`].
    pub fn send(self, to: &str, payload: Payload) -> Result<(), MsgError> {
        imp::send(to, payload, self.timeout)
    }

    /// See [`send_json`].
    pub fn send_json<T: Serialize + ?Sized>(self, to: &str, value: &T) -> Result<(), MsgError> {
        self.send(to, encode(value)?)
    }

    /// See [`request`].
    pub fn request(self, to: &str, payload: Payload) -> Result<Payload, MsgError> {
        imp::request(to, payload, self.timeout)
    }

    /// See [`request_json`].
    pub fn request_json<Q, R>(self, to: &str, query: &Q) -> Result<R, MsgError>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.request(to, encode(query)?)?
            .decode_json()
            .map_err(|err| MsgError::Invalid(format!("the reply from `{to}`: {}", err.message())))
    }

    /// See [`publish`].
    pub fn publish(self, topic: &str, payload: Payload) -> Result<Published, MsgError> {
        imp::publish(topic, payload, self.timeout)
    }

    /// See [`publish_json`].
    pub fn publish_json<T: Serialize + ?Sized>(
        self,
        topic: &str,
        value: &T,
    ) -> Result<Published, MsgError> {
        self.publish(topic, encode(value)?)
    }
}

/// Queues `payload` for the component at `to` and returns once its mailbox took it; its
/// handling is not awaited. Messages from one component to another arrive in the order sent.
pub fn send(to: &str, payload: Payload) -> Result<(), MsgError> {
    with_timeout(DEFAULT_TIMEOUT).send(to, payload)
}

/// [`send`] of `value` as JSON.
pub fn send_json<T: Serialize + ?Sized>(to: &str, value: &T) -> Result<(), MsgError> {
    with_timeout(DEFAULT_TIMEOUT).send_json(to, value)
}

/// Sends `payload` as a request to the component at `to` and waits for its reply.
pub fn request(to: &str, payload: Payload) -> Result<Payload, MsgError> {
    with_timeout(DEFAULT_TIMEOUT).request(to, payload)
}

/// Sends `query` as a JSON request to `to` and decodes its JSON reply: the request and its
/// reply are typed on both sides.
pub fn request_json<Q, R>(to: &str, query: &Q) -> Result<R, MsgError>
where
    Q: Serialize + ?Sized,
    R: DeserializeOwned,
{
    with_timeout(DEFAULT_TIMEOUT).request_json(to, query)
}

/// Offers `payload` on `topic` (no wildcards) to every subscription that matches it; says
/// how many took it and how many missed it because their mailbox stayed full.
pub fn publish(topic: &str, payload: Payload) -> Result<Published, MsgError> {
    with_timeout(DEFAULT_TIMEOUT).publish(topic, payload)
}

/// [`publish`] of `value` as JSON.
pub fn publish_json<T: Serialize + ?Sized>(topic: &str, value: &T) -> Result<Published, MsgError> {
    with_timeout(DEFAULT_TIMEOUT).publish_json(topic, value)
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Payload, MsgError> {
    Payload::json(value).map_err(|err| MsgError::Invalid(err.message().to_owned()))
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use std::time::Duration;

    use super::{MsgError, Published};
    use crate::__private::bindings::airssys::core::{messaging as host, types};
    use crate::__private::from_wit_error;
    use crate::Payload;

    pub(super) fn send(to: &str, payload: Payload, timeout: Duration) -> Result<(), MsgError> {
        host::send(to, &lower(payload), millis(timeout)).map_err(lift_error)
    }

    pub(super) fn request(
        to: &str,
        payload: Payload,
        timeout: Duration,
    ) -> Result<Payload, MsgError> {
        host::request(to, &lower(payload), millis(timeout))
            .map(|reply| Payload::new(reply.content_type, reply.body))
            .map_err(lift_error)
    }

    pub(super) fn publish(
        topic: &str,
        payload: Payload,
        timeout: Duration,
    ) -> Result<Published, MsgError> {
        host::publish(topic, &lower(payload), millis(timeout))
            .map(|p| Published {
                delivered: p.delivered,
                missed: p.missed,
            })
            .map_err(lift_error)
    }

    fn lower(payload: Payload) -> types::Payload {
        let (content_type, body) = payload.into_parts();
        types::Payload { content_type, body }
    }

    fn millis(timeout: Duration) -> u32 {
        u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
    }

    fn lift_error(err: host::Error) -> MsgError {
        match err {
            host::Error::Target(err) => MsgError::Target(from_wit_error(err)),
            host::Error::NoSuchComponent(m) => MsgError::NoSuchComponent(m),
            host::Error::Denied(m) => MsgError::Denied(m),
            host::Error::Timeout(m) => MsgError::Timeout(m),
            host::Error::MailboxFull(m) => MsgError::MailboxFull(m),
            host::Error::Trapped(m) => MsgError::Trapped(m),
            host::Error::Restarting(m) => MsgError::Restarting(m),
            host::Error::Stopped(m) => MsgError::Stopped(m),
            host::Error::Invalid(m) => MsgError::Invalid(m),
        }
    }
}

/// Off wasm, the test host of the current call delivers them (`airssys::testing`).
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::msg as imp;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_with_their_kind() {
        let target = Error::not_found("no user 42");
        assert_eq!(Error::from(MsgError::Target(target.clone())), target);
        let cases = [
            (MsgError::NoSuchComponent("x".into()), ErrorKind::NotFound),
            (MsgError::Denied("x".into()), ErrorKind::Denied),
            (MsgError::Timeout("x".into()), ErrorKind::Timeout),
            (MsgError::MailboxFull("x".into()), ErrorKind::Unavailable),
            (MsgError::Trapped("x".into()), ErrorKind::Internal),
            (MsgError::Restarting("x".into()), ErrorKind::Unavailable),
            (MsgError::Stopped("x".into()), ErrorKind::Unavailable),
            (MsgError::Invalid("x".into()), ErrorKind::InvalidInput),
        ];
        for (err, kind) in cases {
            let converted = Error::from(err.clone());
            assert_eq!(
                (converted.kind(), converted.message()),
                (kind, "x"),
                "{err}"
            );
        }
    }

    #[test]
    fn off_wasm_every_call_is_unsupported() {
        let err = request_json::<_, u32>("pricing", &1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(matches!(
            send("a", Payload::text("x")),
            Err(MsgError::Unsupported(_))
        ));
        assert!(matches!(
            with_timeout(Duration::ZERO).publish_json("a.b", &1),
            Err(MsgError::Unsupported(_))
        ));
    }
}
