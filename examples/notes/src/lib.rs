//! Notes: a component that keeps notes as files, counts their words with a host program, and
//! shares them with a webhook over HTTP; each only as far as the operator grants
//! (see `airssys.toml` beside this crate).
//!
//! Requests: `{"op": "add", "title": "todo", "text": "buy milk"}`, `{"op": "list"}`,
//! `{"op": "get", "title": "todo"}` (with a word count from `wc -w`),
//! `{"op": "share", "title": "todo"}` (POSTs it to the `webhook` configuration URL).

use airssys::prelude::*;
use airssys::{fs, http, process};
use serde::Deserialize;
use serde_json::json;

/// Where notes live; `fs_read`/`fs_write` below declare exactly this tree.
const DIR: &str = "/tmp/airssys-notes";

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Add { title: String, text: String },
    List,
    Get { title: String },
    Share { title: String },
}

struct Notes {
    webhook: Option<String>,
}

#[airssys::component(
    name = "notes",
    version = "0.1.0",
    capabilities(
        fs_read("/tmp/airssys-notes/**"),
        fs_write("/tmp/airssys-notes/**"),
        net("127.0.0.1:*"),
        process("wc -w"),
    )
)]
impl Component for Notes {
    fn init(config: &Config) -> Result<Self> {
        Ok(Self {
            webhook: config.get("webhook").map(str::to_owned),
        })
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        match req.json::<Op>()? {
            Op::Add { title, text } => {
                fs::write(&path(&title)?, &text)?;
                Payload::json(&json!({ "saved": title }))
            }
            Op::List => {
                let titles: Vec<String> = fs::list_dir(DIR)?
                    .into_iter()
                    .filter_map(|name| name.strip_suffix(".txt").map(str::to_owned))
                    .collect();
                Payload::json(&titles)
            }
            Op::Get { title } => {
                let text = fs::read_to_string(&path(&title)?)?;
                let counted = process::Command::new("wc")
                    .arg("-w")
                    .stdin(text.clone())
                    .run()?;
                let words: u64 = counted.stdout_text()?.trim().parse().unwrap_or(0);
                Payload::json(&json!({ "title": title, "text": text, "words": words }))
            }
            Op::Share { title } => {
                let webhook = self.webhook.as_deref().ok_or_else(|| {
                    Error::invalid_input("no webhook configured; set --config webhook=http://...")
                })?;
                let text = fs::read_to_string(&path(&title)?)?;
                let response = http::Request::post(webhook)
                    .json(&json!({ "title": title, "text": text }))?
                    .send()?;
                Payload::json(&json!({ "shared": title, "status": response.status }))
            }
        }
    }
}

/// A note's file; titles are single path segments so they cannot climb out of `DIR`.
fn path(title: &str) -> Result<String> {
    let plain = !title.is_empty()
        && title
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Err(Error::invalid_input(format!(
            "`{title}` is not a valid title: use letters, digits, `-` and `_`"
        )));
    }
    Ok(format!("{DIR}/{title}.txt"))
}
