//! Blue-green: the new version starts, initialises and passes its health check while the
//! old one serves; then all traffic switches at once. Rollback is a blue-green deploy of the
//! version kept in standby.
//!
//! With state handoff, deliveries are held for the handover: the old version serves what is
//! queued for it, snapshots, and the new one restores, before either takes another call. So
//! the state the new version starts from includes every call the old one answered, and no
//! call is answered by both or by neither.

use std::sync::Arc;

use super::steps::{self, Ctx};
use super::{Done, serving};
use crate::registry::{Group, Release, Route, Routing, VersionState};
use crate::{DeployStage, Result};

pub(super) async fn run(ctx: &Ctx, release: &Arc<Release>, handoff: bool) -> Result<Done> {
    let old = serving(&ctx.entry);
    let before = ctx.entry.routing();
    let slots = steps::start_checked(ctx, release, release.instances)
        .await
        .map_err(|(stage, err)| ctx.fail(stage, release, err))?;
    let mut handed_over = false;
    if handoff {
        ctx.report(
            DeployStage::HandingOver,
            format!(
                "{} finishes its queued calls and hands its state over",
                old.release.identity.label()
            ),
        );
        steps::switch(&ctx.entry, before.held()).await;
        match steps::hand_over(&old.slots, &slots).await {
            Ok(handed) => handed_over = handed > 0,
            Err(err) => {
                ctx.entry
                    .switch(Routing::new(before.groups.clone(), before.route));
                steps::stop_all(&slots).await;
                return Err(ctx.fail(DeployStage::HandingOver, release, err));
            }
        }
    }
    if ctx.entry.is_closing() {
        ctx.entry
            .switch(Routing::new(before.groups.clone(), before.route));
        steps::stop_all(&slots).await;
        return Err(ctx.fail(DeployStage::Switching, release, ctx.entry.stopped()));
    }
    ctx.report(
        DeployStage::Switching,
        format!("switching traffic to {}", release.identity.label()),
    );
    let group = Group {
        release: release.clone(),
        slots: slots.clone(),
    };
    steps::switch(&ctx.entry, Routing::new(vec![group], Route::RoundRobin)).await;
    let switched_after = ctx.started.elapsed();
    release.enter(VersionState::Serving, None);
    if ctx.entry.is_closing() {
        // A shutdown raced the switch: what now serves stops too.
        steps::stop_all(&slots).await;
    }
    ctx.report(
        DeployStage::Draining,
        format!(
            "{} finishes its queued calls and stops",
            old.release.identity.label()
        ),
    );
    steps::drain(&old.release, &old.slots).await;
    Ok(Done {
        handed_over,
        switched_after,
    })
}
