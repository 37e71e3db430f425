//! The steps every strategy is made of.

use std::sync::Arc;
use std::time::Instant;

use airssys_contract::{Health, Payload};
use tokio::sync::{mpsc, oneshot, watch};

use super::Progress;
use crate::mail::Call;
use crate::registry::{Entry, Release, Routing, Slot, VersionState};
use crate::{DeployStage, Error, Result};

/// One deploy: the address, where progress goes, and when it began.
pub(crate) struct Ctx {
    pub(crate) entry: Arc<Entry>,
    /// The latest step, for whoever looks now.
    pub(crate) progress: watch::Sender<Progress>,
    /// Every step, in order, for whoever follows the deploy.
    steps: mpsc::UnboundedSender<Progress>,
    pub(crate) started: Instant,
}

impl Ctx {
    pub(crate) fn new(
        entry: Arc<Entry>,
        progress: watch::Sender<Progress>,
        steps: mpsc::UnboundedSender<Progress>,
    ) -> Self {
        Self {
            entry,
            progress,
            steps,
            started: Instant::now(),
        }
    }

    pub(crate) fn report(&self, stage: DeployStage, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::info!(target: "airssys::deploy", address = %self.entry.address(), %stage, "{detail}");
        let step = Progress { stage, detail };
        // Nobody following is fine.
        let _ = self.steps.send(step.clone());
        self.progress.send_replace(step);
    }

    /// The deploy of `release` failed at `stage` for `cause`: the version is marked failed
    /// and the error says what serves the address instead.
    pub(crate) fn fail(&self, stage: DeployStage, release: &Release, cause: Error) -> Error {
        release.enter(VersionState::Failed, Some(cause.to_string()));
        Error::Deploy {
            address: self.entry.address().to_owned(),
            version: release.identity.label(),
            stage,
            cause: Box::new(cause),
            serving: self.entry.identity().label(),
        }
    }
}

/// Starts `count` instances of `release` and health-checks each, reporting as it goes. On a
/// failure the instances already up stop, and the error names the stage.
pub(crate) async fn start_checked(
    ctx: &Ctx,
    release: &Release,
    count: usize,
) -> Result<Vec<Arc<Slot>>, (DeployStage, Error)> {
    release.enter(VersionState::Deploying, None);
    ctx.report(
        DeployStage::Starting,
        format!(
            "starting {count} instance(s) of {}",
            release.identity.label()
        ),
    );
    let mut slots = Vec::with_capacity(count);
    for _ in 0..count {
        match release.start_instance(&ctx.entry).await {
            Ok(slot) => slots.push(slot),
            Err(err) => {
                stop_all(&slots).await;
                return Err((DeployStage::Starting, err));
            }
        }
    }
    ctx.report(
        DeployStage::CheckingHealth,
        format!("checking the health of {}", release.identity.label()),
    );
    for slot in &slots {
        let healthy = match ask(slot, Call::Health).await {
            Ok(Health::Unhealthy(why)) => Err(Error::Unhealthy {
                component: slot.shared.identity().to_string(),
                health: Health::Unhealthy(why),
            }),
            Ok(_) => Ok(()),
            Err(err) => Err(err),
        };
        if let Err(err) = healthy {
            stop_all(&slots).await;
            return Err((DeployStage::CheckingHealth, err));
        }
    }
    Ok(slots)
}

/// Hands each old instance's state to the new instance in its place (by position; new
/// instances past the old ones start fresh). The old instances serve what is queued for
/// them first, so deliveries must be held: nothing may reach either side meanwhile. Returns
/// how many states were handed over.
pub(crate) async fn hand_over(old: &[Arc<Slot>], new: &[Arc<Slot>]) -> Result<usize> {
    let mut handed = 0;
    for (from, to) in old.iter().zip(new) {
        if let Some(state) = ask(from, Call::Snapshot).await? {
            restore(to, state).await?;
            handed += 1;
        }
    }
    Ok(handed)
}

/// Restores `state` into `slot` before it takes traffic.
pub(crate) async fn restore(slot: &Slot, state: Payload) -> Result<()> {
    ask(slot, |reply| Call::Restore(state, reply)).await
}

/// Makes `routing` current and waits for deliveries still under way through the one it
/// replaces, which it returns: everything sent through it is queued now.
pub(crate) async fn switch(entry: &Entry, routing: Routing) -> Arc<Routing> {
    let old = entry.switch(routing);
    old.quiesce().await;
    old
}

/// `release`, replaced, finishes what is queued for its `slots` and stops; it stays kept,
/// ready for a rollback.
pub(crate) async fn drain(release: &Release, slots: &[Arc<Slot>]) {
    release.enter(VersionState::Draining, None);
    stop_all(slots).await;
    release.enter(VersionState::Standby, None);
}

/// Shuts each instance down after what is queued for it.
pub(crate) async fn stop_all(slots: &[Arc<Slot>]) {
    for slot in slots {
        // A failed shutdown is the guest's; the instance stops all the same.
        let _ = slot.mailbox.shutdown().await;
    }
}

/// Sends `slot` the call `make` builds around a reply channel, and waits for the answer.
async fn ask<T>(slot: &Slot, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Call) -> Result<T> {
    let stopped = || Error::Stopped {
        component: slot.shared.identity().to_string(),
        reason: slot
            .shared
            .stop_reason()
            .unwrap_or_else(|| "it stopped during the deploy".to_owned()),
    };
    let (reply, answer) = oneshot::channel();
    slot.mailbox
        .send(make(reply))
        .await
        .map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}
