//! What crosses the wire: a delivery's [`Envelope`] and its [`Reply`], each a small JSON
//! head before the payload's bytes (`[head length: u32 BE][head JSON][body]`).
//!
//! The head carries everything a guest can see of a message (source, content type, send
//! time; the topic is the subject's) and what the receiving host needs to treat it as its
//! own (the sending host, the time left to the sender's deadline). Guest text travels only
//! in the JSON head or the body, never in NATS headers, which cannot carry every string.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airssys_contract::Payload;
use bytes::{BufMut, Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{GuestPanic, Trap, TrapKind};
use crate::{Error, GuestError};

/// What a delivery asks of the receiving host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// Queue it; the reply says it was queued (or why not).
    Send,
    /// Deliver it as a request; the reply is the component's.
    Request,
    /// Offer it to the host's subscribers; nobody replies.
    Publish,
}

/// The head of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) kind: Kind,
    /// The sending host's name.
    pub(crate) host: String,
    /// The sending component's address; none when the host itself sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) content_type: String,
    /// When it was sent, by the sending host's clock, in nanoseconds since the Unix epoch.
    pub(crate) sent: u64,
    /// Microseconds left to the sender's deadline when it left.
    pub(crate) timeout: u64,
}

impl Envelope {
    /// When it was sent, as a time.
    pub(crate) fn sent_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.sent)
    }

    /// The nanoseconds since the Unix epoch of `at` (zero before it).
    pub(crate) fn nanos(at: SystemTime) -> u64 {
        at.duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
    }
}

/// The head of a reply: the reply's content type, or the error the delivery met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Reply {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<WireError>,
}

impl Reply {
    /// A reply carrying `outcome`: a payload (none for a send) or an error.
    pub(crate) fn encode(outcome: Result<Option<Payload>, &Error>) -> Bytes {
        match outcome {
            Ok(payload) => {
                let (content_type, body) = payload.map(Payload::into_parts).unwrap_or_default();
                let head = Reply {
                    content_type,
                    error: None,
                };
                frame(&head, &body)
            }
            Err(err) => frame(
                &Reply {
                    content_type: String::new(),
                    error: Some(WireError::from(err)),
                },
                &[],
            ),
        }
    }

    /// The payload or error a reply carries; a reply that does not decode is
    /// [`Error::Unavailable`] naming `address`.
    pub(crate) fn decode(address: &str, bytes: &Bytes) -> Result<Payload, Error> {
        let (head, body) = unframe::<Reply>(bytes).map_err(|reason| Error::Unavailable {
            address: address.to_owned(),
            reason: format!("its host sent a reply that does not decode ({reason})"),
        })?;
        match head.error {
            Some(error) => Err(error.into()),
            None => Ok(Payload::new(head.content_type, body.to_vec())),
        }
    }
}

/// `[head length][head JSON][body]`.
pub(crate) fn frame(head: &impl Serialize, body: &[u8]) -> Bytes {
    // A head of plain fields always serializes.
    let head = serde_json::to_vec(head).unwrap_or_default();
    let mut bytes = BytesMut::with_capacity(4 + head.len() + body.len());
    bytes.put_u32(u32::try_from(head.len()).unwrap_or(u32::MAX));
    bytes.put_slice(&head);
    bytes.put_slice(body);
    bytes.freeze()
}

/// The head and body of a frame, without copying the body.
pub(crate) fn unframe<T: DeserializeOwned>(bytes: &Bytes) -> Result<(T, Bytes), String> {
    let length = bytes
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .ok_or("shorter than its head's length")?;
    let end = 4usize.saturating_add(length);
    let head = bytes.get(4..end).ok_or("shorter than its head")?;
    let head = serde_json::from_slice(head).map_err(|err| err.to_string())?;
    Ok((head, bytes.slice(end..)))
}

/// The errors a delivery can meet on the receiving host, as they travel back: the same
/// [`Error`] variant comes out on the sending host, so a guest sees the same error whether
/// its target runs here or there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub(crate) enum WireError {
    UnknownAddress {
        address: String,
    },
    Guest {
        component: String,
        error: GuestError,
    },
    Timeout {
        component: String,
        waited_us: u64,
    },
    MailboxFull {
        component: String,
        capacity: usize,
        waited_us: u64,
    },
    PayloadTooLarge {
        component: String,
        direction: String,
        size: usize,
        limit: usize,
    },
    Trap {
        component: String,
        trap: WireTrap,
    },
    Restarting {
        component: String,
    },
    Stopped {
        component: String,
        reason: String,
    },
    Denied {
        host: String,
        reason: String,
    },
    /// Anything else, by its code and message.
    Other {
        address: String,
        message: String,
    },
}

/// A trap's cause, as far as the sending host can rebuild it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum WireTrap {
    Panic {
        message: String,
        location: Option<String>,
    },
    Deadline {
        micros: u64,
    },
    OutOfFuel,
    StackOverflow,
    Unreachable,
    Other {
        detail: String,
    },
}

fn micros(waited: Duration) -> u64 {
    u64::try_from(waited.as_micros()).unwrap_or(u64::MAX)
}

impl From<&Error> for WireError {
    fn from(err: &Error) -> Self {
        match err {
            Error::UnknownAddress { address } => Self::UnknownAddress {
                address: address.clone(),
            },
            Error::Guest { component, error } => Self::Guest {
                component: component.clone(),
                error: error.clone(),
            },
            Error::Timeout { component, waited } => Self::Timeout {
                component: component.clone(),
                waited_us: micros(*waited),
            },
            Error::MailboxFull {
                component,
                capacity,
                waited,
            } => Self::MailboxFull {
                component: component.clone(),
                capacity: *capacity,
                waited_us: micros(*waited),
            },
            Error::PayloadTooLarge {
                component,
                direction,
                size,
                limit,
            } => Self::PayloadTooLarge {
                component: component.clone(),
                direction: (*direction).to_owned(),
                size: *size,
                limit: *limit,
            },
            Error::Trap { component, trap } => Self::Trap {
                component: component.clone(),
                trap: match &trap.kind {
                    TrapKind::Panic(panic) => WireTrap::Panic {
                        message: panic.message.clone(),
                        location: panic.location.clone(),
                    },
                    TrapKind::Deadline(after) => WireTrap::Deadline {
                        micros: micros(*after),
                    },
                    TrapKind::OutOfFuel => WireTrap::OutOfFuel,
                    TrapKind::StackOverflow => WireTrap::StackOverflow,
                    TrapKind::Unreachable => WireTrap::Unreachable,
                    _ => WireTrap::Other {
                        detail: trap.to_string(),
                    },
                },
            },
            Error::Restarting { component } => Self::Restarting {
                component: component.clone(),
            },
            Error::Stopped { component, reason } => Self::Stopped {
                component: component.clone(),
                reason: reason.clone(),
            },
            Error::Denied { host, reason } => Self::Denied {
                host: host.clone(),
                reason: reason.clone(),
            },
            other => Self::Other {
                address: String::new(),
                message: other.to_string(),
            },
        }
    }
}

impl From<WireError> for Error {
    fn from(err: WireError) -> Self {
        let waited = Duration::from_micros;
        match err {
            WireError::UnknownAddress { address } => Error::UnknownAddress { address },
            WireError::Guest { component, error } => Error::Guest { component, error },
            WireError::Timeout {
                component,
                waited_us,
            } => Error::Timeout {
                component,
                waited: waited(waited_us),
            },
            WireError::MailboxFull {
                component,
                capacity,
                waited_us,
            } => Error::MailboxFull {
                component,
                capacity,
                waited: waited(waited_us),
            },
            WireError::PayloadTooLarge {
                component,
                direction,
                size,
                limit,
            } => Error::PayloadTooLarge {
                component,
                direction: match direction.as_str() {
                    "request" => "request",
                    "message" => "message",
                    _ => "reply",
                },
                size,
                limit,
            },
            WireError::Trap { component, trap } => {
                let (kind, detail) = match trap {
                    WireTrap::Panic { message, location } => (
                        TrapKind::Panic(GuestPanic { message, location }),
                        String::new(),
                    ),
                    WireTrap::Deadline { micros } => {
                        (TrapKind::Deadline(waited(micros)), String::new())
                    }
                    WireTrap::OutOfFuel => (TrapKind::OutOfFuel, String::new()),
                    WireTrap::StackOverflow => (TrapKind::StackOverflow, String::new()),
                    WireTrap::Unreachable => (TrapKind::Unreachable, String::new()),
                    WireTrap::Other { detail } => (
                        TrapKind::Other,
                        detail
                            .strip_prefix("trapped: ")
                            .map_or(detail.clone(), str::to_owned),
                    ),
                };
                Error::Trap {
                    component,
                    trap: Trap { kind, detail },
                }
            }
            WireError::Restarting { component } => Error::Restarting { component },
            WireError::Stopped { component, reason } => Error::Stopped { component, reason },
            WireError::Denied { host, reason } => Error::Denied { host, reason },
            WireError::Other { address, message } => Error::Unavailable {
                address,
                reason: message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_replies_round_trip() {
        let head = Envelope {
            kind: Kind::Request,
            host: "host-a".into(),
            source: Some("checkout".into()),
            content_type: "text/plain\r\nX: y".into(),
            sent: 42,
            timeout: 1_000,
        };
        let bytes = frame(&head, b"body");
        let (back, body) = unframe::<Envelope>(&bytes).unwrap();
        assert_eq!((back, &body[..]), (head, &b"body"[..]));
        assert!(unframe::<Envelope>(&Bytes::from_static(b"\0\0\0\x09{}")).is_err());
        assert!(unframe::<Envelope>(&Bytes::from_static(b"\0")).is_err());

        let reply = Reply::encode(Ok(Some(Payload::text("hi"))));
        assert_eq!(Reply::decode("x", &reply).unwrap(), Payload::text("hi"));
        let full = Error::MailboxFull {
            component: "pricing".into(),
            capacity: 8,
            waited: Duration::from_millis(5),
        };
        let back = Reply::decode("pricing", &Reply::encode(Err(&full))).unwrap_err();
        assert_eq!(back.to_string(), full.to_string());
        let trap = Error::Trap {
            component: "pricing".into(),
            trap: Trap {
                kind: TrapKind::Panic(GuestPanic {
                    message: "boom".into(),
                    location: Some("src/lib.rs:1:1".into()),
                }),
                detail: String::new(),
            },
        };
        let back = Reply::decode("pricing", &Reply::encode(Err(&trap))).unwrap_err();
        assert_eq!(back.to_string(), trap.to_string());
        let garbage = Reply::decode("pricing", &Bytes::from_static(b"junk")).unwrap_err();
        assert!(matches!(garbage, Error::Unavailable { .. }), "{garbage:?}");
    }
}
