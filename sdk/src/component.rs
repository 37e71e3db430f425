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
}
