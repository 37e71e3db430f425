//! `airssys inspect`: what a component is, read from its bytes without running it.

use std::path::PathBuf;

use airssys_host::{Inspection, SignatureError, Signer, inspect_file, signers};
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
    let bytes = std::fs::read(&args.file)?;
    let signers = signers(&bytes);
    if args.json {
        let mut value = serde_json::to_value(&inspection)?;
        value["signatures"] = match &signers {
            Ok(signers) => serde_json::to_value(signers)?,
            Err(err) => serde_json::json!({ "error": err.to_string() }),
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        anstream::print!("{}", render(&inspection));
        anstream::print!("{}", render_signers(&signers));
    }
    Ok(())
}

/// Who signed it, each signature checked against the bytes (trust is the host's decision).
pub fn render_signers(signers: &Result<Vec<Signer>, SignatureError>) -> String {
    use std::fmt::Write;
    let mut out = format!("{HEADING}signatures{HEADING:#}\n");
    match signers {
        Ok(signers) if signers.is_empty() => out.push_str("  (unsigned)\n"),
        Ok(signers) => {
            for signer in signers {
                let _ = writeln!(out, "  {} ed25519 {} (valid)", signer.name, signer.key);
            }
        }
        Err(err) => {
            let _ = writeln!(out, "  invalid: {err}");
        }
    }
    out
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
