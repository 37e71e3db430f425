//! `airssys`: create, build and run WebAssembly components.
//!
//! This file only parses arguments, sets up logging and reports errors; the subcommands are
//! in the `airssys_cli` library.

use std::io::IsTerminal;
use std::process::ExitCode;

use airssys_cli::{build, deploy, inspect, keys, new, run, status, storage, up};
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
    /// Show a component's manifest, capabilities, world, exports and imports.
    Inspect(inspect::Args),
    /// Load a component (building a crate first), call it and print the reply.
    Run(run::Args),
    /// Start every component an `airssys.toml` lists, with its limits and supervision.
    Up(up::Args),
    /// List, read and export the namespaces of the store an `airssys.toml` names.
    Storage(storage::Args),
    /// Show what a running `airssys up` serves and the versions each address keeps.
    Status(status::Args),
    /// Deploy a new version to an address of a running `airssys up`, while it serves.
    Deploy(deploy::DeployArgs),
    /// Give the canary under way at an address all the traffic.
    Promote(deploy::AddressArgs),
    /// Abort the deploy under way at an address; the old version keeps serving.
    Abort(deploy::AddressArgs),
    /// Return an address to the version it keeps in standby (no compile).
    Rollback(deploy::AddressArgs),
    /// Forget a version an address keeps for rollback.
    Retire(deploy::RetireArgs),
    /// Make an Ed25519 key pair for signing components.
    Keygen(keys::KeygenArgs),
    /// Sign a component with a key from `airssys keygen`.
    Sign(keys::SignArgs),
}

fn main() -> ExitCode {
    // Quiet by default except for what components log (`airssys run`); RUST_LOG overrides.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,airssys::guest=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(args) => build::run(args),
        Command::New(args) => new::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Run(args) => run::run(args),
        Command::Up(args) => up::run(args),
        Command::Storage(args) => storage::run(args),
        Command::Status(args) => status::run(args),
        Command::Deploy(args) => deploy::deploy(args),
        Command::Promote(args) => deploy::promote(args),
        Command::Abort(args) => deploy::abort(args),
        Command::Rollback(args) => deploy::rollback(args),
        Command::Retire(args) => deploy::retire(args),
        Command::Keygen(args) => keys::keygen(args),
        Command::Sign(args) => keys::sign(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            airssys_cli::report_error(&err);
            ExitCode::FAILURE
        }
    }
}
