// Capability patterns are string literals.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "0.1.0", capabilities(net(443)))]
impl Component for Greeter {}

fn main() {}
