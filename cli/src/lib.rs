//! The `airssys` command line, as a library.
//!
//! The binary (`src/main.rs`) only parses arguments and reports errors; each subcommand lives
//! in a module here with an `Args` struct and a `run` function. Keeping the work in a library
//! lets tests and benchmarks reuse it, e.g. [`build::build_crate`] to compile guest components
//! exactly as `airssys build` does.
//!
//! ```no_run
//! use airssys_cli::build::{BuildOptions, build_crate};
//!
//! let wasm = build_crate("examples/hello".as_ref(), &BuildOptions::default())?;
//! println!("component at {}", wasm.display());
//! # Ok::<(), airssys_cli::build::BuildError>(())
//! ```

pub mod admin;
pub mod build;
pub mod deploy;
pub mod inspect;
pub mod keys;
pub mod new;
pub mod run;
pub mod status;
pub mod storage;
mod ui;
pub mod up;
mod watch;

/// Prints `err` and its causes as the binary does: `error: ...`, then `caused by: ...` lines,
/// in red when stderr is a terminal.
pub fn report_error(err: &anyhow::Error) {
    ui::error(err);
}
