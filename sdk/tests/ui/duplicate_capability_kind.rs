// A capability kind may be given only once; its patterns go in one list.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "greeter",
    version = "0.1.0",
    capabilities(net("api.example.com:443"), net("db.example.com:5432"))
)]
impl Component for Greeter {}

fn main() {}
