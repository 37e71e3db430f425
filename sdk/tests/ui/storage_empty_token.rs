// Storage and topic patterns may not have an empty token.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(storage("app..cache"))
)]
impl Component for Greeter {}

fn main() {}
