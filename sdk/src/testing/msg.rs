//! `airssys::msg` under the test host: every address and topic checked as the host checks
//! them, then delivered to the test's scripted components, and recorded.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use airssys_contract::{CapabilityKind, escape_controls, validate_name, validate_topic};

use super::scope::{self, Scope};
use crate::msg::{MsgError, Published};
use crate::{Error, Payload, Request};

/// A scripted component's answer to a request.
pub(crate) type Reply = Rc<dyn Fn(Request) -> Result<Payload, MsgError>>;

/// What a component sent, requested or published, once its checks passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outgoing {
    /// A [`msg::send`](crate::msg::send).
    Send {
        /// The address.
        to: String,
        /// The payload.
        payload: Payload,
    },
    /// A [`msg::request`](crate::msg::request).
    Request {
        /// The address.
        to: String,
        /// The payload.
        payload: Payload,
    },
    /// A [`msg::publish`](crate::msg::publish).
    Publish {
        /// The topic.
        topic: String,
        /// The payload.
        payload: Payload,
    },
}

/// The scripted components, subscriptions, and everything sent.
#[derive(Default)]
pub(crate) struct Mailroom {
    /// Address -> its answer to requests (`None`: it handles messages only).
    peers: BTreeMap<String, Option<Reply>>,
    /// `(address, pattern)` pairs.
    subscriptions: Vec<(String, String)>,
    outgoing: Vec<Outgoing>,
}

impl Mailroom {
    pub(crate) fn peer(&mut self, address: &str, reply: Option<Reply>) {
        self.peers.insert(address.to_owned(), reply);
    }

    pub(crate) fn subscribe(&mut self, address: &str, pattern: &str) {
        self.subscriptions
            .push((address.to_owned(), pattern.to_owned()));
    }

    pub(crate) fn outgoing(&self) -> &[Outgoing] {
        &self.outgoing
    }

    pub(crate) fn sent_to(&self, address: &str) -> Vec<Payload> {
        self.outgoing
            .iter()
            .filter_map(|out| match out {
                Outgoing::Send { to, payload } | Outgoing::Request { to, payload }
                    if to == address =>
                {
                    Some(payload.clone())
                }
                _ => None,
            })
            .collect()
    }

    pub(crate) fn published_on(&self, topic: &str) -> Vec<Payload> {
        self.outgoing
            .iter()
            .filter_map(|out| match out {
                Outgoing::Publish { topic: t, payload } if t == topic => Some(payload.clone()),
                _ => None,
            })
            .collect()
    }
}

fn current() -> Result<Scope, MsgError> {
    scope::current().ok_or_else(|| MsgError::Unsupported(scope::no_host("airssys::msg")))
}

/// Checks the address and the `message` capability, as the host does before delivering.
fn addressed(scope: &Scope, to: &str) -> Result<(), MsgError> {
    validate_name(to).map_err(|_| {
        MsgError::Invalid(format!(
            "`{}` is not an address: addresses are kebab-case names (lowercase letters, digits and `-`, starting with a letter, at most 64 bytes)",
            escape_controls(to)
        ))
    })?;
    scope
        .guest
        .check(CapabilityKind::Message, to, None)
        .map_err(|denial| MsgError::Denied(denial.message))
}

fn no_such_component(to: &str) -> MsgError {
    MsgError::NoSuchComponent(format!(
        "no component runs at address `{to}`; script one with TestHost::reply or TestHost::peer"
    ))
}

pub(crate) fn send(to: &str, payload: Payload, _timeout: Duration) -> Result<(), MsgError> {
    let scope = current()?;
    addressed(&scope, to)?;
    let mut mailroom = scope.host.mailroom.borrow_mut();
    if !mailroom.peers.contains_key(to) {
        return Err(no_such_component(to));
    }
    mailroom.outgoing.push(Outgoing::Send {
        to: to.to_owned(),
        payload,
    });
    Ok(())
}

pub(crate) fn request(to: &str, payload: Payload, _timeout: Duration) -> Result<Payload, MsgError> {
    let scope = current()?;
    addressed(&scope, to)?;
    let reply = {
        let mut mailroom = scope.host.mailroom.borrow_mut();
        let Some(reply) = mailroom.peers.get(to).cloned() else {
            return Err(no_such_component(to));
        };
        mailroom.outgoing.push(Outgoing::Request {
            to: to.to_owned(),
            payload: payload.clone(),
        });
        reply
    };
    let Some(reply) = reply else {
        // What the SDK's default `on_request` answers.
        return Err(MsgError::Target(Error::unsupported(
            "this component does not handle requests",
        )));
    };
    let request = Request::new(payload)
        .with_source(scope.guest.name.clone())
        .with_correlation_id(scope.host.correlation_id())
        .with_timestamp(scope.host.clock.now());
    // Not borrowed meanwhile: the reply may look at the test host.
    reply(request)
}

pub(crate) fn publish(
    topic: &str,
    payload: Payload,
    _timeout: Duration,
) -> Result<Published, MsgError> {
    let scope = current()?;
    validate_topic(topic).map_err(|err| MsgError::Invalid(err.to_string()))?;
    scope
        .guest
        .check(CapabilityKind::Publish, topic, None)
        .map_err(|denial| MsgError::Denied(denial.message))?;
    let mut mailroom = scope.host.mailroom.borrow_mut();
    let mut reached: Vec<&str> = mailroom
        .subscriptions
        .iter()
        .filter(|(_, pattern)| CapabilityKind::Subscribe.matches(pattern, topic))
        .map(|(address, _)| address.as_str())
        .collect();
    reached.sort_unstable();
    reached.dedup();
    let delivered = u32::try_from(reached.len()).unwrap_or(u32::MAX);
    mailroom.outgoing.push(Outgoing::Publish {
        topic: topic.to_owned(),
        payload,
    });
    Ok(Published {
        delivered,
        missed: 0,
    })
}
