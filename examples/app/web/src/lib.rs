// `web`: the app's front door, called through the ingress (`POST /components/web`). A visit
// asks `store` to count it (durably), tells `feed` about it on topic `app.visit`, and answers
// with the count and the version that served it, so a deploy shows in the replies.
//
// Requests: `{"page": "/home", "user": "ada"}` -> `{"page": "/home", "visits": 3, "served_by":
// "web@1.0.0", "greeting": ".."}`; `{"op": "pages"}` -> every page's count, from `store`.
//
// `web-next` builds this same file as the next release (its crate version).

use airssys::msg;
use airssys::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(untagged)]
enum Ask {
    Pages { op: PagesOp },
    Visit(Visit),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum PagesOp {
    Pages,
}

#[derive(Deserialize)]
struct Visit {
    #[serde(default = "home")]
    page: String,
    #[serde(default)]
    user: Option<String>,
}

fn home() -> String {
    "/".to_owned()
}

#[derive(Deserialize)]
struct Count {
    visits: i64,
}

#[derive(Serialize)]
struct Reply {
    page: String,
    visits: i64,
    served_by: String,
    greeting: String,
}

#[derive(Default)]
struct Web;

#[airssys::component(name = "web", capabilities(message("store"), publish("app.visit")))]
impl Component for Web {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let visit = match req.json::<Ask>()? {
            Ask::Pages { op: PagesOp::Pages } => {
                let pages: Value = msg::request_json("store", &json!({"op": "pages"}))?;
                return Payload::json(&pages);
            }
            Ask::Visit(visit) => visit,
        };
        let Count { visits } =
            msg::request_json("store", &json!({"op": "hit", "page": visit.page}))?;
        let who = visit.user.as_deref().unwrap_or("someone");
        // The feed is a bystander: a visit is served even if nobody hears of it.
        let _ = msg::publish_json(
            "app.visit",
            &json!({"page": visit.page, "user": who, "visits": visits}),
        );
        let version = env!("CARGO_PKG_VERSION");
        Payload::json(&Reply {
            greeting: greeting(version, who),
            page: visit.page,
            visits,
            served_by: format!("web@{version}"),
        })
    }
}

/// What each release says: 1.1 learned names.
fn greeting(version: &str, who: &str) -> String {
    if version.starts_with("1.0.") {
        "Welcome!".to_owned()
    } else {
        format!("Welcome back, {who}!")
    }
}
