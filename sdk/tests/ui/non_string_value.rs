// `name` and `version` take string literals.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = 5, version = "0.1.0")]
impl Component for Greeter {}

fn main() {}
