//! The greeter: a stateful component that answers JSON requests.

use airssys::prelude::*;

#[derive(serde::Deserialize)]
struct Greet {
    name: String,
}

#[derive(serde::Serialize)]
struct Greeting {
    text: String,
    count: u64,
}

#[derive(Default)]
struct Greeter {
    count: u64,
}

#[airssys::component(name = "greeter", version = "0.1.0")]
impl Component for Greeter {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let greet: Greet = req.json()?;
        self.count += 1;
        airssys::info!("greeting {} (call {})", greet.name, self.count);
        Payload::json(&Greeting {
            text: format!("Hello, {}!", greet.name),
            count: self.count,
        })
    }
}
