// A `message` pattern names a component's address (kebab-case) or is `*`.
use airssys::prelude::*;

#[derive(Default)]
struct Checkout;

#[airssys::component(
    name = "checkout",
    version = "0.1.0",
    capabilities(message("Pricing_Service"))
)]
impl Component for Checkout {}

fn main() {}
