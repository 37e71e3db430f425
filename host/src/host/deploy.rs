//! The embedder's deploy verbs: deploy, promote, abort, roll back, list and retire versions.

use std::sync::Arc;

use super::Host;
use crate::deploy::{self, DeployOptions, Deployment, Progress, Strategy};
use crate::registry::{Entry, Order, Release, VersionInfo, VersionState};
use crate::{DeployStage, Error, Result, Source};

impl Host {
    /// Deploys `source` to the component serving `address`, as `options` say (the strategy,
    /// the new version's options, state handoff), while it serves. Returns at once with the
    /// [`Deployment`]: its progress, and its outcome to await. The version it replaces stays
    /// compiled, in standby, for [`rollback`](Self::rollback).
    ///
    /// Fails at once with [`Error::UnknownAddress`], [`Error::Stopped`] for an address whose
    /// component stopped, or [`Error::DeployInProgress`]; everything later (compiling,
    /// signatures, start, health, handoff, a canary's failures) is the outcome's
    /// [`Error::Deploy`], and the address then serves what it served before.
    ///
    /// ```no_run
    /// # async fn run(host: airssys_host::Host) -> airssys_host::Result<()> {
    /// use airssys_host::{DeployOptions, Strategy};
    /// let deployment = host
    ///     .deploy("counter", "counter-v2.wasm", DeployOptions::new(Strategy::BlueGreen))
    ///     .await?;
    /// let report = deployment.outcome().await?;
    /// println!("{} -> {} in {:?}", report.from, report.to, report.switched_after);
    /// # Ok(()) }
    /// ```
    pub async fn deploy(
        &self,
        address: &str,
        source: impl Into<Source>,
        options: DeployOptions,
    ) -> Result<Deployment> {
        options.validate()?;
        let source = source.into();
        let origin = source.origin();
        let entry = self.running(address)?;
        let orders = entry.begin_deploy(&origin)?;
        let first = Progress {
            stage: DeployStage::Compiling,
            detail: format!("compiling {origin}"),
        };
        let host = self.clone();
        Ok(Deployment::spawn(entry, first, |ctx| async move {
            let (address, strategy) = (ctx.entry.address().to_owned(), options.strategy.name());
            let release = match host.release_for(&ctx.entry, source, &options).await {
                Ok(release) => release,
                Err(cause) => {
                    ctx.entry.end_deploy();
                    let failed = Err(Error::Deploy {
                        address: ctx.entry.address().to_owned(),
                        version: origin,
                        stage: DeployStage::Compiling,
                        cause: Box::new(cause),
                        serving: ctx.entry.identity().label(),
                    });
                    host.observed().deployed(&address, strategy, &failed);
                    return failed;
                }
            };
            let outcome = deploy::run(ctx, release, options, orders).await;
            host.observed().deployed(&address, strategy, &outcome);
            outcome
        }))
    }

    /// Returns `address` to the newest version it keeps in standby, blue-green, with state
    /// handed over: its code is still compiled, so nothing compiles. Fails with
    /// [`Error::NothingToRollBack`] when it keeps none.
    pub async fn rollback(&self, address: &str) -> Result<Deployment> {
        let entry = self.running(address)?;
        let release = entry.previous().ok_or_else(|| Error::NothingToRollBack {
            address: address.to_owned(),
        })?;
        let orders = entry.begin_deploy(&release.identity.label())?;
        let first = Progress {
            stage: DeployStage::Starting,
            detail: format!("rolling back to {}", release.identity.label()),
        };
        let options = DeployOptions::new(Strategy::BlueGreen);
        let host = self.clone();
        Ok(Deployment::spawn(entry, first, |ctx| async move {
            let address = ctx.entry.address().to_owned();
            let outcome = deploy::run(ctx, release, options, orders).await;
            host.observed().rolled_back(&address, &outcome);
            outcome
        }))
    }

    /// Gives the canary at `address` all the traffic; its deploy's outcome then reports the
    /// switch. [`Error::NoDeploy`] when no deploy is under way there.
    pub fn promote(&self, address: &str) -> Result<()> {
        self.entry(address)?.steer(Order::Promote)
    }

    /// Aborts the deploy under way at `address` (a canary's, or one still starting at its
    /// next step): the version it replaced keeps serving.
    pub fn abort(&self, address: &str) -> Result<()> {
        self.entry(address)?.steer(Order::Abort)
    }

    /// The versions `address` keeps, oldest first: each one's number, identity, source,
    /// load time, signatures, state, instances and counters.
    pub fn versions(&self, address: &str) -> Result<Vec<VersionInfo>> {
        Ok(self.entry(address)?.versions())
    }

    /// Forgets version `id` of `address`, freeing its compiled code: it can no longer be
    /// rolled back to. A version that runs cannot be retired.
    pub fn retire(&self, address: &str, id: u64) -> Result<()> {
        let entry = self.entry(address)?;
        let release = entry
            .releases()
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::UnknownVersion {
                address: address.to_owned(),
                id,
            })?;
        if release.runs() {
            return Err(Error::VersionInUse {
                address: address.to_owned(),
                id,
                state: release.state(),
            });
        }
        entry.forget(id);
        release.enter(VersionState::Retired, None);
        Ok(())
    }

    /// Compiles `source` (or finds it compiled) as the version to deploy to `entry`: a kept
    /// version with the same bytes and options comes back rather than a second copy.
    async fn release_for(
        &self,
        entry: &Entry,
        source: Source,
        options: &DeployOptions,
    ) -> Result<Arc<Release>> {
        let prepared = self.prepare(source).await?;
        let mut load = options
            .load
            .clone()
            .unwrap_or_else(|| entry.current().options.clone());
        load.address = Some(entry.address().to_owned());
        let kept = entry
            .releases()
            .into_iter()
            .find(|r| r.reusable() && r.identity.hash == prepared.hash() && r.options == load);
        let release = match kept {
            Some(release) => release,
            None => Arc::new(prepared.release(&load, entry.next_id(), VersionState::Deploying)?),
        };
        entry.keep(&release);
        self.trim(entry);
        Ok(release)
    }

    /// Retires the oldest versions that do not run past [`HostBuilder::keep_versions`](crate::HostBuilder::keep_versions).
    fn trim(&self, entry: &Entry) {
        let keep = self.inner.settings.keep_versions;
        let releases = entry.releases();
        let mut excess = releases.len().saturating_sub(keep);
        for release in releases {
            if excess == 0 {
                break;
            }
            if !release.runs() && release.state() != VersionState::Deploying {
                entry.forget(release.id);
                release.enter(VersionState::Retired, None);
                excess -= 1;
            }
        }
    }

    fn entry(&self, address: &str) -> Result<Arc<Entry>> {
        self.inner
            .registry
            .get(address)
            .ok_or_else(|| Error::UnknownAddress {
                address: address.to_owned(),
            })
    }

    /// The entry at `address`, if its component runs.
    fn running(&self, address: &str) -> Result<Arc<Entry>> {
        let entry = self.entry(address)?;
        if entry.state().is_final() {
            return Err(entry.stopped());
        }
        Ok(entry)
    }
}
