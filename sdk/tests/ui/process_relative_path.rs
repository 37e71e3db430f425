// A process command is a bare name or an absolute path, not a relative path.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(process("bin/git status"))
)]
impl Component for Greeter {}

fn main() {}
