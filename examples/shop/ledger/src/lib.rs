//! Ledger: keeps every price quoted, as published on `prices.*`, and lists them on request.

use airssys::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Entry {
    /// The topic it came on, and who published it.
    topic: String,
    from: String,
    quote: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    /// Everything recorded so far.
    List,
}

#[derive(Default)]
struct Ledger {
    entries: Vec<Entry>,
}

#[airssys::component(name = "ledger", capabilities(subscribe("prices.>")))]
impl Component for Ledger {
    fn on_message(&mut self, message: Message) -> Result<()> {
        self.entries.push(Entry {
            topic: message.topic().unwrap_or_default().to_owned(),
            from: message.source().unwrap_or("host").to_owned(),
            quote: message.json()?,
        });
        Ok(())
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        match req.json()? {
            Op::List => Payload::json(&self.entries),
        }
    }

    fn health(&self) -> Health {
        match self.entries.len() {
            0 => Health::Degraded("no prices quoted yet".into()),
            _ => Health::Healthy,
        }
    }
}
