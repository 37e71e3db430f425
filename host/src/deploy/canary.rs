//! Canary: the new version takes a share of the traffic beside the old one until the
//! operator promotes it (it takes everything) or aborts it, or its failure rate passes the
//! threshold within the window and it is aborted without anyone. Either way, calls queued
//! for the version that leaves finish there. A canary starts fresh: both versions serve at
//! once, so there is no one state to hand over (storage is the shared, durable path).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::steps::{self, Ctx};
use super::{CanaryOptions, Done, FailureRate, serving};
use crate::registry::{Group, Order, Release, Route, Routing, Slot, VersionState, WHOLE};
use crate::{DeployStage, Error, Result};

/// How often a canary's counters are read.
const TICK: Duration = Duration::from_millis(50);

pub(super) async fn run(
    ctx: &Ctx,
    release: &Arc<Release>,
    options: &CanaryOptions,
    orders: &mut mpsc::UnboundedReceiver<Order>,
) -> Result<Done> {
    let old = serving(&ctx.entry);
    let slots = steps::start_checked(ctx, release, release.instances)
        .await
        .map_err(|(stage, err)| ctx.fail(stage, release, err))?;
    let canary = Group {
        release: release.clone(),
        slots: slots.clone(),
    };
    let share = (options.share * f64::from(WHOLE)).round() as u32;
    steps::switch(
        &ctx.entry,
        Routing::new(
            vec![old.clone(), canary.clone()],
            Route::Split { canary: share },
        ),
    )
    .await;
    release.enter(VersionState::Canary, None);
    ctx.report(
        DeployStage::Canary,
        format!(
            "{} takes {:.1}% of the traffic; promote or abort it",
            release.identity.label(),
            options.share * 100.0
        ),
    );
    let mut watch = options.abort_when.map(Watch::new);
    let mut tick = tokio::time::interval(TICK);
    let verdict = loop {
        tokio::select! {
            order = orders.recv() => match order {
                Some(Order::Promote) => break Ok(()),
                Some(Order::Abort) | None => break Err(Error::Aborted),
            },
            _ = tick.tick() => {
                if ctx.entry.is_closing() {
                    break Err(ctx.entry.stopped());
                }
                if let Some(stopped) = slots.iter().find(|s| s.shared.state().is_final()) {
                    break Err(Error::Stopped {
                        component: stopped.shared.identity().to_string(),
                        reason: stopped.shared.stop_reason().unwrap_or_default(),
                    });
                }
                if let Some(watch) = &mut watch
                    && let Some(failed) = watch.check(&slots, release)
                {
                    break Err(failed);
                }
            }
        }
    };
    if let Err(cause) = verdict {
        ctx.report(
            DeployStage::Canary,
            format!("aborting {}: {cause}", release.identity.label()),
        );
        steps::switch(&ctx.entry, Routing::new(vec![old], Route::RoundRobin)).await;
        let failed = ctx.fail(DeployStage::Canary, release, cause);
        steps::stop_all(&slots).await;
        return Err(failed);
    }
    ctx.report(
        DeployStage::Switching,
        format!("promoting {}", release.identity.label()),
    );
    steps::switch(&ctx.entry, Routing::new(vec![canary], Route::RoundRobin)).await;
    let switched_after = ctx.started.elapsed();
    release.enter(VersionState::Serving, None);
    ctx.report(
        DeployStage::Draining,
        format!(
            "{} finishes its queued calls and stops",
            old.release.identity.label()
        ),
    );
    steps::drain(&old.release, &old.slots).await;
    Ok(Done {
        handed_over: false,
        switched_after,
    })
}

/// The canary's calls and failures over the last window.
struct Watch {
    rate: FailureRate,
    /// (when, calls so far, failures so far), oldest first.
    samples: VecDeque<(Instant, u64, u64)>,
}

impl Watch {
    fn new(rate: FailureRate) -> Self {
        Self {
            rate,
            samples: VecDeque::new(),
        }
    }

    /// Takes a sample; the error if the window's failures pass the threshold.
    fn check(&mut self, slots: &[Arc<Slot>], release: &Release) -> Option<Error> {
        let (calls, failed) = slots.iter().fold((0, 0), |(calls, failed), slot| {
            let stats = slot.shared.stats();
            (
                calls + stats.requests + stats.messages,
                failed + stats.errors + stats.traps,
            )
        });
        let now = Instant::now();
        self.samples.push_back((now, calls, failed));
        // Keep the newest sample at or before the window's start as its baseline.
        while self
            .samples
            .get(1)
            .is_some_and(|(at, ..)| now.duration_since(*at) >= self.rate.window)
        {
            self.samples.pop_front();
        }
        let &(_, base_calls, base_failed) = self.samples.front()?;
        let (calls, failed) = (calls - base_calls, failed - base_failed);
        let over = calls >= self.rate.min_calls
            && calls > 0
            && failed as f64 / calls as f64 > self.rate.threshold;
        over.then(|| Error::CanaryFailed {
            component: release.identity.to_string(),
            failed,
            calls,
            window: self.rate.window,
            threshold: self.rate.threshold,
        })
    }
}
