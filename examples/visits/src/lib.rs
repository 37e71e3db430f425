//! A visit counter that outlives its instance, a restart and a killed host: each request adds
//! one to the count of its page in namespace `visits`, durably, and replies with it.
//!
//! Request: `{"page": "/home"}` (any JSON without `page` counts `/`). Reply:
//! `{"page": "/home", "visits": 42}`.

use airssys::prelude::*;
use airssys::storage;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Visit {
    #[serde(default = "root")]
    page: String,
}

fn root() -> String {
    "/".to_owned()
}

#[derive(Serialize)]
struct Count {
    page: String,
    visits: i64,
}

#[derive(Default)]
struct Visits;

#[airssys::component(name = "visits", version = "0.1.0", capabilities(storage("visits")))]
impl Component for Visits {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let Visit { page } = req.json()?;
        // Returns once the new count is durable.
        let visits = storage::open("visits")?.increment(&page, 1)?;
        Payload::json(&Count { page, visits })
    }
}
