//! `airssys`: create, build and run WebAssembly components.
//!
//! This file only parses arguments, sets up logging and reports errors; the subcommands are
//! in the `airssys_cli` library.

use std::process::ExitCode;

use airssys_cli::{build, new};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Create, build and run WebAssembly components written with the airssys SDK.
#[derive(Debug, Parser)]
#[command(name = "airssys", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile a component crate to a WebAssembly component and print its path.
    Build(build::Args),
    /// Create a new component crate from the template.
    New(new::Args),
}

fn main() -> ExitCode {
    // Logs are for diagnosing the CLI itself (`RUST_LOG=airssys_cli=debug`); quiet by default.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::run(args),
        Command::New(args) => new::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            airssys_cli::report_error(&err);
            ExitCode::FAILURE
        }
    }
}
