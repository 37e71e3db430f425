// Topic patterns are dot-separated tokens, none of them empty.
use airssys::prelude::*;

#[derive(Default)]
struct Ledger;

#[airssys::component(
    name = "ledger",
    version = "0.1.0",
    capabilities(subscribe("prices..quoted"))
)]
impl Component for Ledger {}

fn main() {}
