//! `airssys up`: run the components an operator's `airssys.toml` lists.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use airssys_host::server::Token;
use airssys_host::{
    AppManifest, ComponentInfo, EventKind, Host, Identity, Payload, Server, ServerSettings,
};
use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast::error::RecvError;

use crate::admin::ADDRESS_FILE;
use crate::build::{BuildOptions, build_crate};
use crate::ui;
use crate::watch::{self, Watched};

/// How long each `--request` waits for its reply.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `airssys up`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's file: components, configuration, limits, supervision (or a directory
    /// holding an `airssys.toml`).
    #[arg(default_value = "airssys.toml")]
    pub file: PathBuf,
    /// Start everything, print each component's health, stop, and exit (for scripts and CI).
    #[arg(long)]
    pub check: bool,
    /// Once everything runs, send this JSON request to the component at ADDRESS and print
    /// its reply; repeat for more, in order.
    #[arg(long, short, value_name = "ADDRESS=JSON", value_parser = parse_request)]
    pub request: Vec<(String, Payload)>,
    /// Also take requests on stdin, one per line: `ADDRESS JSON`. Each reply is printed on
    /// stdout as one line of JSON, `{"address": .., "reply": ..}` or `{"address": ..,
    /// "error": ..}`, in order; everything stops when stdin closes.
    #[arg(long, conflicts_with = "check")]
    pub stdin: bool,
    /// Watch each component's source (a crate folder, or a `.wasm` file) and, when it
    /// changes, rebuild it and hot-swap it blue-green with its state handed over.
    #[arg(long, conflicts_with = "check")]
    pub watch: bool,
    /// Serve on this address instead of `[ingress]`'s (or `[admin] listen`'s); port 0 picks
    /// a free one.
    #[arg(long, value_name = "ADDRESS")]
    pub listen: Option<SocketAddr>,
}

fn parse_request(entry: &str) -> Result<(String, Payload), String> {
    let (address, body) = entry.split_once('=').ok_or_else(|| {
        format!("`{entry}` is not ADDRESS=JSON (e.g. --request 'checkout={{\"item\":\"apple\"}}')")
    })?;
    serde_json::from_str::<serde_json::Value>(body).map_err(|err| {
        format!("the request to `{address}` is not valid JSON ({err}); quote it for the shell")
    })?;
    Ok((
        address.to_owned(),
        Payload::new(airssys_host::CONTENT_TYPE_JSON, body),
    ))
}

/// Starts every component at its key as address and prints their status table, then serves
/// HTTP if the file has `[ingress]` (or `--listen` asks), then prints the replies to
/// `--request`s, one line each (`address: reply`); with `--check` then reports health and
/// stops, otherwise prints lifecycle events (and, with `--stdin`, serves requests) until
/// Ctrl-C or the end of stdin, then stops the server, shuts everything down and closes the
/// store.
pub fn run(args: Args) -> anyhow::Result<()> {
    let file = if args.file.is_dir() {
        args.file.join("airssys.toml")
    } else {
        args.file.clone()
    };
    let app = AppManifest::from_file(&file)?;
    // A component whose source is a crate folder is built first.
    let mut sources = Vec::new();
    for (name, component) in app.components() {
        let wasm = if component.source.is_dir() {
            ui::status(
                "Building",
                &format!("{name} ({})", component.source.display()),
            );
            build_crate(&component.source, &BuildOptions::default())?
        } else {
            component.source.clone()
        };
        sources.push((name.to_owned(), wasm, component.options.clone()));
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        if let Some(cluster) = app.cluster() {
            ui::status(
                "Joining",
                &format!("application `{}` as host `{}`", cluster.app, cluster.host_name),
            );
        }
        // Opens `[storage]` (redb blocks while it opens or repairs the file) and connects to
        // `[cluster]`'s NATS servers, once for both.
        let builder = app.host_builder_async().await?;
        let host = builder.build()?;
        let mut events = host.events();
        // Served from before the first start, so the dashboard sees every lifecycle event.
        let serving = if args.check {
            None
        } else {
            Some(Serving::start(&app, &host, args.listen).await?)
        };
        let mut running = Vec::with_capacity(sources.len());
        for (name, wasm, options) in sources {
            let handle = host.load_with(&wasm, options).await?;
            ui::status("Started", &format!("{name} ({})", handle.label()));
            running.push((name, handle));
        }
        print!("{}", status_table(&host.components()));
        let mut watched: Vec<Watched> = if args.watch {
            app.components()
                .map(|(name, component)| Watched::new(name, &component.source))
                .collect()
        } else {
            Vec::new()
        };
        let mut poll = tokio::time::interval(watch::POLL);
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
            let stop = if args.stdin { "close stdin or press Ctrl-C" } else { "press Ctrl-C" };
            ui::note(&format!("running {} component(s); {stop} to stop", running.len()));
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    event = events.recv() => match event {
                        Ok(event) => report(&event.component, &event.kind),
                        Err(RecvError::Lagged(missed)) => ui::note(&format!("{missed} event(s) missed")),
                        Err(RecvError::Closed) => break,
                    },
                    line = lines.next_line(), if args.stdin => match line? {
                        Some(line) => println!("{}", serve(&host, &line).await),
                        None => break,
                    },
                    _ = poll.tick(), if args.watch => {
                        for source in &mut watched {
                            source.check(&host).await;
                        }
                    }
                }
            }
        }
        if let Some(serving) = serving {
            serving.stop().await?;
        }
        for (_, handle) in &running {
            handle.shutdown().await?;
        }
        if let Some(storage) = host.storage() {
            storage.close().await?;
        }
        anyhow::Ok(())
    })
}

/// Sends one `ADDRESS JSON` line as a request and describes the outcome as one JSON line.
async fn serve(host: &Host, line: &str) -> Value {
    let (address, body) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
    let outcome = async {
        let component = host
            .component(address)
            .with_context(|| format!("no component runs at `{address}`; write `ADDRESS JSON`"))?;
        let body: Value = serde_json::from_str(body).context("the request is not JSON")?;
        let reply = component.request(Payload::json(&body)?).await?;
        anyhow::Ok(match reply.decode_json::<Value>() {
            Ok(value) => value,
            Err(_) => json!(String::from_utf8_lossy(reply.body())),
        })
    };
    match outcome.await {
        Ok(reply) => json!({ "address": address, "reply": reply }),
        Err(err) => json!({ "address": address, "error": format!("{err:#}") }),
    }
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
        EventKind::Version { id, state, detail } => {
            let detail = detail
                .as_ref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            ui::status(
                "Version",
                &format!("{component} (version {id}) {state}{detail}"),
            );
        }
        other => ui::status("Event", &format!("{component}: {other:?}")),
    }
}

/// The one server while `airssys up` runs (ingress, `wasi:http` routes, `/metrics`,
/// `/health`, the dashboard and the admin API), and the file that tells the CLI where it
/// listens (removed on the way out).
struct Serving {
    task: tokio::task::JoinHandle<airssys_host::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
    address_file: PathBuf,
}

impl Serving {
    /// Listens on `listen`, else `[ingress] address`, else `[admin] listen` (a free loopback
    /// port by default), with the admin token of `[admin] token_file`.
    async fn start(
        app: &AppManifest,
        host: &Host,
        listen: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let admin = app.admin();
        let settings = app
            .server()
            .cloned()
            .unwrap_or_else(|| ServerSettings::new().address(admin.listen));
        let settings = match listen {
            Some(address) => settings.address(address),
            None => settings,
        };
        let token = Token::load_or_create(&admin.token_file)?;
        let server = Server::bind(host, settings.admin(token)).await?;
        let address = server.local_addr();
        let address_file = app.state_dir().join(ADDRESS_FILE);
        std::fs::write(&address_file, format!("{address}\n"))
            .with_context(|| format!("cannot write {}", address_file.display()))?;
        let url = format!("http://{address}");
        ui::status(
            "Serving",
            &format!("{url} (dashboard {url}/, metrics {url}/metrics)"),
        );
        ui::note(&format!(
            "admin API at {url}/v1 for loopback clients (token in {})",
            admin.token_file.display()
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            task,
            stop,
            address_file,
        })
    }

    /// Stops accepting, lets the requests under way finish, and removes the address file.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let _ = std::fs::remove_file(&self.address_file);
        self.task.await.context("the server's task failed")??;
        Ok(())
    }
}
