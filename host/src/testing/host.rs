//! A host preset for end-to-end tests, and building the crate under test.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use super::clock::TestClock;
use crate::build::{BuildError, BuildOptions, build_crate, ensure_wasm_target_in};
use crate::storage::Storage;
use crate::{ComponentHandle, Host, HostBuilder, LoadOptions};

/// A [`Host`] set up for tests: its store in memory ([`Storage::in_memory`]), its network
/// loopback-only ([`HttpSettings::loopback_only`](crate::HttpSettings::loopback_only)), its
/// time a [`TestClock`] the test moves. Everything else is as the builder says (by default:
/// strict mode, default limits and supervision). It derefs to the [`Host`].
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use airssys_host::{CapabilityKind::Storage, LoadOptions, Payload, testing::TestHost};
///
/// let host = TestHost::new()?;
/// // Builds the crate in this directory for wasm32-wasip2 (once per process) and starts it.
/// let visits = host
///     .load_crate(".", LoadOptions::new().grant(Storage, "visits")?)
///     .await?;
/// let reply = visits.request(Payload::text("/")).await?;
/// host.clock().advance(Duration::from_secs(60));
/// let stored = host.storage().namespace("visits")?.get("/").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TestHost {
    host: Host,
    clock: TestClock,
    storage: Storage,
}

/// Why [`TestHost::load_crate`] could not start the crate's component.
#[derive(Debug, thiserror::Error)]
pub enum LoadCrateError {
    /// The crate did not build.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The host refused the component (or its `init` failed).
    #[error(transparent)]
    Load(#[from] crate::Error),
}

impl TestHost {
    /// The preset on the [`HostBuilder`] defaults.
    pub fn new() -> crate::Result<Self> {
        Self::with(Host::builder())
    }

    /// The preset on `builder`'s settings: its store if it has one (else one in memory), its
    /// HTTP settings made loopback-only, and a fresh [`TestClock`].
    pub fn with(mut builder: HostBuilder) -> crate::Result<Self> {
        let clock = TestClock::new();
        let storage = builder.storage.clone().unwrap_or_else(Storage::in_memory);
        builder.http = builder.http.clone().loopback_only(true);
        let host = builder
            .storage(storage.clone())
            .clock(clock.clone())
            .build()?;
        Ok(Self {
            host,
            clock,
            storage,
        })
    }

    /// The clock components see.
    pub fn clock(&self) -> &TestClock {
        &self.clock
    }

    /// The host's store, to seed and inspect.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Builds the component crate in `crate_dir` ([`build`]) and starts it with `options`.
    pub async fn load_crate(
        &self,
        crate_dir: impl AsRef<Path>,
        options: LoadOptions,
    ) -> Result<ComponentHandle, LoadCrateError> {
        let crate_dir = crate_dir.as_ref().to_path_buf();
        let wasm = tokio::task::spawn_blocking(move || build(&crate_dir))
            .await
            .map_err(|err| BuildError::Io(std::io::Error::other(err)))??;
        Ok(self.host.load_with(wasm, options).await?)
    }
}

impl Deref for TestHost {
    type Target = Host;

    fn deref(&self) -> &Host {
        &self.host
    }
}

/// Builds the component crate in `crate_dir` for wasm32-wasip2 (installing the target with
/// rustup if needed), in release mode, quietly, and returns the component's path. Each crate
/// is built once per process.
///
/// Artifacts go to `airssys-test/` in the crate's target directory (`CARGO_TARGET_DIR`, else
/// `target/` beside its `Cargo.toml`), apart from the native build, so the nested cargo never
/// waits for the `cargo test` that runs it.
pub fn build(crate_dir: impl AsRef<Path>) -> Result<PathBuf, BuildError> {
    let crate_dir = crate_dir.as_ref();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate_dir.join("target"), PathBuf::from);
    build_with(
        crate_dir,
        &BuildOptions {
            release: true,
            target_dir: Some(target.join("airssys-test")),
            quiet: true,
        },
    )
}

/// [`build`] with other options (another target directory, a debug build).
pub fn build_with(
    crate_dir: impl AsRef<Path>,
    options: &BuildOptions,
) -> Result<PathBuf, BuildError> {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let crate_dir = std::path::absolute(crate_dir.as_ref())?;
    // One build at a time: cargo would serialise them on its lock anyway.
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(wasm) = built.get(&crate_dir) {
        return Ok(wasm.clone());
    }
    ensure_wasm_target_in(&crate_dir)?;
    let wasm = build_crate(&crate_dir, options)?;
    built.insert(crate_dir, wasm.clone());
    Ok(wasm)
}
