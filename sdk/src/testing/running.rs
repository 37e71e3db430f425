//! Driving a component type through the glue the host calls: the same `Export<T>` functions
//! the macro exports to the wasm lifecycle, called directly.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::UNIX_EPOCH;

use airssys_contract::{CapabilityKind, EffectiveCapabilities, Manifest, validate_topic};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{CallError, Panic};
use super::host::TestHost;
use super::scope::{self, Guest, Scope};
use crate::__private::bindings::airssys::core::types as wit;
use crate::__private::bindings::exports::airssys::core::lifecycle::Guest as Lifecycle;
use crate::__private::{Export, Registered, from_wit_error, panic_message};
use crate::{Error, Health, Payload};

impl TestHost {
    /// Starts component `T` (a type with `#[airssys::component]` on its `impl Component`):
    /// decides its capabilities from what it declares and what the test granted, then runs
    /// its `init` with the test's configuration, as the host does.
    ///
    /// Fails as the host would: [`CallError::NotGranted`] in strict mode,
    /// [`CallError::Init`] when `init` returns an error, [`CallError::Trap`] when it panics.
    pub fn start<T: Registered>(&self) -> Result<Running<T>, CallError> {
        let manifest = Manifest::from_bytes(T::MANIFEST)
            .expect("#[airssys::component] embeds a manifest this SDK reads");
        let component = format!("{}@{}", manifest.name(), manifest.version());
        let setup = self.inner.setup.borrow();
        if let Some(bad) = &setup.bad_grant {
            return Err(CallError::InvalidGrant(bad.clone()));
        }
        let capabilities =
            EffectiveCapabilities::decide(manifest.capabilities(), &setup.grants, setup.mode)
                .map_err(|refused| CallError::NotGranted {
                    component: component.clone(),
                    missing: refused.missing,
                })?;
        if T::with_state(|cell| cell.borrow().is_some()) {
            return Err(CallError::AlreadyRunning { component });
        }
        let guest = Guest {
            name: manifest.name().to_owned(),
            version: manifest.version().to_string(),
            capabilities,
            config: setup.config.clone(),
            namespaces: Default::default(),
            panic: Default::default(),
        };
        drop(setup);
        let mut running = Running {
            scope: Scope {
                host: self.inner.clone(),
                guest: Rc::new(guest),
            },
            trapped: false,
            restarts: 0,
            component: PhantomData,
        };
        running.init()?;
        Ok(running)
    }
}

/// A component started by [`TestHost::start`]: each call goes through the glue the host
/// calls, with the test host serving the component's host calls meanwhile.
///
/// Calls run one at a time on the test's thread. A panic is a trap, as under the host: the
/// call fails with [`CallError::Trap`] (message and location), the state is dropped without
/// running destructors, and the next call first starts a fresh instance with `init`, as the
/// host's default supervision does (at once, with no backoff or limit).
pub struct Running<T: Registered> {
    scope: Scope,
    trapped: bool,
    restarts: u32,
    /// The scope's `Rc`s keep it on this thread, where the state lives.
    component: PhantomData<fn() -> T>,
}

impl<T: Registered> Running<T> {
    /// `name@version`, as errors name it.
    pub fn label(&self) -> String {
        self.scope.guest.label()
    }

    /// What the component may use: declared, granted, decided by the mode.
    pub fn capabilities(&self) -> &EffectiveCapabilities {
        &self.scope.guest.capabilities
    }

    /// How many times a trap made it start again.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Sends a request and returns the reply (`on_request`).
    pub fn request(&mut self, payload: Payload) -> Result<Payload, CallError> {
        let host = &self.scope.host;
        let request = wit::Request {
            source: None,
            correlation_id: host.correlation_id(),
            timestamp: datetime(host.clock.now()),
            payload: lower(payload),
        };
        let reply = self.call(|| Export::<T>::handle_request(request))?;
        match reply {
            Ok(payload) => Ok(Payload::new(payload.content_type, payload.body)),
            Err(error) => Err(self.guest_error(error)),
        }
    }

    /// [`request`](Self::request) with `query` as JSON and the reply decoded from JSON.
    pub fn request_json<Q, R>(&mut self, query: &Q) -> Result<R, CallError>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let payload = Payload::json(query).map_err(|error| self.json_error(error))?;
        self.request(payload)?
            .decode_json()
            .map_err(|error| self.json_error(error))
    }

    /// Delivers a fire-and-forget message (`on_message`). Under the host nobody waits for its
    /// outcome and an error is only logged; here the test sees it.
    pub fn send(&mut self, payload: Payload) -> Result<(), CallError> {
        self.message(None, payload)
    }

    /// [`send`](Self::send) of `value` as JSON.
    pub fn send_json<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), CallError> {
        let payload = Payload::json(value).map_err(|error| self.json_error(error))?;
        self.send(payload)
    }

    /// Publishes `payload` on `topic` as another component would: delivered (with the topic
    /// set) when the component subscribes to it, that is, declared and was granted a
    /// `subscribe` pattern matching it. Returns whether it was delivered.
    pub fn publish(&mut self, topic: &str, payload: Payload) -> Result<bool, CallError> {
        validate_topic(topic).map_err(CallError::InvalidTopic)?;
        let subscribed = self
            .scope
            .guest
            .capabilities
            .allows(CapabilityKind::Subscribe, topic);
        if subscribed {
            self.message(Some(topic.to_owned()), payload)?;
        }
        Ok(subscribed)
    }

    fn message(&mut self, topic: Option<String>, payload: Payload) -> Result<(), CallError> {
        let message = wit::Message {
            source: None,
            topic,
            timestamp: datetime(self.scope.host.clock.now()),
            payload: lower(payload),
        };
        self.call(|| Export::<T>::handle_message(message))?
            .map_err(|error| self.guest_error(error))
    }

    /// Its health, as the host's health checks see it.
    pub fn health(&mut self) -> Result<Health, CallError> {
        Ok(match self.call(Export::<T>::health)? {
            wit::HealthStatus::Healthy => Health::Healthy,
            wit::HealthStatus::Degraded(why) => Health::Degraded(why),
            wit::HealthStatus::Unhealthy(why) => Health::Unhealthy(why),
        })
    }

    /// Calls `shutdown` and drops the state, as the host does when it stops the component.
    pub fn shutdown(mut self) -> Result<(), CallError> {
        if self.trapped {
            return Ok(());
        }
        self.call(Export::<T>::shutdown)
    }

    fn init(&mut self) -> Result<(), CallError> {
        let config = self.scope.guest.config.clone();
        self.enter(|| Export::<T>::init(config))?
            .map_err(|error| CallError::Init {
                component: self.label(),
                error: from_wit_error(error),
            })
    }

    /// Runs `f` against the component, first starting a fresh instance if the last call
    /// trapped.
    fn call<R>(&mut self, f: impl FnOnce() -> R) -> Result<R, CallError> {
        if self.trapped {
            self.init()?;
            self.trapped = false;
            self.restarts += 1;
        }
        self.enter(f)
    }

    /// Runs `f` with the test host serving the component's host calls; a panic is a trap.
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> Result<R, CallError> {
        let guest = self.scope.guest.clone();
        guest.panic.take();
        let entered = scope::enter(self.scope.clone());
        let outcome = catch_unwind(AssertUnwindSafe(f));
        drop(entered);
        outcome.map_err(|payload| {
            self.trapped = true;
            // A trapped wasm instance is discarded, its destructors never run: forget it too.
            if let Some(state) = T::with_state(|cell| cell.borrow_mut().take()) {
                std::mem::forget(state);
            }
            let panic = guest.panic.take().unwrap_or_else(|| Panic {
                message: panic_message(payload.as_ref()),
                location: None,
            });
            CallError::Trap {
                component: guest.label(),
                panic,
            }
        })
    }

    fn guest_error(&self, error: wit::Error) -> CallError {
        CallError::Guest {
            component: self.label(),
            error: from_wit_error(error),
        }
    }

    fn json_error(&self, error: Error) -> CallError {
        CallError::Json {
            component: self.label(),
            error,
        }
    }
}

impl<T: Registered> Drop for Running<T> {
    /// Drops the state without calling `shutdown`, so the type can start again on this thread.
    fn drop(&mut self) {
        let state = T::with_state(|cell| cell.borrow_mut().take());
        if std::thread::panicking() {
            // The test is already failing; a panicking destructor now would abort it.
            std::mem::forget(state);
        }
    }
}

impl<T: Registered> std::fmt::Debug for Running<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("component", &self.label())
            .field("trapped", &self.trapped)
            .field("restarts", &self.restarts)
            .finish()
    }
}

fn lower(payload: Payload) -> wit::Payload {
    let (content_type, body) = payload.into_parts();
    wit::Payload { content_type, body }
}

fn datetime(time: std::time::SystemTime) -> wit::Datetime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    wit::Datetime {
        seconds: since.as_secs(),
        nanoseconds: since.subsec_nanos(),
    }
}
