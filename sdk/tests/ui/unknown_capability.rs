// An unknown capability kind is refused and the valid kinds are listed.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "0.1.0", capabilities(files("/x")))]
impl Component for Greeter {}

fn main() {}
