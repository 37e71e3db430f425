//! `airssys build`: compile a component crate to a WebAssembly component.
//!
//! The building itself is [`airssys_host::build`] (re-exported here), shared with
//! `airssys_host::testing`, tests and benchmarks; this module adds the command and its output.

use std::path::{Path, PathBuf};

pub use airssys_host::build::{
    BuildError, BuildOptions, WASM_TARGET, add_wasm_target, build_crate, ensure_wasm_target,
    has_wasm_target,
};

/// Arguments of `airssys build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component crate's directory (the one holding its Cargo.toml).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Build without optimisations (the default is `--release`).
    #[arg(long)]
    pub debug: bool,
    /// Where cargo puts build artifacts (default: the crate's or workspace's `target/`).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Hide cargo's progress; it is still shown if the build fails.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `airssys build`: prints the component's path on stdout, alone, so scripts can use it.
pub fn run(args: Args) -> anyhow::Result<()> {
    ensure_wasm_target_in(&args.path)?;
    let options = BuildOptions {
        release: !args.debug,
        target_dir: args.target_dir,
        quiet: args.quiet,
    };
    let wasm = build_crate(&args.path, &options)?;
    let name = wasm.file_stem().unwrap_or_default().to_string_lossy();
    crate::ui::status_if_terminal("Built", &format!("{name} -> {}", wasm.display()));
    println!("{}", wasm.display());
    Ok(())
}

/// Makes sure the toolchain rustup picks in `dir` has the wasm32-wasip2 target, saying so
/// before installing it.
pub fn ensure_wasm_target_in(dir: &Path) -> Result<(), BuildError> {
    if has_wasm_target(dir)? {
        return Ok(());
    }
    crate::ui::note(&format!("installing the {WASM_TARGET} target with rustup"));
    add_wasm_target(dir)
}
