// The name must be a valid component name (lowercase, digits and dashes).
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "Bad_Name", version = "0.1.0")]
impl Component for Greeter {}

fn main() {}
