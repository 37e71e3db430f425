// File-system patterns must be absolute paths.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(name = "greeter", version = "0.1.0", capabilities(fs_read("data")))]
impl Component for Greeter {}

fn main() {}
