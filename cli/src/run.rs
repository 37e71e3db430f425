//! `airssys run`: build if needed, load, call, print the reply.

use std::path::{Path, PathBuf};

use airssys_host::storage::Storage;
use airssys_host::{Capabilities, CapabilityKind, Host, LoadOptions, Mode, Payload};
use anyhow::Context;

use crate::build::{BuildOptions, build_crate, ensure_wasm_target_in};
use crate::ui;

/// Arguments of `airssys run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A component file (`.wasm`), or a component crate directory to build first.
    pub target: PathBuf,
    /// Send this request and print the reply (JSON unless --content-type says otherwise).
    #[arg(long, short)]
    pub request: Option<String>,
    /// Send these fire-and-forget messages first, in order (same content type as --request).
    #[arg(long, value_name = "MESSAGE")]
    pub send: Vec<String>,
    /// Content type of --request and --send bodies.
    #[arg(long, default_value = airssys_host::CONTENT_TYPE_JSON)]
    pub content_type: String,
    /// Configuration for the component's `init`, as KEY=VALUE; repeat for more.
    #[arg(long, short, value_name = "KEY=VALUE", value_parser = parse_config)]
    pub config: Vec<(String, String)>,
    /// Grant a declared capability, as KIND=PATTERN (e.g. `fs_read=/srv/notes/**`); repeat.
    #[arg(long, short, value_name = "KIND=PATTERN", value_parser = parse_grant)]
    pub grant: Vec<(CapabilityKind, String)>,
    /// How declared capabilities that are not granted are treated.
    #[arg(long, value_enum, default_value_t = ModeArg::Strict)]
    pub mode: ModeArg,
}

/// `--mode` values; see [`Mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Refuse to start when a declared capability is not granted.
    Strict,
    /// Start; deny ungranted capabilities at call time.
    Permissive,
    /// Grant whatever the component declares (development only).
    Development,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Self {
        match mode {
            ModeArg::Strict => Mode::Strict,
            ModeArg::Permissive => Mode::Permissive,
            ModeArg::Development => Mode::Development,
        }
    }
}

fn parse_grant(entry: &str) -> Result<(CapabilityKind, String), String> {
    let (key, pattern) = entry
        .split_once('=')
        .ok_or_else(|| format!("`{entry}` is not KIND=PATTERN (e.g. --grant fs_read=/data/**)"))?;
    let kind = CapabilityKind::from_key(key).ok_or_else(|| {
        format!(
            "unknown capability `{key}`; expected one of {}",
            CapabilityKind::expected_keys()
        )
    })?;
    kind.validate(pattern).map_err(|err| err.to_string())?;
    Ok((kind, pattern.to_owned()))
}

fn parse_config(entry: &str) -> Result<(String, String), String> {
    match entry.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!(
            "`{entry}` is not KEY=VALUE (e.g. --config start=10)"
        )),
    }
}

/// Loads the component, sends the messages, makes the request and prints the reply; without
/// a request, prints the component's health.
pub fn run(args: Args) -> anyhow::Result<()> {
    let wasm = component_path(&args.target)?;
    let is_json = Payload::new(args.content_type.clone(), Vec::new()).is_json();
    let body = |text: &str, flag: &str| -> anyhow::Result<Payload> {
        if is_json {
            serde_json::from_str::<serde_json::Value>(text).with_context(|| {
                format!("{flag} is not valid JSON; quote it for the shell, e.g. {flag} '{{\"name\":\"Ada\"}}', or pass --content-type text/plain")
            })?;
        }
        Ok(Payload::new(
            args.content_type.clone(),
            text.as_bytes().to_vec(),
        ))
    };
    let messages = args
        .send
        .iter()
        .map(|m| body(m, "--send"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let request = args
        .request
        .as_deref()
        .map(|r| body(r, "--request"))
        .transpose()?;

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // A one-shot run keeps what the component stores in memory, gone when it exits.
        let host = Host::builder()
            .mode(args.mode.into())
            .storage(Storage::in_memory())
            .build()?;
        let mut grants = Capabilities::default();
        for (kind, pattern) in &args.grant {
            grants.add(*kind, pattern)?;
        }
        let options = LoadOptions::new().configs(args.config).grants(grants);
        let component = host.load_with(&wasm, options).await?;
        ui::status_if_terminal("Running", &component.label());
        for message in messages {
            component.send(message).await?;
        }
        match request {
            Some(request) => println!("{}", reply_text(&component.request(request).await?, true)),
            None => {
                let health = component.health().await?;
                println!("{}", ui::health_line(&component.label(), &health));
            }
        }
        component.shutdown().await?;
        anyhow::Ok(())
    })
}

/// A crate directory is built first (release, for wasm32-wasip2); a file is used as is.
fn component_path(target: &Path) -> anyhow::Result<PathBuf> {
    if !target.is_dir() {
        return Ok(target.to_owned());
    }
    ensure_wasm_target_in(target)?;
    let wasm = build_crate(target, &BuildOptions::default())?;
    ui::status_if_terminal("Built", &wasm.display().to_string());
    Ok(wasm)
}

/// A reply as printed: JSON (pretty or on one line), text as is, other bytes summarized.
pub(crate) fn reply_text(reply: &Payload, pretty: bool) -> String {
    if reply.is_json()
        && let Ok(value) = reply.decode_json::<serde_json::Value>()
    {
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        };
        text.unwrap_or_default()
    } else if let Ok(text) = reply.as_text() {
        text.to_owned()
    } else {
        format!("<{} bytes of {}>", reply.body().len(), reply.content_type())
    }
}
