// `name` may be given only once.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", name = "welcomer", version = "0.1.0")]
impl Component for Greeter {}

fn main() {}
