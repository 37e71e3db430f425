// Leaving out `init` needs `Default`; the error points at the type.
use airssys::prelude::*;

struct Greeter {
    count: u64,
}

#[airssys::component(name = "greeter", version = "0.1.0")]
impl Component for Greeter {
    fn on_request(&mut self, _request: Request) -> Result<Payload> {
        self.count += 1;
        Ok(Payload::text("hi"))
    }
}

fn main() {}
