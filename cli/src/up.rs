//! `airssys up`: run the components an operator's `airssys.toml` lists.

use std::path::PathBuf;
use std::time::Duration;

use airssys_host::{AppManifest, ComponentInfo, EventKind, Identity, Payload};
use anyhow::Context;
use tokio::sync::broadcast::error::RecvError;

use crate::ui;

/// How long each `--request` waits for its reply.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `airssys up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's file: components, configuration, limits, supervision.
    #[arg(default_value = "airssys.toml")]
    pub file: PathBuf,
    /// Start everything, print each component's health, stop, and exit (for scripts and CI).
    #[arg(long)]
    pub check: bool,
    /// Once everything runs, send this JSON request to the component at ADDRESS and print
    /// its reply; repeat for more, in order.
    #[arg(long, short, value_name = "ADDRESS=JSON", value_parser = parse_request)]
    pub request: Vec<(String, Payload)>,
}

fn parse_request(entry: &str) -> Result<(String, Payload), String> {
    let (address, body) = entry.split_once('=').ok_or_else(|| {
        format!("`{entry}` is not ADDRESS=JSON (e.g. --request 'checkout={{\"item\":\"apple\"}}')")
    })?;
    serde_json::from_str::<serde_json::Value>(body)
        .map_err(|err| format!("the request to `{address}` is not valid JSON ({err}); quote it for the shell"))?;
    Ok((address.to_owned(), Payload::new(airssys_host::CONTENT_TYPE_JSON, body)))
}

/// Starts every component at its key as address and prints their status table, then the
/// replies to `--request`s, one line each (`address: reply`); with `--check` then reports
/// health and stops, otherwise prints lifecycle events until Ctrl-C, then shuts everything
/// down.
pub fn run(args: Args) -> anyhow::Result<()> {
    let app = AppManifest::from_file(&args.file)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let host = app.host_builder().build()?;
        let mut events = host.events();
        let running = app.start(&host).await?;
        for (name, handle) in &running {
            ui::status("Started", &format!("{name} ({})", handle.label()));
        }
        print!("{}", status_table(&host.components()));
        for (address, body) in args.request {
            let reply = host.request(&address, body, REQUEST_TIMEOUT).await?;
            println!("{address}: {}", crate::run::reply_text(&reply, false));
        }
        if args.check {
            for (name, handle) in &running {
                let health = handle.health().await?;
                println!("{}", ui::health_line(&format!("{name} ({})", handle.label()), &health));
            }
        } else {
            ui::note(&format!(
                "running {} component(s); press Ctrl-C to stop",
                running.len()
            ));
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    event = events.recv() => match event {
                        Ok(event) => report(&event.component, &event.kind),
                        Err(RecvError::Lagged(missed)) => ui::note(&format!("{missed} event(s) missed")),
                        Err(RecvError::Closed) => break,
                    },
                }
            }
        }
        for (_, handle) in &running {
            handle.shutdown().await?;
        }
        anyhow::Ok(())
    })
}

/// One line per component: address, component, version, state, requests served and memory.
fn status_table(components: &[ComponentInfo]) -> String {
    let rows = components.iter().map(|c| {
        [
            c.identity.address.clone(),
            c.identity.name.clone(),
            c.identity.version.clone(),
            c.state.to_string(),
            c.stats.requests.to_string(),
            ui::bytes(c.memory.current),
        ]
    });
    ui::table(
        [
            "ADDRESS",
            "COMPONENT",
            "VERSION",
            "STATE",
            "REQUESTS",
            "MEMORY",
        ],
        rows,
    )
}

fn report(component: &Identity, kind: &EventKind) {
    match kind {
        EventKind::Starting => ui::status("Starting", &component.to_string()),
        EventKind::Started => ui::status("Started", &component.to_string()),
        EventKind::Trapped(trap) => ui::status("Trapped", &format!("{component} {trap}")),
        EventKind::Restarted { restarts } => {
            ui::status("Restarted", &format!("{component} (restart {restarts})"));
        }
        EventKind::Stopping => ui::status("Stopping", &component.to_string()),
        EventKind::Stopped { reason } => ui::status("Stopped", &format!("{component}: {reason}")),
        EventKind::Escalated(trap) => ui::status("Escalated", &format!("{component} {trap}")),
        other => ui::status("Event", &format!("{component}: {other:?}")),
    }
}
