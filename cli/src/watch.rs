//! `airssys up --watch`: notices a component's source changing, rebuilds it (a crate) and
//! hot-swaps it blue-green, with state handed over.
//!
//! It polls modification times twice a second: a handful of source files cost nothing to
//! look at, and polling needs no platform watcher or its limits.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use airssys_host::{DeployOptions, Host, Strategy};

use crate::build::{BuildOptions, build_crate};
use crate::ui;

/// How often sources are looked at.
pub(crate) const POLL: Duration = Duration::from_millis(500);

/// One component's source: a crate folder or a `.wasm` file, and when it last changed.
pub(crate) struct Watched {
    address: String,
    source: PathBuf,
    changed: Option<SystemTime>,
}

impl Watched {
    pub(crate) fn new(address: &str, source: &Path) -> Self {
        Self {
            address: address.to_owned(),
            source: source.to_owned(),
            changed: newest(source),
        }
    }

    /// Rebuilds and redeploys it if its source changed since last time.
    pub(crate) async fn check(&mut self, host: &Host) {
        let now = newest(&self.source);
        if now == self.changed {
            return;
        }
        self.changed = now;
        ui::status(
            "Changed",
            &format!("{} ({})", self.address, self.source.display()),
        );
        let wasm = if self.source.is_dir() {
            let dir = self.source.clone();
            let built = tokio::task::spawn_blocking(move || {
                build_crate(
                    &dir,
                    &BuildOptions {
                        quiet: true,
                        ..BuildOptions::default()
                    },
                )
            })
            .await;
            match built {
                Ok(Ok(wasm)) => wasm,
                Ok(Err(err)) => return ui::status("Failed", &format!("{}: {err}", self.address)),
                Err(err) => return ui::status("Failed", &format!("{}: {err}", self.address)),
            }
        } else {
            self.source.clone()
        };
        let deployed = async {
            let deployment = host
                .deploy(
                    &self.address,
                    &wasm,
                    DeployOptions::new(Strategy::BlueGreen),
                )
                .await?;
            deployment.outcome().await
        };
        match deployed.await {
            Ok(report) => ui::status(
                "Swapped",
                &format!(
                    "{}: {} -> {} in {:.1} ms",
                    self.address,
                    report.from.label(),
                    report.to.label(),
                    report.switched_after.as_secs_f64() * 1e3
                ),
            ),
            Err(err) => ui::status("Failed", &format!("{}: {err}", self.address)),
        }
    }
}

/// The newest modification time of `path`, or of any file under it outside `target/` and
/// hidden folders.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name != "target" && !name.starts_with('.')
        })
        .filter_map(|entry| newest(&entry.path()))
        .max()
}
