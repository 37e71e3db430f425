// The same pattern may not be listed twice for one kind.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(net("api.example.com:443", "api.example.com:443"))
)]
impl Component for Greeter {}

fn main() {}
