//! Checkout: asks `pricing` what an order costs, and answers with the total.
//!
//! A request and its reply are typed on both sides: `msg::request_json` sends a `Quote` as
//! JSON and decodes the reply into a `Price`; any failure (pricing refused the item, is not
//! running, took too long) becomes this handler's own error through `?`.

use airssys::msg;
use airssys::prelude::*;
use serde::{Deserialize, Serialize};

/// What `pricing` is asked, and what checkout is asked in turn.
#[derive(Serialize, Deserialize)]
struct Quote {
    item: String,
    qty: u32,
}

/// What `pricing` answers.
#[derive(Deserialize)]
struct Price {
    cents: u64,
}

#[derive(Serialize)]
struct Order {
    item: String,
    qty: u32,
    total_cents: u64,
}

#[derive(Default)]
struct Checkout;

#[airssys::component(name = "checkout", capabilities(message("pricing")))]
impl Component for Checkout {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let quote: Quote = req.json()?;
        let price: Price = msg::request_json("pricing", &quote)?;
        Payload::json(&Order {
            item: quote.item,
            qty: quote.qty,
            total_cents: price.cents,
        })
    }
}
