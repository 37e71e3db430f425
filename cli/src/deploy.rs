//! `airssys deploy`, `promote`, `abort`, `rollback` and `retire`: drive the deploys of a
//! running `airssys up` through its admin API, showing progress as it goes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use hyper::Method;
use serde_json::Value;

use crate::admin::{Admin, Target, each_line};
use crate::build::{BuildOptions, build_crate};
use crate::ui;

/// How traffic moves to the new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// Start and health-check the new version beside the old, then switch all traffic.
    BlueGreen,
    /// Stop the old version, then start the new (a gap; queued calls move over).
    StopStart,
    /// Send a share of traffic to the new version until promoted or aborted.
    Canary,
    /// Replace a pool's instances a batch at a time.
    Rolling,
}

/// Arguments of `airssys deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: Target,
    /// The address to deploy to (a key of `[components]`).
    pub address: String,
    /// The new version: a `.wasm` component, or a component crate to build first.
    pub source: PathBuf,
    /// How traffic moves.
    #[arg(long, value_enum, default_value = "blue-green")]
    pub strategy: StrategyArg,
    /// A canary's share of the traffic, from 0 to 1.
    #[arg(long, default_value_t = 0.1)]
    pub share: f64,
    /// Abort a canary on its own when more than this share of its calls fail (0 to 1).
    #[arg(long, value_name = "RATE")]
    pub abort_rate: Option<f64>,
    /// The window the canary's failures are counted over (e.g. `30s`, `500ms`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub window: Duration,
    /// Fewer calls than this in the window never abort the canary.
    #[arg(long, default_value_t = 20)]
    pub min_calls: u64,
    /// Instances a rolling deploy replaces per step.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Start the new version fresh instead of handing the old one's state over.
    #[arg(long)]
    pub fresh: bool,
    /// Print the admin API's JSON lines instead of progress and a summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `airssys promote`, `abort` and `rollback`.
#[derive(Debug, clap::Args)]
pub struct AddressArgs {
    #[command(flatten)]
    pub target: Target,
    /// The address.
    pub address: String,
    /// Print the admin API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `airssys retire`.
#[derive(Debug, clap::Args)]
pub struct RetireArgs {
    #[command(flatten)]
    pub target: Target,
    /// The address.
    pub address: String,
    /// The version's number, as `airssys status` lists it.
    pub version: u64,
}

/// Builds SOURCE if it is a crate, uploads it, and follows the deploy to its end.
pub fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let admin = Admin::find(&args.target)?;
    let wasm = component_file(&args.source, args.json)?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let mut query = format!(
        "strategy={}&handoff={}",
        match args.strategy {
            StrategyArg::BlueGreen => "blue-green",
            StrategyArg::StopStart => "stop-start",
            StrategyArg::Canary => "canary",
            StrategyArg::Rolling => "rolling",
        },
        !args.fresh
    );
    match args.strategy {
        StrategyArg::Canary => {
            query.push_str(&format!("&share={}", args.share));
            if let Some(rate) = args.abort_rate {
                query.push_str(&format!(
                    "&abort_rate={rate}&window_ms={}&min_calls={}",
                    args.window.as_millis(),
                    args.min_calls
                ));
            }
        }
        StrategyArg::Rolling => query.push_str(&format!("&batch={}", args.batch)),
        _ => {}
    }
    let path = format!("/v1/components/{}/deploy?{query}", args.address);
    let source = wasm.display().to_string();
    follow(
        &admin,
        &path,
        bytes,
        &[("x-airssys-source", source)],
        args.json,
        "Deployed",
    )
}

/// Returns the address to the version it keeps in standby, following it to its end.
pub fn rollback(args: AddressArgs) -> anyhow::Result<()> {
    let admin = Admin::find(&args.target)?;
    let path = format!("/v1/components/{}/rollback", args.address);
    follow(&admin, &path, Vec::new(), &[], args.json, "Rolled back")
}

/// Gives the canary under way all the traffic.
pub fn promote(args: AddressArgs) -> anyhow::Result<()> {
    order(
        args,
        "promote",
        "Promoted",
        "the canary takes all the traffic",
    )
}

/// Aborts the deploy under way; the old version keeps serving.
pub fn abort(args: AddressArgs) -> anyhow::Result<()> {
    order(args, "abort", "Aborted", "the old version keeps serving")
}

/// Forgets a version kept for rollback.
pub fn retire(args: RetireArgs) -> anyhow::Result<()> {
    let admin = Admin::find(&args.target)?;
    let path = format!(
        "/v1/components/{}/versions/{}/retire",
        args.address, args.version
    );
    runtime()?.block_on(admin.json(Method::POST, &path))?;
    ui::status(
        "Retired",
        &format!("{} version {}", args.address, args.version),
    );
    Ok(())
}

fn order(args: AddressArgs, verb: &str, done: &str, what: &str) -> anyhow::Result<()> {
    let admin = Admin::find(&args.target)?;
    let path = format!("/v1/components/{}/{verb}", args.address);
    let value = runtime()?.block_on(admin.json(Method::POST, &path))?;
    if args.json {
        println!("{value}");
    } else {
        ui::status(done, &format!("{}: {what}", args.address));
    }
    Ok(())
}

/// Sends a deploy request and prints its progress lines as they come, then the outcome.
fn follow(
    admin: &Admin,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    json: bool,
    done: &str,
) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let response = admin.send(Method::POST, path, body, headers).await?;
        let mut failed = None;
        each_line(response, |line| {
            if json {
                println!("{line}");
            }
            if let Some(progress) = line.get("progress") {
                if !json {
                    let detail = text(&progress["detail"]);
                    let (verb, rest) = progress_line(&text(&progress["stage"]), &detail);
                    ui::status(&verb, rest);
                }
            } else if let Some(outcome) = line.get("outcome") {
                if !json {
                    summary(done, outcome);
                }
            } else if let Some(error) = line.get("error") {
                failed = Some(text(error));
            }
            Ok(())
        })
        .await?;
        match failed {
            Some(error) => bail!("{error}"),
            None => Ok(()),
        }
    })
}

/// A progress line's verb and text: the detail's own first word when it starts with the
/// stage's (`compiling x.wasm` is `Compiling x.wasm`), else the stage's name.
fn progress_line<'a>(stage: &str, detail: &'a str) -> (String, &'a str) {
    let stage_verb = stage.split('_').next().unwrap_or_default();
    match detail.split_once(' ') {
        Some((first, rest)) if first.eq_ignore_ascii_case(stage_verb) => (capitalised(first), rest),
        _ => (capitalised(&stage.replace('_', " ")), detail),
    }
}

fn summary(done: &str, outcome: &Value) {
    let ms = |v: &Value| v.as_f64().unwrap_or_default();
    ui::status(
        done,
        &format!(
            "{} now serves {} (version {}, was {}); traffic switched after {:.1} ms, done in {:.1} ms{}",
            text(&outcome["address"]),
            text(&outcome["to"]),
            text(&outcome["version"]),
            text(&outcome["from"]),
            ms(&outcome["switched_after_ms"]),
            ms(&outcome["took_ms"]),
            if outcome["handed_over"].as_bool() == Some(true) {
                ", state handed over"
            } else {
                ""
            }
        ),
    );
}

/// SOURCE itself, or the component its crate builds to.
fn component_file(source: &Path, quiet: bool) -> anyhow::Result<PathBuf> {
    if !source.is_dir() {
        return Ok(source.to_owned());
    }
    if !quiet {
        ui::status("Building", &source.display().to_string());
    }
    let options = BuildOptions {
        quiet,
        ..BuildOptions::default()
    };
    Ok(build_crate(source, &options)?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `30s`, `500ms`, `2m`, or a number of milliseconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "ms"), |at| text.split_at(at));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{text}` is not a duration like 30s or 500ms")),
    }
}

#[cfg(test)]
mod tests {
    use super::progress_line;

    #[test]
    fn a_progress_line_says_its_verb_once() {
        let line = |stage, detail| {
            let (verb, rest) = progress_line(stage, detail);
            format!("{verb} {rest}")
        };
        assert_eq!(line("compiling", "compiling v2.wasm"), "Compiling v2.wasm");
        assert_eq!(
            line("checking_health", "checking the health of web@1.1.0"),
            "Checking the health of web@1.1.0"
        );
        assert_eq!(
            line("handing_over", "web@1.0.0 hands its state over"),
            "Handing over web@1.0.0 hands its state over"
        );
        assert_eq!(line("done", "web@1.1.0 serves"), "Done web@1.1.0 serves");
    }
}
