//! The embedder's handle to a running instance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use airssys_contract::{Health, Manifest, Payload};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::actor::{Actor, Call};
use crate::grants::EffectiveCapabilities;
use crate::sandbox::{MemoryStats, MemoryUsage};
use crate::{Error, Result};

/// A running component instance: one `Store`, its state kept between calls.
///
/// Clones share the instance. Calls from any number of tasks are queued and served one at
/// a time, in order; separate instances run concurrently. When the last clone is dropped
/// the instance is shut down.
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
    mailbox: mpsc::Sender<Call>,
    manifest: Arc<Manifest>,
    shared: Arc<Shared>,
    max_payload: usize,
}

/// Counters of one handle's instances, from [`ComponentHandle::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests served (whatever their outcome).
    pub requests: u64,
    /// Messages handled (whatever their outcome).
    pub messages: u64,
    /// Traps, including those during restarts.
    pub traps: u64,
    /// Fresh instances started after traps.
    pub restarts: u64,
    /// Capability checks that denied a host call.
    pub denials: u64,
}

/// What the actor shares with its handles: counters, memory figures and why it stopped.
pub(crate) struct Shared {
    stopped: Mutex<Option<String>>,
    pub(crate) requests: AtomicU64,
    pub(crate) messages: AtomicU64,
    pub(crate) traps: AtomicU64,
    pub(crate) restarts: AtomicU64,
    memory: Arc<MemoryStats>,
    denials: Arc<AtomicU64>,
    capabilities: Arc<EffectiveCapabilities>,
}

impl Shared {
    pub(crate) fn stop(&self, reason: String) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
    }

    fn reason(&self) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ComponentHandle {
    pub(crate) fn spawn(actor: Actor, capacity: usize) -> Self {
        let (mailbox, inbox) = mpsc::channel(capacity);
        let spec = actor.spec();
        let shared = Arc::new(Shared {
            stopped: Mutex::default(),
            requests: AtomicU64::default(),
            messages: AtomicU64::default(),
            traps: AtomicU64::default(),
            restarts: AtomicU64::default(),
            memory: spec.memory.clone(),
            denials: spec.denials.clone(),
            capabilities: spec.capabilities.clone(),
        });
        let manifest = actor.prepared().manifest_arc();
        let max_payload = actor.spec().limits.max_payload;
        tokio::spawn(actor.run(inbox, shared.clone()));
        Self {
            mailbox,
            manifest,
            shared,
            max_payload,
        }
    }

    /// Counters of requests, messages, traps and restarts.
    pub fn stats(&self) -> Stats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            requests: load(&self.shared.requests),
            messages: load(&self.shared.messages),
            traps: load(&self.shared.traps),
            restarts: load(&self.shared.restarts),
            denials: load(&self.shared.denials),
        }
    }

    /// What the instance may use: declared, granted, and the mode that decided.
    pub fn capabilities(&self) -> &EffectiveCapabilities {
        &self.shared.capabilities
    }

    /// Current and peak linear memory of the instance.
    pub fn memory(&self) -> MemoryUsage {
        self.shared.memory.usage()
    }

    /// The component's manifest: name, version and declared capabilities.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        self.manifest.name()
    }

    /// `name@version`, as errors name the component.
    pub fn label(&self) -> String {
        format!("{}@{}", self.manifest.name(), self.manifest.version())
    }

    /// Sends a request and waits for the reply.
    ///
    /// Fails with [`Error::Guest`] when the component returns an error, [`Error::Trap`] when
    /// it traps (its [`Supervision`](crate::Supervision) then restarts or stops it),
    /// [`Error::PayloadTooLarge`] for a body over the limit, [`Error::Restarting`] during a
    /// restart under [`Pending::Fail`](crate::Pending::Fail), and [`Error::Stopped`] when it
    /// is not running.
    pub async fn request(&self, payload: Payload) -> Result<Payload> {
        self.check_size(&payload)?;
        let (reply, answer) = oneshot::channel();
        self.deliver(Call::Request(payload, reply)).await?;
        self.answer(answer).await?
    }

    /// Sends `request` as JSON and decodes the JSON reply into `R`.
    pub async fn request_json<Q, R>(&self, request: &Q) -> Result<R>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let json = |error| Error::Json {
            component: self.label(),
            error,
        };
        let payload = Payload::json(request).map_err(json)?;
        self.request(payload).await?.decode_json().map_err(json)
    }

    /// Queues a fire-and-forget message. Returns once the instance's mailbox accepted it
    /// (waiting for room if it is full); the component's handling is not awaited, and a
    /// failure there is logged on the `airssys::host` target.
    pub async fn send(&self, payload: Payload) -> Result<()> {
        self.check_size(&payload)?;
        self.deliver(Call::Message(payload)).await
    }

    /// Asks the component for its health.
    pub async fn health(&self) -> Result<Health> {
        let (reply, answer) = oneshot::channel();
        self.deliver(Call::Health(reply)).await?;
        self.answer(answer).await?
    }

    /// Calls the component's `shutdown` after the calls queued before it, then stops the
    /// instance. Later calls fail with [`Error::Stopped`]; shutting down twice is harmless.
    pub async fn shutdown(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.mailbox.send(Call::Shutdown(reply)).await.is_err() {
            return Ok(());
        }
        answer.await.unwrap_or(Ok(()))
    }

    /// True until the instance stops for good (shut down, or a trap its policy does not
    /// restart).
    pub fn is_running(&self) -> bool {
        self.shared.reason().is_none() && !self.mailbox.is_closed()
    }

    fn check_size(&self, payload: &Payload) -> Result<()> {
        let size = payload.body().len();
        if size > self.max_payload {
            return Err(Error::PayloadTooLarge {
                component: self.label(),
                direction: "request",
                size,
                limit: self.max_payload,
            });
        }
        Ok(())
    }

    async fn deliver(&self, call: Call) -> Result<()> {
        self.mailbox.send(call).await.map_err(|_| self.stopped())
    }

    async fn answer<T>(&self, answer: oneshot::Receiver<T>) -> Result<T> {
        answer.await.map_err(|_| self.stopped())
    }

    fn stopped(&self) -> Error {
        Error::Stopped {
            component: self.label(),
            reason: self
                .shared
                .reason()
                .unwrap_or_else(|| "its task ended".to_owned()),
        }
    }
}

impl std::fmt::Debug for ComponentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentHandle")
            .field("component", &self.label())
            .field("running", &self.is_running())
            .finish()
    }
}
