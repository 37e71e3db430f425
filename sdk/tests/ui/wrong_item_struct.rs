// The attribute goes on an `impl Component for ...` block, not on a struct.
use airssys::prelude::*;

#[derive(Default)]
#[airssys::component(name = "greeter", version = "0.1.0")]
struct Greeter {
    last: Option<Payload>,
}

fn main() {}
