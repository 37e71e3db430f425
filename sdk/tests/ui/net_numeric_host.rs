// An address is written in its one canonical spelling, not as a number in another notation.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(net("0x7f000001:8080"))
)]
impl Component for Greeter {}

fn main() {}
