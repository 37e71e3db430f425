// A component is a concrete type; a generic impl is refused.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter<T>(Option<T>);

#[airssys::component(name = "greeter", version = "0.1.0")]
impl<T: Default + 'static> Component for Greeter<T> {}

fn main() {}
