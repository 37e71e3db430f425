// No arguments: name and version come from the package, `init` from `Default`.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component]
impl Component for Greeter {}

fn main() {}
