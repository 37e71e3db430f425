// `capabilities` takes a parenthesised list.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "0.1.0", capabilities = "net")]
impl Component for Greeter {}

fn main() {}
