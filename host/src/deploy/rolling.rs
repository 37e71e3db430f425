//! Rolling, for an address served by a pool: `batch` new instances start and pass their
//! health check, then take the place of as many old ones, which finish what is queued for
//! them and stop; again until the pool is new. Meanwhile the pool's old and new instances
//! share the traffic round-robin. With state handoff, each batch's deliveries are held while
//! the instances it replaces hand their state to the ones taking their place.
//!
//! A batch that fails undoes the deploy: the new instances are replaced by fresh instances
//! of the old version, so the pool is the old version again.

use std::sync::Arc;

use super::steps::{self, Ctx};
use super::{Done, serving};
use crate::registry::{Group, Release, Route, Routing, Slot, VersionState};
use crate::{DeployStage, Error, Result};

pub(super) async fn run(
    ctx: &Ctx,
    release: &Arc<Release>,
    batch: usize,
    handoff: bool,
) -> Result<Done> {
    let old = serving(&ctx.entry);
    let (total_old, target) = (old.slots.len(), release.instances);
    let mut old_left: Vec<Arc<Slot>> = old.slots.clone();
    let mut fresh_all: Vec<Arc<Slot>> = Vec::new();
    let mut handed_over = false;
    while fresh_all.len() < target || !old_left.is_empty() {
        let count = batch.min(target - fresh_all.len());
        let fresh = match steps::start_checked(ctx, release, count).await {
            Ok(fresh) => fresh,
            Err((stage, err)) => {
                return Err(undo(ctx, release, &old, old_left, fresh_all, stage, err).await);
            }
        };
        let retiring: Vec<Arc<Slot>> = old_left.drain(..batch.min(old_left.len())).collect();
        if handoff && !retiring.is_empty() && !fresh.is_empty() {
            let before = ctx.entry.routing();
            steps::switch(&ctx.entry, before.held()).await;
            match steps::hand_over(&retiring, &fresh).await {
                Ok(handed) => handed_over |= handed > 0,
                Err(err) => {
                    ctx.entry
                        .switch(Routing::new(before.groups.clone(), before.route));
                    steps::stop_all(&fresh).await;
                    old_left.splice(0..0, retiring);
                    let stage = DeployStage::HandingOver;
                    return Err(undo(ctx, release, &old, old_left, fresh_all, stage, err).await);
                }
            }
        }
        fresh_all.extend(fresh);
        steps::switch(
            &ctx.entry,
            pool(&old.release, &old_left, release, &fresh_all),
        )
        .await;
        steps::stop_all(&retiring).await;
        ctx.report(
            DeployStage::Rolling,
            format!(
                "{} of {target} instance(s) are {}; {} of {total_old} old one(s) left",
                fresh_all.len(),
                release.identity.label(),
                old_left.len()
            ),
        );
        if ctx.entry.is_closing() {
            steps::stop_all(&fresh_all).await;
            steps::stop_all(&old_left).await;
            return Err(ctx.fail(DeployStage::Rolling, release, ctx.entry.stopped()));
        }
    }
    let switched_after = ctx.started.elapsed();
    release.enter(VersionState::Serving, None);
    old.release.enter(VersionState::Standby, None);
    Ok(Done {
        handed_over,
        switched_after,
    })
}

/// The pool while it rolls: what is left of the old version, then the new instances.
fn pool(
    old: &Arc<Release>,
    old_left: &[Arc<Slot>],
    new: &Arc<Release>,
    fresh: &[Arc<Slot>],
) -> Routing {
    let groups = [(old, old_left), (new, fresh)]
        .into_iter()
        .filter(|(_, slots)| !slots.is_empty())
        .map(|(release, slots)| Group {
            release: release.clone(),
            slots: slots.to_vec(),
        })
        .collect();
    Routing::new(groups, Route::RoundRobin)
}

/// Puts the pool back to the old version after a failed batch: fresh old instances take
/// the new ones' places, and the new ones finish their queues and stop.
async fn undo(
    ctx: &Ctx,
    release: &Arc<Release>,
    old: &Group,
    old_left: Vec<Arc<Slot>>,
    fresh: Vec<Arc<Slot>>,
    stage: DeployStage,
    cause: Error,
) -> Error {
    if !fresh.is_empty() {
        ctx.report(
            DeployStage::Rolling,
            format!(
                "undoing: {} instance(s) of {} come back",
                fresh.len(),
                old.release.identity.label()
            ),
        );
        match steps::start_checked(ctx, &old.release, fresh.len()).await {
            Ok(back) => {
                let pool: Vec<Arc<Slot>> = old_left.into_iter().chain(back).collect();
                steps::switch(
                    &ctx.entry,
                    Routing::new(
                        vec![Group {
                            release: old.release.clone(),
                            slots: pool,
                        }],
                        Route::RoundRobin,
                    ),
                )
                .await;
                steps::stop_all(&fresh).await;
                old.release.enter(VersionState::Serving, None);
            }
            Err((_, err)) => {
                // The pool stays mixed: say so beside the first failure.
                tracing::error!(target: "airssys::deploy", address = %ctx.entry.address(), "the old version did not come back after a failed rolling deploy: {err}");
            }
        }
    }
    ctx.fail(stage, release, cause)
}
