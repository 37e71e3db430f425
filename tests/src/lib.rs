//! Shared helpers for the end-to-end tests: guest components built from source in this
//! repository (once per test process), and the hand-written WAT fixtures in `tests/wat/`.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use airssys_cli::build::{BuildOptions, build_crate, ensure_wasm_target};

/// The repository root.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

/// Where test builds of guests go: apart from `target/` so the nested cargo never waits on
/// the lock held by the `cargo test` that runs us.
pub fn guest_target_dir() -> PathBuf {
    workspace_root().join("target").join("guests")
}

/// Builds the guest crate at `crate_dir` (relative to the repository root, e.g.
/// `examples/hello`) in release mode for wasm32-wasip2 and returns its component's path.
/// Each crate is built at most once per test process.
pub fn guest(crate_dir: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(|| {
            ensure_wasm_target().expect("the wasm32-wasip2 target is needed to build guests");
            Mutex::default()
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get(crate_dir) {
        return path.clone();
    }
    let options = BuildOptions {
        release: true,
        target_dir: Some(guest_target_dir()),
        quiet: true,
    };
    let path = build_crate(&workspace_root().join(crate_dir), &options)
        .unwrap_or_else(|err| panic!("building {crate_dir} failed: {err}"));
    built.insert(crate_dir.to_owned(), path.clone());
    path
}

/// The binary of `tests/wat/<name>.wat`.
pub fn wat(name: &str) -> Vec<u8> {
    let path = workspace_root()
        .join("tests/wat")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A `tracing` writer that keeps everything written, so tests can assert on log lines.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Installs a subscriber writing here (no colour) for the current thread until the guard
    /// drops. Use it with a current-thread runtime so the instance's task logs here too.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

impl io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
