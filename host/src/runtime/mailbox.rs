//! Where deliveries to one instance wait, and when its actor runs.
//!
//! The [`Actor`] runs as a task only while it has calls. When its queue is empty it parks in
//! the mailbox's [`Home`] and its task ends; the next delivery spawns it again. So an idle
//! instance costs no task, and a shutdown of an idle instance (the usual case) runs the
//! guest's `shutdown` in the caller's own task: starting and stopping an instance needs no
//! cross-thread wake-up at all (docs/benchmarks.md). What callers see does not change: calls
//! to one instance are served in order, one at a time, and a caller that stops waiting never
//! cancels a call already begun.
//!
//! The hand-over is race-free because both sides decide under the home's lock: a sender
//! queues its call first and then looks for a parked actor to spawn; the actor parks only if
//! its queue is still empty under the lock.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, mpsc, oneshot};

use super::Actor;
use crate::Result;
use crate::mail::Call;

/// The sending side of an instance's queue, and where its actor parks. Clones share both:
/// the registry keeps one, and so does each of the instance's subscriptions.
#[derive(Clone)]
pub(crate) struct Mailbox {
    // Declared first so it is dropped first: a parked actor woken by the home's drop then
    // sees that no sender is left.
    sender: mpsc::Sender<Call>,
    home: Arc<Home>,
}

/// The receiving side, until the started instance's actor takes it over
/// ([`serve`](Self::serve)).
pub(crate) struct Inbox {
    receiver: mpsc::Receiver<Call>,
    home: Arc<Home>,
}

/// The mailbox was closed (the instance stopped): the call, undelivered.
pub(crate) struct Closed(pub(crate) Call);

/// Where an idle actor waits for its next call.
pub(crate) struct Home {
    parked: Mutex<Option<Parked>>,
    /// Set while the actor is being evicted: it parks before its next call, and deliveries
    /// no longer wake it.
    evicting: Arc<AtomicBool>,
    /// Told when an evicted actor parks.
    surrendered: Notify,
    /// The runtime its actor's tasks run on.
    runtime: Handle,
}

/// An actor out of its task, with its queue.
pub(crate) struct Parked {
    pub(crate) actor: Actor,
    pub(crate) inbox: mpsc::Receiver<Call>,
}

impl Mailbox {
    /// A mailbox for up to `capacity` waiting calls; calls wait in it until an actor is
    /// handed the [`Inbox`]. Must be called inside a tokio runtime: the actor runs there.
    pub(crate) fn new(capacity: usize) -> (Self, Inbox) {
        let (sender, receiver) = mpsc::channel(capacity);
        let home = Arc::new(Home {
            parked: Mutex::new(None),
            evicting: Arc::default(),
            surrendered: Notify::new(),
            runtime: Handle::current(),
        });
        let inbox = Inbox {
            receiver,
            home: home.clone(),
        };
        (Self { sender, home }, inbox)
    }

    /// Queues `call`, waiting for room if the queue is full, and sets the actor going if it
    /// is parked.
    pub(crate) async fn send(&self, call: Call) -> Result<(), Closed> {
        self.sender.send(call).await.map_err(|err| Closed(err.0))?;
        self.wake();
        Ok(())
    }

    /// Queues `call` if there is room now, and sets the actor going if it is parked.
    // The refused call comes back to the sender by value, as tokio's `try_send` gives it;
    // boxing it would allocate on the full-mailbox path that floods hit hardest.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_send(&self, call: Call) -> Result<(), TrySendError<Call>> {
        self.sender.try_send(call)?;
        self.wake();
        Ok(())
    }

    /// How many calls it holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.sender.max_capacity()
    }

    /// How many calls wait in it now.
    pub(crate) fn queued(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    fn wake(&self) {
        if let Some(Parked { actor, inbox }) = self.home.unpark() {
            self.home.runtime.spawn(actor.run(inbox));
        }
    }

    /// Takes the actor out of service after the call it is serving, with its queue as it
    /// stands: the caller then owns the instance (to snapshot it and retire it). `None` once
    /// the instance stopped for good. Deliveries must not be coming in meanwhile: they would
    /// queue behind the eviction and go wherever the caller moves the queue.
    pub(crate) async fn evict(&self) -> Option<Parked> {
        self.home.evicting.store(true, Ordering::Release);
        // A parked actor with calls queued is woken to take the eviction at its next call.
        let closed = self.sender.closed();
        tokio::pin!(closed);
        loop {
            let surrendered = self.home.surrendered.notified();
            tokio::pin!(surrendered);
            surrendered.as_mut().enable();
            if let Some(parked) = self.home.parked().take() {
                return Some(parked);
            }
            tokio::select! {
                () = &mut surrendered => {}
                () = &mut closed => return self.home.parked().take(),
            }
        }
    }

    /// Puts an evicted actor back in service, as it was: a deploy that evicted it gave up.
    pub(crate) fn readmit(&self, parked: Parked) {
        self.home.evicting.store(false, Ordering::Release);
        let Parked { actor, inbox } = parked;
        self.home.park(actor, inbox);
    }

    /// Runs the guest's `shutdown` after the calls queued before it, and returns once the
    /// instance is stopped. An idle instance is stopped in the caller's task, if that runs on
    /// tokio (the call path needs its timers).
    pub(crate) async fn shutdown(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let here = Handle::try_current().is_ok();
        match self.home.unpark() {
            Some(Parked { actor, inbox }) if here && inbox.is_empty() => {
                Detached::new(actor.shut_down(inbox, reply), &self.home.runtime).await;
            }
            parked => {
                // Calls queued ahead of the shutdown are served first, by the actor's task.
                if let Some(Parked { actor, inbox }) = parked {
                    self.home.runtime.spawn(actor.run(inbox));
                }
                if self.send(Call::Shutdown(reply)).await.is_err() {
                    return Ok(());
                }
            }
        }
        answer.await.unwrap_or(Ok(()))
    }
}

impl Inbox {
    /// Hands the queue to the started instance's `actor`, which waits in its home for the
    /// first call (or serves at once if calls came while it started).
    pub(crate) fn serve(self, mut actor: Actor) {
        actor.home = Arc::downgrade(&self.home);
        actor.evicting = self.home.evicting.clone();
        self.home.park(actor, self.receiver);
    }
}

impl Home {
    /// Parks `actor` until the next delivery; if a call arrived meanwhile, it keeps serving
    /// in a task instead.
    pub(super) fn park(&self, actor: Actor, inbox: mpsc::Receiver<Call>) {
        let mut parked = self.parked();
        if self.evicting.load(Ordering::Acquire) {
            *parked = Some(Parked { actor, inbox });
            drop(parked);
            self.surrendered.notify_waiters();
        } else if inbox.is_empty() {
            *parked = Some(Parked { actor, inbox });
        } else {
            drop(parked);
            self.runtime.spawn(actor.run(inbox));
        }
    }

    /// The parked actor, to run; none while it is being evicted (only the eviction takes
    /// it then).
    fn unpark(&self) -> Option<Parked> {
        if self.evicting.load(Ordering::Acquire) {
            return None;
        }
        self.parked().take()
    }

    fn parked(&self) -> MutexGuard<'_, Option<Parked>> {
        // An `Option` stays consistent even if a holder panicked, so poisoning is ignored.
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Home {
    /// Every handle and the host are gone: a parked actor runs once more, finds no sender
    /// left, and stops the instance (the guest's `shutdown`, then `Stopped`).
    fn drop(&mut self) {
        let parked = self.parked.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(Parked { actor, inbox }) = parked.take() {
            self.runtime.spawn(actor.run(inbox));
        }
    }
}

/// Drives a future in the caller's task; if the caller stops waiting first, the rest runs
/// as a task of its own, so a stop once begun always ends.
struct Detached {
    future: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    runtime: Handle,
}

impl Detached {
    fn new(future: impl Future<Output = ()> + Send + 'static, runtime: &Handle) -> Self {
        Self {
            future: Some(Box::pin(future)),
            runtime: runtime.clone(),
        }
    }
}

impl Future for Detached {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(future) = &mut self.future {
            std::task::ready!(future.as_mut().poll(cx));
            self.future = None;
        }
        Poll::Ready(())
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(future) = self.future.take() {
            self.runtime.spawn(future);
        }
    }
}
