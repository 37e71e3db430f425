//! The embedder's handle to a component at an address.

use std::sync::Arc;

use airssys_contract::{Health, Manifest, Payload};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::mail::{Call, HyperIncomingBody, HyperOutgoingBody, Message, next_correlation};
use crate::policy::EffectiveCapabilities;
use crate::registry::{ComponentInfo, Entry};
use crate::runtime::Stats;
use crate::{Error, Identity, MemoryUsage, Result, State};

/// A running component: its instance keeps its state between calls.
///
/// Clones share the component. Calls from any number of tasks are queued and served one at
/// a time, in order; separate components run concurrently. A handle addresses what runs at
/// its address when it was started: each delivery goes through the address's route, so how
/// instances serve it can change without the handle noticing. The component runs until it
/// is shut down, a trap ends it, or its host and every handle are dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use airssys_host::Payload;
/// let greeter = airssys_host::load("greeter.wasm").await?;
/// let reply = greeter.request(Payload::json(&serde_json::json!({"name": "Ada"}))?).await?;
/// println!("{}", reply.as_text()?);
/// greeter.send(Payload::text("fire and forget")).await?;
/// greeter.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ComponentHandle {
    entry: Arc<Entry>,
    /// Stamps what the handle sends.
    clock: Clock,
}

impl ComponentHandle {
    pub(crate) fn new(entry: Arc<Entry>, clock: Clock) -> Self {
        Self { entry, clock }
    }

    /// Counters of requests, messages, traps, restarts and denials.
    pub fn stats(&self) -> Stats {
        self.entry.stats()
    }

    /// What the serving version may use: declared, granted, and the mode that decided.
    pub fn capabilities(&self) -> Arc<EffectiveCapabilities> {
        self.entry.current().capabilities.clone()
    }

    /// Current and peak linear memory.
    pub fn memory(&self) -> MemoryUsage {
        self.entry.memory()
    }

    /// The serving version's manifest: name, version and declared capabilities.
    pub fn manifest(&self) -> Arc<Manifest> {
        self.entry.current().manifest.clone()
    }

    /// The component's name, as the serving version's manifest declares it.
    pub fn name(&self) -> String {
        self.manifest().name().to_owned()
    }

    /// `name@version`, as its manifest declares them.
    pub fn label(&self) -> String {
        self.entry.identity().label()
    }

    /// The address it runs at.
    pub fn address(&self) -> &str {
        self.entry.address()
    }

    /// Its address, and the serving version's manifest name and version and content hash;
    /// displays as errors name it. A deploy changes it.
    pub fn identity(&self) -> Arc<Identity> {
        self.entry.identity()
    }

    /// Where it is in its life.
    pub fn state(&self) -> State {
        self.entry.state()
    }

    /// Identity, state, uptime, counters and memory, as [`Host::components`](crate::Host::components)
    /// lists them.
    pub fn info(&self) -> ComponentInfo {
        self.entry.info()
    }

    /// Sends a request and waits for the reply.
    ///
    /// Fails with [`Error::Guest`] when the component returns an error, [`Error::Trap`] when
    /// it traps (its [`Supervision`](crate::Supervision) then restarts or stops it),
    /// [`Error::PayloadTooLarge`] for a body over the limit, [`Error::Restarting`] during a
    /// restart under [`Pending::Fail`](crate::Pending::Fail), and [`Error::Stopped`] when it
    /// is not running.
    pub async fn request(&self, payload: Payload) -> Result<Payload> {
        let (reply, answer) = oneshot::channel();
        let call = Call::Request {
            message: Message::new(None, None, payload, self.clock.now()),
            correlation: next_correlation(),
            reply,
        };
        self.entry.deliver(call, None).await?;
        self.answer(answer).await?
    }

    /// Sends `request` as JSON and decodes the JSON reply into `R`.
    pub async fn request_json<Q, R>(&self, request: &Q) -> Result<R>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let json = |error| Error::Json {
            component: self.identity().to_string(),
            error,
        };
        let payload = Payload::json(request).map_err(json)?;
        self.request(payload).await?.decode_json().map_err(json)
    }

    /// Queues a fire-and-forget message. Returns once the mailbox accepted it (waiting for
    /// room if it is full); the component's handling is not awaited, and a failure there is
    /// logged on the `airssys::host` target.
    pub async fn send(&self, payload: Payload) -> Result<()> {
        let message = Message::new(None, None, payload, self.clock.now());
        self.entry.deliver(Call::Message(message), None).await
    }

    /// Hands an HTTP request to a `wasi:http` component and waits for its response head;
    /// the body streams from the guest as it writes it. Routed like every delivery, so a
    /// deploy's switch and canary split apply. An airssys component answers
    /// [`Error::NotServed`].
    pub(crate) async fn http(
        &self,
        request: hyper::Request<HyperIncomingBody>,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        let (reply, answer) = oneshot::channel();
        self.entry
            .deliver(Call::Http { request, reply }, None)
            .await?;
        self.answer(answer).await?
    }

    /// Asks the component for its health (one instance of a pool, in turn).
    pub async fn health(&self) -> Result<Health> {
        let (reply, answer) = oneshot::channel();
        self.entry.deliver(Call::Health(reply), None).await?;
        self.answer(answer).await?
    }

    /// Calls the component's `shutdown` after the calls queued before it, then stops it; when
    /// this returns it is [`State::Stopped`] and its address is free. Later calls fail with
    /// [`Error::Stopped`]; shutting down twice is harmless.
    pub async fn shutdown(&self) -> Result<()> {
        self.entry.close();
        for slot in self.entry.slots() {
            slot.mailbox.shutdown().await?;
        }
        Ok(())
    }

    /// True until the component stops for good (shut down, or a trap its policy does not
    /// restart).
    pub fn is_running(&self) -> bool {
        !self.state().is_final()
    }

    async fn answer<T>(&self, answer: oneshot::Receiver<T>) -> Result<T> {
        answer.await.map_err(|_| self.entry.stopped())
    }
}

impl std::fmt::Debug for ComponentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentHandle")
            .field("component", &self.identity().to_string())
            .field("state", &self.state())
            .finish()
    }
}
