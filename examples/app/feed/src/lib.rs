//! `feed`: what happened in the app, as the other components publish it on `app.>`. Keeps
//! the latest 100 events in memory and lists them, newest first.
//!
//! Request: `{"op": "recent"}` -> `[{"topic": "app.visit", "from": "web", "event": {..}}, ..]`.

use std::collections::VecDeque;

use airssys::prelude::*;
use serde::{Deserialize, Serialize};

/// Events kept.
const KEEP: usize = 100;

#[derive(Serialize)]
struct Seen {
    topic: String,
    from: String,
    event: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Recent,
}

#[derive(Default)]
struct Feed {
    seen: VecDeque<Seen>,
}

#[airssys::component(name = "feed", capabilities(subscribe("app.>")))]
impl Component for Feed {
    fn on_message(&mut self, message: Message) -> Result<()> {
        self.seen.push_front(Seen {
            topic: message.topic().unwrap_or_default().to_owned(),
            from: message.source().unwrap_or("ingress").to_owned(),
            event: message.json()?,
        });
        self.seen.truncate(KEEP);
        Ok(())
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        match req.json()? {
            Op::Recent => Payload::json(&self.seen),
        }
    }
}
