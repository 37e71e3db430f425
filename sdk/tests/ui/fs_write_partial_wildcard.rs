// A path wildcard must be a whole segment, not part of one.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(fs_write("/data/*.txt"))
)]
impl Component for Greeter {}

fn main() {}
