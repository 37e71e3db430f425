// The attribute goes on an `impl Component for ...` block, not on an inherent impl.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "0.1.0")]
impl Greeter {
    fn on_request(&mut self, _request: Request) -> Result<Payload> {
        Ok(Payload::text("hi"))
    }
}

fn main() {}
