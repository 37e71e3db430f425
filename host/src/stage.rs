//! How far a deploy has got: what progress reports and failed deploys name.

use std::fmt;

use serde::Serialize;

/// A step of a deploy, in the order they happen. Progress
/// ([`Deployment::progress`](crate::Deployment::progress)), version events and a failed
/// deploy's [`Error::Deploy`](crate::Error::Deploy) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeployStage {
    /// Reading, verifying signatures and compiling (or finding it compiled).
    Compiling,
    /// Starting the new version's instances (`init`).
    Starting,
    /// Asking the new version's instances for their health.
    CheckingHealth,
    /// Letting the old version finish what it has queued, then handing its state over.
    HandingOver,
    /// Switching traffic to the new version.
    Switching,
    /// Serving a share of traffic beside the old version, until promoted or aborted.
    Canary,
    /// Replacing a pool's instances a few at a time.
    Rolling,
    /// The old version finishing its queued calls and stopping.
    Draining,
    /// Done: the new version serves.
    Done,
}

impl fmt::Display for DeployStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Compiling => "compiling",
            Self::Starting => "starting",
            Self::CheckingHealth => "checking health",
            Self::HandingOver => "handing state over",
            Self::Switching => "switching traffic",
            Self::Canary => "serving as a canary",
            Self::Rolling => "rolling",
            Self::Draining => "draining the old version",
            Self::Done => "done",
        })
    }
}
