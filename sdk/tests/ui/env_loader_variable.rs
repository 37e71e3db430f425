// A variable that makes the dynamic loader run code can never be declared.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(process("git log **"), env("LANG", "LD_PRELOAD"))
)]
impl Component for Greeter {}

fn main() {}
