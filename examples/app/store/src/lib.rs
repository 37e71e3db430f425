//! `store`: the app's durable state. Counts visits per page in namespace `app.visits` (each
//! count is on disk before the reply), and lists them.
//!
//! Requests: `{"op": "hit", "page": "/home"}` -> `{"page": "/home", "visits": 3}`;
//! `{"op": "pages"}` -> `{"/home": 3, "/about": 1}`.

use std::collections::BTreeMap;

use airssys::prelude::*;
use airssys::storage;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Hit { page: String },
    Pages,
}

#[derive(Serialize)]
struct Count {
    page: String,
    visits: i64,
}

#[derive(Default)]
struct Store;

#[airssys::component(name = "store", capabilities(storage("app.visits")))]
impl Component for Store {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let visits = storage::open("app.visits")?;
        match req.json()? {
            Op::Hit { page } => {
                if page.is_empty() || page.len() > 200 {
                    return Err(Error::invalid_input("a page is 1 to 200 bytes"));
                }
                let count = visits.increment(&page, 1)?;
                Payload::json(&Count {
                    page,
                    visits: count,
                })
            }
            Op::Pages => {
                let mut pages = BTreeMap::new();
                for key in visits.keys("") {
                    let key = key?;
                    let count = visits.get_json::<i64>(&key)?.unwrap_or(0);
                    pages.insert(String::from_utf8_lossy(&key).into_owned(), count);
                }
                Payload::json(&pages)
            }
        }
    }
}
