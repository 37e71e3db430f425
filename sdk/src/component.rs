//! The trait a component implements.

use crate::{Config, Error, Health, Message, Payload, Request, Result};

/// A WebAssembly component's behaviour. Implement it in an `impl` block marked
/// `#[airssys::component(...)]`; the macro exports it to the host.
///
/// The host creates one value of your type per instance with [`init`](Component::init) and
/// calls the handlers on it one at a time, so `&mut self` state persists between calls
/// without locks. Every handler except `init` has a default:
///
/// | handler | default |
/// |---|---|
/// | `init` | `Ok(Self::default())` (the macro writes it; needs `Default`) |
/// | `on_message` | fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) |
/// | `on_request` | fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) |
/// | `health` | [`Health::Healthy`] |
/// | `shutdown` | does nothing |
/// | `snapshot` | `Ok(None)`: nothing to hand over, the next version starts fresh |
/// | `restore` | fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), which aborts a deploy that hands state to it |
///
/// Handlers return domain errors as values ([`Error`]); a panic traps the instance instead,
/// and the host reports the panic message.
pub trait Component: Sized + 'static {
    /// Builds the state from the operator's configuration. Called once per instance, before
    /// any other handler; an error stops the instance from starting.
    fn init(config: &Config) -> Result<Self>;

    /// Handles a fire-and-forget message; nobody waits for the outcome, so an error is only
    /// logged by the host.
    fn on_message(&mut self, message: Message) -> Result<()> {
        let _ = message;
        Err(Error::unsupported(
            "this component does not handle messages",
        ))
    }

    /// Handles a request and returns the reply.
    fn on_request(&mut self, request: Request) -> Result<Payload> {
        let _ = request;
        Err(Error::unsupported(
            "this component does not handle requests",
        ))
    }

    /// Reports health; keep it cheap, the host may call it often.
    fn health(&self) -> Health {
        Health::Healthy
    }

    /// Called once before the instance is dropped: flush or release what it holds.
    fn shutdown(&mut self) {}

    /// Hands this instance's state to the version that replaces it in a deploy. The host
    /// calls it after the last call this instance serves and passes the payload to the new
    /// version's [`restore`](Component::restore) before the new version takes any traffic.
    /// `Ok(None)` (the default) lets the new version start fresh; an error aborts the deploy
    /// and this version keeps serving.
    ///
    /// ```
    /// # use airssys::prelude::*;
    /// #[derive(Default, serde::Serialize, serde::Deserialize)]
    /// struct Counter { count: u64 }
    ///
    /// impl Component for Counter {
    /// #   fn init(_: &Config) -> Result<Self> { Ok(Self::default()) }
    ///     fn snapshot(&self) -> Result<Option<Payload>> {
    ///         Ok(Some(Payload::json(self)?))
    ///     }
    ///     fn restore(&mut self, state: Payload) -> Result<()> {
    ///         *self = state.decode_json()?;
    ///         Ok(())
    ///     }
    /// }
    /// ```
    ///
    /// State handed over lives only in memory; storage ([`crate::storage`]) is the durable
    /// path.
    fn snapshot(&self) -> Result<Option<Payload>> {
        Ok(None)
    }

    /// Takes over the state the previous version's [`snapshot`](Component::snapshot)
    /// returned. Called after `init`, before any message or request. An error aborts the
    /// deploy, and the previous version keeps serving.
    fn restore(&mut self, state: Payload) -> Result<()> {
        let _ = state;
        Err(Error::unsupported(
            "this component does not restore state handed over by the version it replaces; implement `restore`, or deploy it without state handoff",
        ))
    }
}
