//! How a call into a component under the test host fails, worded as the host words it.

use std::fmt;

use airssys_contract::{CapabilityKind, PatternError, TopicError};

use crate::Error;

/// Why starting or calling a component under a [`TestHost`](super::TestHost) failed. The
/// messages read as the host's ([`airssys_host::Error`](https://docs.rs/airssys-host)): a
/// domain error is kept apart from a panic, which is a trap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// A pattern given to [`TestHost::grant`](super::TestHost::grant) is malformed.
    #[error("invalid grant: {0}")]
    InvalidGrant(PatternError),
    /// Strict mode: the component declares capabilities the test did not grant.
    #[error(
        "{component} was not started: it declares capabilities that are not granted: {}; grant them with TestHost::grant, or use Mode::Permissive or Mode::Development",
        missing.iter().map(|(k, p)| format!("{k} `{p}`")).collect::<Vec<_>>().join(", ")
    )]
    NotGranted {
        /// `name@version`.
        component: String,
        /// The declared patterns no grant covers.
        missing: Vec<(CapabilityKind, String)>,
    },
    /// The component type already runs on this thread (its state is one per thread).
    #[error(
        "{component} is already running on this thread; shut the other one down (or drop it) first"
    )]
    AlreadyRunning {
        /// `name@version`.
        component: String,
    },
    /// `init` returned an error: the component did not start.
    #[error("{component} failed to initialise: {error}")]
    Init {
        /// `name@version`.
        component: String,
        /// The error it returned.
        error: Error,
    },
    /// The component handled the call and returned a domain error.
    #[error("{component} returned an error: {error}")]
    Guest {
        /// `name@version`.
        component: String,
        /// The error it returned.
        error: Error,
    },
    /// The component panicked: under the host, a trap. Its state is gone; the next call
    /// starts a fresh one with `init`, as the host's default supervision does.
    #[error("{component} {panic}")]
    Trap {
        /// `name@version`.
        component: String,
        /// The panic's message and location.
        panic: Panic,
    },
    /// [`Running::publish`](super::Running::publish) was given a topic that cannot be
    /// published on (a wildcard, an empty token, ...).
    #[error(transparent)]
    InvalidTopic(TopicError),
    /// A JSON request could not be encoded, or its reply not decoded into the type asked for.
    #[error("JSON exchange with {component} failed: {error}")]
    Json {
        /// `name@version`.
        component: String,
        /// The encoding or decoding error.
        error: Error,
    },
}

impl CallError {
    /// The component's own domain error, if that is what this is.
    pub fn guest_error(&self) -> Option<&Error> {
        match self {
            Self::Guest { error, .. } | Self::Init { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A panic in a component, as the SDK reports it to the host before the trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    /// The panic message.
    pub message: String,
    /// `file:line:column`, when known.
    pub location: Option<String>,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "panicked at {location}: {}", self.message),
            None => write!(f, "panicked: {}", self.message),
        }
    }
}
