// A network pattern needs a port.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(net("api.example.com"))
)]
impl Component for Greeter {}

fn main() {}
