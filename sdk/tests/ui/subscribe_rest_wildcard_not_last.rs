// The `>` wildcard of a topic pattern must be the last token.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(subscribe("orders.>.created"))
)]
impl Component for Greeter {}

fn main() {}
