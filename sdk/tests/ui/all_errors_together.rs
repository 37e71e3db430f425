// Several mistakes in one attribute and its item are all reported in one compile.
use airssys::prelude::*;

#[derive(Default)]
struct Greeter;

#[airssys::component(
    name = "Bad_Name",
    version = "one",
    colour = "red",
    capabilities(fs_read("data"), net("api.example.com"), files("/x"), storage())
)]
impl Greeter {
    fn on_request(&mut self, _request: Request) -> Result<Payload> {
        Ok(Payload::text("hi"))
    }
}

fn main() {}
