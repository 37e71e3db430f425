// The attribute goes on an impl of `Component`, not of another trait.
use airssys::prelude::*;

struct Greeter {
    last: Option<Payload>,
}

#[airssys::component(name = "greeter", version = "0.1.0")]
impl Clone for Greeter {
    fn clone(&self) -> Self {
        Greeter {
            last: self.last.clone(),
        }
    }
}

fn main() {}
