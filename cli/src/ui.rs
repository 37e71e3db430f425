//! How the CLI talks to people: coloured status lines and errors on stderr.
//!
//! Everything goes through `anstream`, which drops the colours when stderr is not a terminal
//! (or `NO_COLOR` is set), so logs and pipes get plain text. Stdout is kept for a command's
//! result (e.g. the path `airssys build` prints) so scripts can capture it.

use std::io::IsTerminal;

use airssys_host::Health;
use anstyle::{AnsiColor, Style};

const ERROR: Style = AnsiColor::Red.on_default().bold();
const STATUS: Style = AnsiColor::Green.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default().bold();

/// Prints `error: <message>` and then each cause on its own `caused by:` line.
pub(crate) fn error(err: &anyhow::Error) {
    anstream::eprintln!("{ERROR}error{ERROR:#}: {err}");
    for cause in err.chain().skip(1) {
        anstream::eprintln!("  {ERROR}caused by{ERROR:#}: {cause}");
    }
}

/// Prints a cargo-style status line (`   Created demo-app in ./demo-app`).
pub(crate) fn status(verb: &str, message: &str) {
    anstream::eprintln!("{STATUS}{verb:>12}{STATUS:#} {message}");
}

/// Like [`status`], but only for a person watching: stderr redirected to a file or pipe gets
/// nothing, because the command's result is already on stdout.
pub(crate) fn status_if_terminal(verb: &str, message: &str) {
    if std::io::stderr().is_terminal() {
        status(verb, message);
    }
}

/// Prints `note: <message>` for something the CLI does on the user's behalf.
pub(crate) fn note(message: &str) {
    anstream::eprintln!("{NOTE}note{NOTE:#}: {message}");
}

/// `<who> is healthy`, `<who> is degraded: <why>`, ...: how commands report health.
pub(crate) fn health_line(who: &str, health: &Health) -> String {
    match health {
        Health::Healthy => format!("{who} is healthy"),
        Health::Degraded(why) => format!("{who} is degraded: {why}"),
        Health::Unhealthy(why) => format!("{who} is unhealthy: {why}"),
    }
}

/// Left-aligned columns separated by two spaces, a header line first; each line ends in `\n`.
pub(crate) fn table<const N: usize>(
    header: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) -> String {
    let rows: Vec<[String; N]> = std::iter::once(header.map(str::to_owned))
        .chain(rows)
        .collect();
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A byte count for people: `512 B`, `1.5 KiB`, `17.3 MiB`, `2.0 GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let text = table(
            ["A", "LONG HEADER"],
            [["wide cell".to_owned(), "x".to_owned()]],
        );
        assert_eq!(text, "A          LONG HEADER\nwide cell  x\n");
    }

    #[test]
    fn byte_counts_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(17 << 20), "17.0 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
