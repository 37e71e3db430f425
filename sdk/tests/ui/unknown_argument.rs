// An unknown argument is refused and the accepted ones are listed.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "0.1.0", colour = "red")]
impl Component for Greeter {}

fn main() {}
