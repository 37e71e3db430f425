// The version must be a semantic version.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "one")]
impl Component for Greeter {}

fn main() {}
