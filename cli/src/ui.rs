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
