// Every capability kind, explicit name and version, a written `init` and every handler.
use airssys::prelude::*;

struct Greeter {
    count: u64,
}

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(
        fs_read("/data/**"),
        fs_write("/out/*"),
        net("api.example.com:443", "*.cdn.example.com:*", "[::1]:8080"),
        storage("app.cache"),
        message("billing", "*"),
        publish("events.>"),
        subscribe("orders.*"),
        process("git status *"),
        env("LANG", "TZ"),
    )
)]
impl Component for Greeter {
    fn init(_config: &Config) -> Result<Self> {
        Ok(Greeter { count: 0 })
    }

    fn on_message(&mut self, _message: Message) -> Result<()> {
        self.count += 1;
        Ok(())
    }

    fn on_request(&mut self, _request: Request) -> Result<Payload> {
        self.count += 1;
        Ok(Payload::text("hi"))
    }

    fn health(&self) -> Health {
        Health::Healthy
    }

    fn shutdown(&mut self) {}
}

fn main() {}
