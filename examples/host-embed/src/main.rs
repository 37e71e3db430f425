//! A host program: builds the `hello` and `counter` example components from source, loads
//! both into one `Host`, and calls them.
//!
//! Run it with `cargo run -p host-embed`. Pass component files to skip the build:
//! `cargo run -p host-embed -- greeter.wasm counter.wasm`.

use std::path::{Path, PathBuf};

use airssys_cli::build::{BuildOptions, build_crate, ensure_wasm_target};
use airssys_host::{Host, LoadOptions, Payload};
use serde::{Deserialize, Serialize};

/// The greeter's request and reply: the same shapes the component declares.
#[derive(Serialize)]
struct Greet<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
struct Greeting {
    text: String,
    count: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter("warn,airssys::guest=info")
        .init();
    let (greeter_wasm, counter_wasm) = match std::env::args().skip(1).collect::<Vec<_>>()[..] {
        [ref greeter, ref counter] => (PathBuf::from(greeter), PathBuf::from(counter)),
        _ => (build("hello")?, build("counter")?),
    };

    let host = Host::new()?;
    let greeter = host.load(&greeter_wasm).await?;
    let counter = host
        .load_with(
            &counter_wasm,
            LoadOptions::new()
                .config("start", "100")
                .config("step", "10"),
        )
        .await?;

    for name in ["Ada", "Grace"] {
        let reply: Greeting = greeter.request_json(&Greet { name }).await?;
        println!(
            "{} -> {} (greeting #{})",
            greeter.label(),
            reply.text,
            reply.count
        );
    }

    counter.send(Payload::json(&"tick")?).await?;
    let value: serde_json::Value = counter
        .request_json(&serde_json::json!({ "op": "increment", "by": 5 }))
        .await?;
    println!("{} -> {value}", counter.label());
    println!("{} health: {:?}", counter.label(), counter.health().await?);

    greeter.shutdown().await?;
    counter.shutdown().await?;
    Ok(())
}

/// Builds `examples/<name>` for wasm32-wasip2 exactly as `airssys build` does.
fn build(name: &str) -> anyhow::Result<PathBuf> {
    ensure_wasm_target()?;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Ok(build_crate(&examples.join(name), &BuildOptions::default())?)
}
