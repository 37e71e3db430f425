// The attribute goes on an `impl Component for ...` block, not on a function.
use airssys::prelude::*;

#[airssys::component(name = "greeter", version = "0.1.0")]
fn greet(_request: Request) -> Result<Payload> {
    Ok(Payload::text("hi"))
}

fn main() {}
