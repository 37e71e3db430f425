// `TestHost::start` takes only a type marked with #[airssys::component].
use airssys::prelude::*;
use airssys::testing::TestHost;

#[derive(Default)]
struct Plain;

impl Component for Plain {
    fn init(_config: &Config) -> Result<Self> {
        Ok(Plain)
    }
}

fn main() {
    let _ = TestHost::new().start::<Plain>();
}
