//! Compiling a component crate to a WebAssembly component, as `airssys build` does: for
//! tests ([`testing::TestHost::load_crate`](crate::testing::TestHost::load_crate)), benchmarks
//! and tools that build guests themselves.
//!
//! The work is a thin layer over `cargo build --target wasm32-wasip2`: rustc's wasm32-wasip2
//! linker already emits a component, so there is no post-processing step. What this module
//! adds is finding the `.wasm` cargo produced (from its JSON messages, not by guessing paths,
//! so workspaces, `--target-dir` and `CARGO_TARGET_DIR` all just work) and errors that name
//! the fix.
//!
//! ```no_run
//! use airssys_host::build::{BuildOptions, build_crate, ensure_wasm_target};
//!
//! ensure_wasm_target()?;
//! let wasm = build_crate("examples/hello".as_ref(), &BuildOptions::default())?;
//! println!("component at {}", wasm.display());
//! # Ok::<(), airssys_host::build::BuildError>(())
//! ```

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use serde::Deserialize;
use thiserror::Error;

/// The Rust target that yields WebAssembly components.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// How [`build_crate`] invokes cargo.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Build with `--release` (default `true`: components are what gets deployed, and debug
    /// builds run many times slower under wasmtime).
    pub release: bool,
    /// Passed as `--target-dir`; `None` leaves cargo's own choice (`CARGO_TARGET_DIR` if the
    /// user set it, else the workspace's `target/`).
    pub target_dir: Option<PathBuf>,
    /// Capture cargo's stderr instead of passing it through; it is returned inside
    /// [`BuildError::CargoFailed`] if the build fails.
    pub quiet: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            release: true,
            target_dir: None,
            quiet: false,
        }
    }
}

/// Why a component could not be built. Each message names the fix.
#[derive(Debug, Error)]
pub enum BuildError {
    /// The directory has no `Cargo.toml`.
    #[error(
        "no Cargo.toml in {}; pass the directory of a component crate, or create one with `airssys new NAME`",
        .0.display()
    )]
    NoManifest(PathBuf),
    /// The crate has no `cdylib` library target, so cargo links no component.
    #[error(
        "the crate at {} is not a cdylib, so it cannot become a component; add [lib] crate-type = [\"cdylib\"] to its Cargo.toml",
        .0.display()
    )]
    NotCdylib(PathBuf),
    /// Cargo exited with an error; `stderr` holds its output when it was captured (quiet).
    #[error("`cargo build` failed ({status}); {}", describe_stderr(.stderr))]
    CargoFailed {
        /// Cargo's exit status.
        status: ExitStatus,
        /// Cargo's stderr, when captured; empty when it went to the terminal.
        stderr: String,
    },
    /// Cargo built the cdylib but listed no `.wasm` file for it.
    #[error(
        "cargo built the crate at {} but produced no .wasm file; check that `--target {WASM_TARGET}` is not overridden (e.g. by a build.target in .cargo/config.toml)",
        .0.display()
    )]
    NoWasm(PathBuf),
    /// Cargo could not be started.
    #[error("could not run `{program}`; install Rust from https://rustup.rs")]
    CargoMissing {
        /// The program that was tried.
        program: String,
        /// Why starting it failed.
        source: std::io::Error,
    },
    /// The wasm32-wasip2 target is absent and rustup is not there to add it.
    #[error(
        "the {WASM_TARGET} target is not installed and rustup was not found to install it; run `rustup target add {WASM_TARGET}`, or install the {WASM_TARGET} standard library the way your Rust was installed"
    )]
    RustupMissing,
    /// `rustup target add` failed.
    #[error("`rustup target add {WASM_TARGET}` failed ({0}); run it yourself to see why")]
    TargetInstallFailed(ExitStatus),
    /// An I/O error while running cargo or rustup (the cause says which).
    #[error("I/O error while running cargo or rustup")]
    Io(#[from] std::io::Error),
}

fn describe_stderr(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        "fix the errors cargo reported above".to_owned()
    } else {
        format!("cargo said:\n{}", stderr.trim_end())
    }
}

/// Builds the component crate in `crate_dir` and returns the path of its `.wasm` component.
///
/// Works for a standalone crate (as made by `airssys new`) and for a member of a larger
/// workspace: `--manifest-path` selects the package, and the artifact is found through cargo's
/// `compiler-artifact` message for that manifest's `cdylib` target.
pub fn build_crate(crate_dir: &Path, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let manifest = crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(BuildError::NoManifest(crate_dir.to_path_buf()));
    }
    // Cargo reports absolute, canonical manifest paths; compare like with like.
    let manifest = manifest.canonicalize()?;

    let mut cmd = cargo_command();
    cmd.args(["build", "--target", WASM_TARGET])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--message-format=json-render-diagnostics")
        // Run from the crate so the proxy honours its rust-toolchain.toml, as a hand-run
        // `cargo build` there would.
        .current_dir(manifest.parent().unwrap_or(crate_dir))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if options.quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        });
    if options.release {
        cmd.arg("--release");
    }
    if let Some(dir) = &options.target_dir {
        // Absolute, because cargo runs in the crate's directory, not the caller's.
        cmd.arg("--target-dir").arg(std::path::absolute(dir)?);
    }
    tracing::debug!(?cmd, "running cargo");

    let mut child = cmd.spawn().map_err(|source| BuildError::CargoMissing {
        program: cargo_program().to_string_lossy().into_owned(),
        source,
    })?;
    // Drain stderr on its own thread: cargo blocks if either pipe fills up.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let stdout = child.stdout.take().expect("stdout is piped");
    let found = find_artifact(BufReader::new(stdout), &manifest);
    let status = child.wait()?;
    let stderr = stderr
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();

    if !status.success() {
        return Err(BuildError::CargoFailed { status, stderr });
    }
    match found? {
        Artifact::Wasm(path) => Ok(path),
        Artifact::NoWasm => Err(BuildError::NoWasm(manifest)),
        Artifact::NotCdylib => Err(BuildError::NotCdylib(manifest)),
    }
}

/// What cargo's messages said about the crate's cdylib.
enum Artifact {
    Wasm(PathBuf),
    NoWasm,
    NotCdylib,
}

/// The fields of a cargo `compiler-artifact` JSON message that matter here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct Target {
    crate_types: Vec<String>,
}

/// Reads cargo's JSON messages to the end and picks the `.wasm` of `manifest`'s cdylib.
fn find_artifact(stdout: impl BufRead, manifest: &Path) -> std::io::Result<Artifact> {
    let mut found = Artifact::NotCdylib;
    for line in stdout.lines() {
        // Lines that are not cargo messages (none expected) are ignored rather than fatal.
        let Ok(msg) = serde_json::from_str::<Message>(&line?) else {
            continue;
        };
        let is_cdylib = msg
            .target
            .as_ref()
            .is_some_and(|t| t.crate_types.iter().any(|c| c == "cdylib"));
        if msg.reason != "compiler-artifact" || !is_cdylib {
            continue;
        }
        let ours = msg
            .manifest_path
            .as_deref()
            .is_some_and(|p| p.canonicalize().is_ok_and(|p| p == manifest));
        if !ours {
            continue;
        }
        found = match msg
            .filenames
            .into_iter()
            .find(|f| f.extension() == Some(OsStr::new("wasm")))
        {
            Some(wasm) => Artifact::Wasm(wasm),
            None => Artifact::NoWasm,
        };
    }
    Ok(found)
}

/// The cargo to run: the one that started us when there is one (`cargo run`, `cargo test`),
/// so nested builds use the same toolchain; otherwise `cargo` from `PATH`.
fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A `cargo` command (the cargo running us, if any) cleared of the environment an enclosing
/// cargo leaves behind: how [`build_crate`] runs cargo, for tests and tools that run it too.
///
/// When `airssys build` runs under cargo (a test, a build script, `cargo run`), it inherits
/// variables cargo set for *that* build. Most are harmless because the nested cargo sets them
/// afresh for every crate it compiles (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, `OUT_DIR`,
/// `TARGET`, ...). These are not, so they are removed:
/// - `CARGO_ENCODED_RUSTFLAGS`: set for build scripts, and read by cargo ahead of every other
///   rustflags source, so the outer (native) flags would be applied to the wasm build.
/// - `CARGO_CFG_*`, `CARGO_FEATURE_*`: set for build scripts only for the cfgs and features
///   that hold; stale ones (`CARGO_CFG_UNIX`) would reach the nested build scripts, which
///   would then believe the wasm target is unix.
/// - `CARGO_PRIMARY_PACKAGE`: set only for primary packages, so an inherited one would mark
///   every dependency as primary.
/// - `__CARGO_*`: cargo-internal handshakes (e.g. `cargo fix`) meant for the outer build.
///
/// Kept on purpose: `CARGO_TARGET_DIR`, `RUSTFLAGS`, `RUSTC_WRAPPER`, `CARGO_HOME` (cargo never
/// sets them for children, so they are the user's choice), `RUSTUP_TOOLCHAIN` (keeps the
/// nested build on the toolchain whose wasm target [`ensure_wasm_target`] checked) and the
/// jobserver in `CARGO_MAKEFLAGS` (shares the outer build's CPU budget).
pub fn cargo_command() -> Command {
    let mut cmd = Command::new(cargo_program());
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key == "CARGO_ENCODED_RUSTFLAGS"
            || key == "CARGO_PRIMARY_PACKAGE"
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
            || key.starts_with("__CARGO_")
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Makes sure the toolchain used from the current directory has the wasm32-wasip2 target,
/// installing it with rustup if needed.
pub fn ensure_wasm_target() -> Result<(), BuildError> {
    ensure_wasm_target_in(Path::new("."))
}

/// Like [`ensure_wasm_target`], for the toolchain rustup picks in `dir` (which may hold a
/// `rust-toolchain.toml` of its own).
pub fn ensure_wasm_target_in(dir: &Path) -> Result<(), BuildError> {
    if has_wasm_target(dir)? {
        return Ok(());
    }
    tracing::info!(target: "airssys::build", "installing the {WASM_TARGET} target with rustup");
    add_wasm_target(dir)
}

/// Whether the toolchain rustup picks in `dir` has the wasm32-wasip2 target. Without a usable
/// rustup (Rust from a distribution, a Nix shell), whether rustc's sysroot holds it; if not,
/// [`BuildError::RustupMissing`].
pub fn has_wasm_target(dir: &Path) -> Result<bool, BuildError> {
    // A path that does not exist is reported by build_crate with a better message.
    let dir = if dir.is_dir() { dir } else { Path::new(".") };
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output();
    match listed {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == WASM_TARGET)),
        _ if target_in_sysroot(dir) => Ok(true),
        _ => Err(BuildError::RustupMissing),
    }
}

/// Installs the wasm32-wasip2 target with rustup, for the toolchain rustup picks in `dir`.
pub fn add_wasm_target(dir: &Path) -> Result<(), BuildError> {
    let dir = if dir.is_dir() { dir } else { Path::new(".") };
    let status = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::TargetInstallFailed(status))
    }
}

/// Whether rustc's sysroot holds the wasm32-wasip2 standard library.
fn target_in_sysroot(dir: &Path) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
    else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&out.stdout);
    out.status.success()
        && Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(WASM_TARGET)
            .is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(manifest: &Path, crate_types: &str, filenames: &str) -> String {
        format!(
            r#"{{"reason":"compiler-artifact","manifest_path":{m:?},"target":{{"crate_types":{crate_types}}},"filenames":{filenames}}}"#,
            m = manifest.display().to_string()
        )
    }

    #[test]
    fn picks_the_wasm_of_the_crates_cdylib() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("Cargo.toml");
        std::fs::write(&ours, "").unwrap();
        let ours = ours.canonicalize().unwrap();
        let dep = Path::new("/elsewhere/Cargo.toml");
        let lines = [
            r#"{"reason":"build-script-executed"}"#.to_owned(),
            "not json".to_owned(),
            message(dep, r#"["cdylib"]"#, r#"["/elsewhere/dep.wasm"]"#),
            message(&ours, r#"["cdylib"]"#, r#"["/t/demo.wasm"]"#),
            r#"{"reason":"build-finished","success":true}"#.to_owned(),
        ];
        let found = find_artifact(lines.join("\n").as_bytes(), &ours).unwrap();
        assert!(matches!(found, Artifact::Wasm(p) if p == Path::new("/t/demo.wasm")));
    }

    #[test]
    fn an_rlib_only_crate_is_not_a_cdylib() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("Cargo.toml");
        std::fs::write(&ours, "").unwrap();
        let ours = ours.canonicalize().unwrap();
        let line = message(&ours, r#"["lib"]"#, r#"["/t/libdemo.rlib"]"#);
        let found = find_artifact(line.as_bytes(), &ours).unwrap();
        assert!(matches!(found, Artifact::NotCdylib));
    }

    #[test]
    fn options_default_to_release() {
        let options = BuildOptions::default();
        assert!(options.release && !options.quiet && options.target_dir.is_none());
    }
}
