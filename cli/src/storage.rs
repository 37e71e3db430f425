//! `airssys storage`: read the store an operator's `airssys.toml` names, for inspection,
//! backups and migration.
//!
//! It opens the file itself, so the host must not be running: redb lets one process at a time
//! have it open, and a running host's store is reached through that host
//! (`Host::storage`). Opening recovers a file a killed host left, as a host's start would.

use std::io::Write;
use std::path::PathBuf;

use airssys_host::storage::{Entry, Storage, StorageError};
use airssys_host::{AppManifest, StorageConfig};
use anyhow::{Context, bail};
use serde_json::{Map, Value, json};

use crate::ui;

/// Arguments of `airssys storage`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operator's file whose `[storage]` names the store.
    #[arg(long, short, default_value = "airssys.toml", global = true)]
    pub file: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `airssys storage` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every namespace that holds keys, with its key count and bytes.
    List,
    /// One value, written to stdout as stored (bytes as they are).
    Get {
        /// The namespace (`app.cache`).
        namespace: String,
        /// The key, as UTF-8 text.
        key: String,
    },
    /// Every key of a namespace as JSON lines: `{"key", "value", "revision"}`, with `key_hex`
    /// or `value_hex` instead where the bytes are not UTF-8.
    Export {
        /// The namespace (`app.cache`).
        namespace: String,
    },
}

/// Opens the store of `args.file` and runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let app = AppManifest::from_file(&args.file)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let storage = match app.storage() {
        Some(StorageConfig::File { path, .. }) => Storage::open_with_cache(path, 0)?,
        Some(nats @ StorageConfig::Nats(_)) => runtime.block_on(nats.open_async())?,
        Some(_) => bail!(
            "{} keeps its store in memory (`memory = true`); nothing outlives the host to read",
            args.file.display()
        ),
        None => bail!(
            "{} has no `[storage]` table; add one with `path = \"...\"`",
            args.file.display()
        ),
    };
    runtime.block_on(async {
        let outcome = command(&storage, args.command).await;
        storage.close().await?;
        outcome
    })
}

async fn command(storage: &Storage, command: Command) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::List => {
            let mut rows = Vec::new();
            for name in storage.namespaces().await? {
                let usage = storage.namespace(&name)?.usage().await?;
                rows.push([name, usage.keys.to_string(), ui::bytes(usage.bytes)]);
            }
            write!(out, "{}", ui::table(["NAMESPACE", "KEYS", "BYTES"], rows))?;
        }
        Command::Get { namespace, key } => {
            let ns = storage.namespace(&namespace)?;
            let Some(value) = ns.get(&key).await? else {
                bail!(
                    "namespace `{namespace}` has no key `{key}`; `airssys storage export {namespace}` lists its keys"
                );
            };
            out.write_all(&value)?;
        }
        Command::Export { namespace } => {
            let entries = match storage.namespace(&namespace)?.export().await {
                Err(err @ StorageError::NotFound { .. }) => {
                    return Err(err).context("`airssys storage list` shows the namespaces");
                }
                entries => entries?,
            };
            for (key, entry) in entries {
                writeln!(out, "{}", line(&key, &entry))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// One exported entry: text where the bytes are UTF-8, hex where they are not.
fn line(key: &[u8], entry: &Entry) -> Value {
    let mut line = Map::new();
    for (name, bytes) in [("key", key), ("value", entry.value.as_ref())] {
        let (field, value) = match std::str::from_utf8(bytes) {
            Ok(text) => (name.to_owned(), json!(text)),
            Err(_) => (format!("{name}_hex"), json!(hex::encode(bytes))),
        };
        line.insert(field, value);
    }
    line.insert("revision".into(), json!(entry.revision.get()));
    Value::Object(line)
}
