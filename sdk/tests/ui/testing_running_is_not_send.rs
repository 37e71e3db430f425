// A running component's state lives in its thread: its handle cannot move to another one.
use airssys::prelude::*;
use airssys::testing::TestHost;

#[derive(Default)]
struct Counter;

#[airssys::component(name = "counter", version = "0.1.0")]
impl Component for Counter {}

fn main() {
    let running = TestHost::new().start::<Counter>().unwrap();
    std::thread::spawn(move || drop(running));
}
