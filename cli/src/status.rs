//! `airssys status`: what a running `airssys up` serves, and the versions each address keeps.

use hyper::Method;
use serde_json::Value;

use crate::admin::{Admin, Target};
use crate::ui;

/// Arguments of `airssys status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Only this address.
    pub address: Option<String>,
    /// Print the admin API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Asks the admin API and prints a table, one line per version of each address.
pub fn run(args: Args) -> anyhow::Result<()> {
    let admin = Admin::find(&args.target)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let value = runtime.block_on(async {
        match &args.address {
            Some(address) => {
                admin
                    .json(Method::GET, &format!("/v1/components/{address}"))
                    .await
            }
            None => admin.json(Method::GET, "/v1/components").await,
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let components = match value.get("components") {
        Some(list) => list.as_array().cloned().unwrap_or_default(),
        None => vec![value.clone()],
    };
    print!("{}", table(&components));
    if let Some(host) = value["host"].as_str() {
        print!("{}", cluster_table(host, &components, &value["peers"]));
    }
    Ok(())
}

/// In a cluster: HOST, ADDRESS, COMPONENT, STATE, INSTANCES, this host first, then each
/// other host heard from.
fn cluster_table(host: &str, components: &[Value], peers: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let here = components.iter().map(|c| {
        [
            host.to_owned(),
            text(&c["address"]),
            format!("{}@{}", text(&c["name"]), text(&c["version"])),
            text(&c["state"]),
            text(&c["instances"]),
        ]
    });
    let peers = peers.as_array().cloned().unwrap_or_default();
    let there = peers.iter().flat_map(|peer| {
        let name = text(&peer["host"]);
        peer["components"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(move |c| {
                [
                    name.clone(),
                    text(&c["address"]),
                    text(&c["component"]),
                    text(&c["state"]),
                    text(&c["instances"]),
                ]
            })
    });
    let rows: Vec<_> = here.chain(there).collect();
    format!(
        "\n{}",
        ui::table(["HOST", "ADDRESS", "COMPONENT", "STATE", "INSTANCES"], rows)
    )
}

/// ADDRESS, VERSION (number and semver), STATE, INSTANCES, REQUESTS, ERRORS, SIGNED, HASH.
fn table(components: &[Value]) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows = components.iter().flat_map(|c| {
        let address = text(&c["address"]);
        let deploying = c["deploying"].as_bool() == Some(true);
        c["versions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(move |v| {
                let mut state = text(&v["state"]);
                if deploying && state == "serving" {
                    state.push_str(" (deploy under way)");
                }
                [
                    address.clone(),
                    format!(
                        "{} {}@{}",
                        text(&v["id"]),
                        text(&v["name"]),
                        text(&v["version"])
                    ),
                    state,
                    text(&v["instances"]),
                    text(&v["stats"]["requests"]),
                    text(&v["stats"]["errors"]),
                    text(&v["signature"]["status"]),
                    text(&v["hash"]).chars().take(12).collect(),
                ]
            })
    });
    ui::table(
        [
            "ADDRESS",
            "VERSION",
            "STATE",
            "INSTANCES",
            "REQUESTS",
            "ERRORS",
            "SIGNATURE",
            "HASH",
        ],
        rows,
    )
}
