//! The embedder's handle to a running instance.

use std::sync::{Arc, Mutex};

use airssys_contract::{Health, Manifest, Payload};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::actor::{Actor, Call};
use crate::{Error, Result};

/// A running component instance: one `Store`, its state kept between calls.
///
/// Clones share the instance. Calls from any number of tasks are queued and served one at
/// a time, in order; separate instances run concurrently. When the last clone is dropped
/// the instance is shut down.
///
/// ```no_run
/// # async fn run() -> airssys_host::Result<()> {
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
    status: Arc<Status>,
}

/// Why an instance stopped, once it has.
#[derive(Default)]
pub(crate) struct Status {
    stopped: Mutex<Option<String>>,
}

impl Status {
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
    pub(crate) fn spawn(actor: Actor, manifest: Arc<Manifest>, capacity: usize) -> Self {
        let (mailbox, inbox) = mpsc::channel(capacity);
        let status = Arc::new(Status::default());
        tokio::spawn(actor.run(inbox, status.clone()));
        Self {
            mailbox,
            manifest,
            status,
        }
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
    /// it traps (the instance then stops), and [`Error::Stopped`] when it is not running.
    pub async fn request(&self, payload: Payload) -> Result<Payload> {
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

    /// True until the instance stops (shut down or trapped).
    pub fn is_running(&self) -> bool {
        self.status.reason().is_none() && !self.mailbox.is_closed()
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
                .status
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
