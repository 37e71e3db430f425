//! Replacing what serves an address while it serves: the strategies, and what a deploy
//! reports.
//!
//! A deploy brings a new version ([`Release`]) in beside the one serving the address and
//! moves traffic by swapping the address's routing ([`Entry::switch`]), which every delivery
//! reads once, so a switch is atomic. Each strategy is one file; `steps.rs` holds what they
//! share: starting and health-checking instances, handing state over, switching, draining.
//! [`Host::deploy`](crate::Host::deploy) (in `host/deploy.rs`) compiles the new version and
//! runs the strategy in a task of its own; the [`Deployment`] it returns reports progress and
//! the outcome.

mod blue_green;
mod canary;
mod rolling;
mod steps;
mod stop_start;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::registry::{Entry, Order, Release};
use crate::{DeployStage, Error, Identity, LoadOptions, Result};
pub(crate) use steps::Ctx;

/// How a deploy moves an address from the version serving it to a new one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Strategy {
    /// Stop the old version, then start the new: the address does not serve in between
    /// (deliveries wait), and calls queued for the old version move to the new one unserved.
    /// For components that cannot run twice at once.
    StopStart,
    /// Start, initialise and health-check the new version while the old one serves, then
    /// switch all traffic at once. Calls queued for the old version finish there.
    BlueGreen,
    /// Send a share of traffic to the new version beside the old, until
    /// [`Host::promote`](crate::Host::promote) gives it everything or
    /// [`Host::abort`](crate::Host::abort) (or its failure rate) takes it away.
    Canary(CanaryOptions),
    /// Replace a pool's instances `batch` at a time, each batch started and health-checked
    /// before it takes traffic.
    Rolling {
        /// Instances replaced per step (at least 1).
        batch: usize,
    },
}

impl Strategy {
    /// The strategy's name, as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::StopStart => "stop-start",
            Self::BlueGreen => "blue-green",
            Self::Canary(_) => "canary",
            Self::Rolling { .. } => "rolling",
        }
    }
}

/// A canary's share of traffic and when it is aborted without an operator.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CanaryOptions {
    /// The share of deliveries the canary takes, from 0 to 1.
    pub share: f64,
    /// Abort when its failures pass this rate; `None` waits for the operator.
    pub abort_when: Option<FailureRate>,
}

impl CanaryOptions {
    /// `share` of the traffic (0 to 1), aborted only by the operator.
    pub fn new(share: f64) -> Self {
        Self {
            share,
            abort_when: None,
        }
    }

    /// Aborts the canary on its own when `rate` is passed.
    pub fn abort_when(mut self, rate: FailureRate) -> Self {
        self.abort_when = Some(rate);
        self
    }
}

/// When a canary has failed: more than `threshold` of its calls (requests and messages that
/// returned an error or trapped) within `window`, once it served at least `min_calls` there.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct FailureRate {
    /// The share of failed calls that aborts it, from 0 to 1.
    pub threshold: f64,
    /// How far back calls count.
    pub window: Duration,
    /// Fewer calls than this within the window never abort it.
    pub min_calls: u64,
}

impl FailureRate {
    /// More than `threshold` (0 to 1) of the calls within `window`, counted once there are
    /// at least 20.
    pub fn new(threshold: f64, window: Duration) -> Self {
        Self {
            threshold,
            window,
            min_calls: 20,
        }
    }

    /// Counts only once the window holds at least `calls` calls.
    pub fn min_calls(mut self, calls: u64) -> Self {
        self.min_calls = calls;
        self
    }
}

/// How to deploy: the strategy, the new version's options, and whether state is handed
/// over.
///
/// ```
/// use airssys_host::{CanaryOptions, DeployOptions, FailureRate, Strategy};
/// use std::time::Duration;
/// let canary = DeployOptions::new(Strategy::Canary(
///     CanaryOptions::new(0.1).abort_when(FailureRate::new(0.05, Duration::from_secs(30))),
/// ));
/// assert_eq!(canary.strategy.name(), "canary");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeployOptions {
    /// How traffic moves.
    pub strategy: Strategy,
    /// The new version's configuration, limits, supervision, grants and instances; `None`
    /// keeps those the serving version started with. The address is always the deploy's.
    pub load: Option<LoadOptions>,
    /// Whether the new version restores the state the old one hands over (see the SDK's
    /// `Component::snapshot`); on by default. Off, the new version starts fresh.
    pub handoff: bool,
}

impl DeployOptions {
    /// `strategy`, the serving version's options, state handed over.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            load: None,
            handoff: true,
        }
    }

    /// Starts the new version with `options` instead of the serving version's.
    pub fn load(mut self, options: LoadOptions) -> Self {
        self.load = Some(options);
        self
    }

    /// Whether state is handed over (on by default).
    pub fn handoff(mut self, handoff: bool) -> Self {
        self.handoff = handoff;
        self
    }

    /// Refuses options no deploy could carry out.
    pub(crate) fn validate(&self) -> Result<()> {
        match &self.strategy {
            Strategy::Canary(canary) => {
                if !(0.0..=1.0).contains(&canary.share) {
                    return Err(Error::Config(format!(
                        "a canary's share is from 0 to 1, not {}",
                        canary.share
                    )));
                }
                if let Some(rate) = &canary.abort_when
                    && (!(0.0..=1.0).contains(&rate.threshold) || rate.window.is_zero())
                {
                    return Err(Error::Config(
                        "a canary's failure threshold is from 0 to 1, over a window longer than zero".into(),
                    ));
                }
            }
            Strategy::Rolling { batch: 0 } => {
                return Err(Error::Config(
                    "a rolling deploy replaces at least 1 instance per step".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

impl Default for DeployOptions {
    /// Blue-green, state handed over, the serving version's options.
    fn default() -> Self {
        Self::new(Strategy::BlueGreen)
    }
}

/// Where a deploy is: its stage and what it is doing, from [`Deployment::progress`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Progress {
    /// The step under way.
    pub stage: DeployStage,
    /// What it is doing, for people (e.g. `starting 2 instances of counter@2.0.0`).
    pub detail: String,
}

/// How a deploy ended well, from [`Deployment::outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeployReport {
    /// The address.
    pub address: String,
    /// The version that served before.
    pub from: Identity,
    /// The version serving now.
    pub to: Identity,
    /// Its number at the address ([`VersionInfo::id`](crate::VersionInfo::id)).
    pub version: u64,
    /// The strategy, as [`Strategy::name`] spells it.
    pub strategy: &'static str,
    /// Whether the new version restored state the old one handed over.
    pub handed_over: bool,
    /// From the deploy's start until the new version took all the traffic.
    pub switched_after: Duration,
    /// From the deploy's start until the old version had drained and stopped.
    pub took: Duration,
}

/// A deploy under way: its progress as it goes, and its outcome.
///
/// Dropping it does not stop the deploy.
#[derive(Debug)]
pub struct Deployment {
    address: String,
    progress: watch::Receiver<Progress>,
    steps: mpsc::UnboundedReceiver<Progress>,
    task: JoinHandle<Result<DeployReport>>,
}

impl Deployment {
    /// Starts `run` (given the deploy's context) as a task, beginning at `first`.
    pub(crate) fn spawn<F>(entry: Arc<Entry>, first: Progress, run: impl FnOnce(Ctx) -> F) -> Self
    where
        F: Future<Output = Result<DeployReport>> + Send + 'static,
    {
        let address = entry.address().to_owned();
        let (steps_tx, steps) = mpsc::unbounded_channel();
        let _ = steps_tx.send(first.clone());
        let (progress_tx, progress) = watch::channel(first);
        let task = tokio::spawn(run(Ctx::new(entry, progress_tx, steps_tx)));
        Self {
            address,
            progress,
            steps,
            task,
        }
    }

    /// The next step of the deploy, each one in order (the first is where it began); `None`
    /// once it ended (then [`outcome`](Self::outcome) says how).
    pub async fn next_step(&mut self) -> Option<Progress> {
        self.steps.recv().await
    }

    /// The address deployed to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The deploy's latest step, and a way to wait for the next (`changed().await`; quick
    /// steps may pass unseen: [`next_step`](Self::next_step) sees each).
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.clone()
    }

    /// Waits for the deploy to end: the new version serves, or [`Error::Deploy`] says at
    /// which stage and why it did not, and what serves the address instead.
    pub async fn outcome(self) -> Result<DeployReport> {
        self.task
            .await
            .map_err(|err| Error::Config(format!("the deploy task ended abnormally: {err}")))?
    }
}

/// Runs `strategy` to bring `release` in at `entry`, then frees the address for the next
/// deploy whatever happened.
pub(crate) async fn run(
    ctx: Ctx,
    release: Arc<Release>,
    options: DeployOptions,
    mut orders: mpsc::UnboundedReceiver<Order>,
) -> Result<DeployReport> {
    let from = Identity::clone(&ctx.entry.identity());
    let outcome = match &options.strategy {
        Strategy::StopStart => stop_start::run(&ctx, &release, options.handoff).await,
        Strategy::BlueGreen => blue_green::run(&ctx, &release, options.handoff).await,
        Strategy::Canary(canary) => canary::run(&ctx, &release, canary, &mut orders).await,
        Strategy::Rolling { batch } => rolling::run(&ctx, &release, *batch, options.handoff).await,
    };
    ctx.entry.end_deploy();
    let done = outcome?;
    ctx.report(DeployStage::Done, format!("{} serves", release.identity));
    Ok(DeployReport {
        address: ctx.entry.address().to_owned(),
        from,
        to: Identity::clone(&release.identity),
        version: release.id,
        strategy: options.strategy.name(),
        handed_over: done.handed_over,
        switched_after: done.switched_after,
        took: ctx.started.elapsed(),
    })
}

/// What a strategy reports back to [`run`].
pub(crate) struct Done {
    handed_over: bool,
    switched_after: std::time::Duration,
}

/// The address's current entry, for strategies that must know what serves it.
fn serving(entry: &Entry) -> crate::registry::Group {
    entry.routing().groups[0].clone()
}
