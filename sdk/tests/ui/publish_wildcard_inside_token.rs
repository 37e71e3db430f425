// Wildcards are whole tokens: `orders.eu*` is neither a topic nor a pattern.
use airssys::prelude::*;

#[derive(Default)]
struct Pricing;

#[airssys::component(
    name = "pricing",
    version = "0.1.0",
    capabilities(publish("orders.eu*"))
)]
impl Component for Pricing {}

fn main() {}
