//! Stop-start: the old version stops, then the new one starts. In between the address does
//! not serve: deliveries wait (they are not refused), which is the gap this strategy is
//! documented to have. Calls queued for the old version are not served by it: they move, in
//! order, to the new version, ahead of everything that arrives later. If the new version
//! does not start, the old one is started again (with its state) and takes them instead.

use std::sync::Arc;

use airssys_contract::Payload;

use super::steps::{self, Ctx};
use super::{Done, serving};
use crate::mail::Call;
use crate::registry::{Group, Release, Route, Routing, Slot, VersionState};
use crate::runtime::Parked;
use crate::{DeployStage, Error, Result};

pub(super) async fn run(ctx: &Ctx, release: &Arc<Release>, handoff: bool) -> Result<Done> {
    let old = serving(&ctx.entry);
    let before = ctx.entry.routing();
    ctx.report(
        DeployStage::HandingOver,
        format!("stopping {}", old.release.identity.label()),
    );
    steps::switch(&ctx.entry, before.held()).await;
    let mut evicted: Vec<(&Arc<Slot>, Parked)> = Vec::new();
    for slot in &old.slots {
        if let Some(parked) = slot.mailbox.evict().await {
            evicted.push((slot, parked));
        }
    }
    let mut states: Vec<Option<Payload>> = Vec::new();
    for (_, parked) in &mut evicted {
        let state = if handoff {
            match parked.actor.snapshot().await {
                Ok(state) => state,
                Err(err) => {
                    // Nothing stopped yet: the old instances go back to serving.
                    for (slot, parked) in evicted {
                        slot.mailbox.readmit(parked);
                    }
                    ctx.entry
                        .switch(Routing::new(before.groups.clone(), before.route));
                    return Err(ctx.fail(DeployStage::HandingOver, release, err));
                }
            }
        } else {
            None
        };
        states.push(state);
    }
    let mut queued: Vec<Call> = Vec::new();
    let reason = format!("replaced by {} (stop-start)", release.identity.label());
    for (_, parked) in evicted {
        queued.extend(parked.actor.retire(parked.inbox, &reason).await);
    }
    old.release.enter(VersionState::Standby, None);
    let (serving_release, slots, result) = match start_with(ctx, release, &states).await {
        Ok(slots) => (release.clone(), slots, Ok(())),
        Err((stage, err)) => {
            let failed = ctx.fail(stage, release, err);
            ctx.report(
                DeployStage::Starting,
                format!("{} comes back", old.release.identity.label()),
            );
            match start_with(ctx, &old.release, &states).await {
                Ok(slots) => (old.release.clone(), slots, Err(failed)),
                Err((_, again)) => {
                    // Nothing can serve: queued calls are answered as stopped when dropped.
                    ctx.entry
                        .switch(Routing::new(before.groups.clone(), before.route));
                    tracing::error!(target: "airssys::deploy", address = %ctx.entry.address(), "the old version did not come back after a failed stop-start deploy: {again}");
                    return Err(failed);
                }
            }
        }
    };
    for (at, call) in queued.into_iter().enumerate() {
        // Each instance started and serves, so this waits for room at worst.
        if let Err(closed) = slots[at % slots.len()].mailbox.send(call).await {
            drop(closed);
        }
    }
    let group = Group {
        release: serving_release.clone(),
        slots,
    };
    ctx.report(
        DeployStage::Switching,
        format!("{} serves", serving_release.identity.label()),
    );
    steps::switch(&ctx.entry, Routing::new(vec![group], Route::RoundRobin)).await;
    serving_release.enter(VersionState::Serving, None);
    result?;
    Ok(Done {
        handed_over: states.iter().any(Option::is_some),
        switched_after: ctx.started.elapsed(),
    })
}

/// Starts `release`'s instances and restores `states` into them, by position.
async fn start_with(
    ctx: &Ctx,
    release: &Release,
    states: &[Option<Payload>],
) -> Result<Vec<Arc<Slot>>, (DeployStage, Error)> {
    let slots = steps::start_checked(ctx, release, release.instances).await?;
    for (slot, state) in slots.iter().zip(states) {
        if let Some(state) = state
            && let Err(err) = steps::restore(slot, state.clone()).await
        {
            steps::stop_all(&slots).await;
            return Err((DeployStage::HandingOver, err));
        }
    }
    Ok(slots)
}
