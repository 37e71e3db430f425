//! `airssys inspect`: what a component is, read from its bytes without running it.

use std::path::PathBuf;

use airssys_host::{Inspection, inspect_file};
use anstyle::{AnsiColor, Style};

const HEADING: Style = AnsiColor::Cyan.on_default().bold();
const NAME: Style = Style::new().bold();

/// Arguments of `airssys inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The component file (`.wasm`).
    pub file: PathBuf,
    /// Print the inspection as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Validates the file as an airssys component and prints its manifest, world and exports.
pub fn run(args: Args) -> anyhow::Result<()> {
    let inspection = inspect_file(&args.file)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
    } else {
        anstream::print!("{}", render(&inspection));
    }
    Ok(())
}

/// The human-readable report; styled, and plain where stdout is not a terminal.
pub fn render(info: &Inspection) -> String {
    use std::fmt::Write;
    let m = &info.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "{NAME}{} {}{NAME:#}", m.name(), m.version());
    let _ = writeln!(out, "  world      {}", info.world);
    let _ = writeln!(
        out,
        "  built with airssys {} (contract {})",
        m.sdk_version(),
        m.contract_version()
    );
    let _ = writeln!(out, "  size       {} bytes", info.size);
    let _ = writeln!(out, "{HEADING}capabilities{HEADING:#}");
    if m.capabilities().is_empty() {
        let _ = writeln!(out, "  (none declared)");
    }
    for (kind, pattern) in m.capabilities().iter() {
        let _ = writeln!(out, "  {:<10} {pattern}", kind.key());
    }
    let _ = writeln!(out, "{HEADING}exports{HEADING:#}");
    for export in &info.exports {
        let _ = writeln!(out, "  {export}");
    }
    let _ = writeln!(out, "{HEADING}imports{HEADING:#}");
    for import in &info.imports {
        let _ = writeln!(out, "  {import}");
    }
    out
}
