//! Pricing: answers what an order costs, from unit prices in its configuration
//! (`apple = "40"`: cents), and publishes every quote on `prices.quoted` for whoever listens.

use std::collections::HashMap;

use airssys::msg;
use airssys::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Quote {
    item: String,
    qty: u32,
}

#[derive(Serialize)]
struct Price {
    cents: u64,
}

/// The event subscribers receive.
#[derive(Serialize)]
struct Quoted<'a> {
    item: &'a str,
    qty: u32,
    cents: u64,
    /// Who asked: the requester's address.
    asked_by: Option<&'a str>,
}

struct Pricing {
    unit_cents: HashMap<String, u64>,
}

#[airssys::component(name = "pricing", capabilities(publish("prices.quoted")))]
impl Component for Pricing {
    fn init(config: &Config) -> Result<Self> {
        let unit_cents = config
            .iter()
            .map(|(item, cents)| {
                let cents = cents.parse().map_err(|_| {
                    Error::invalid_input(format!("the price of `{item}` is not a number of cents"))
                })?;
                Ok((item.to_owned(), cents))
            })
            .collect::<Result<_>>()?;
        Ok(Self { unit_cents })
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let quote: Quote = req.json()?;
        let cents = self.unit_cents(&quote.item)? * u64::from(quote.qty);
        msg::publish_json(
            "prices.quoted",
            &Quoted {
                item: &quote.item,
                qty: quote.qty,
                cents,
                asked_by: req.source(),
            },
        )?;
        Payload::json(&Price { cents })
    }
}

impl Pricing {
    fn unit_cents(&self, item: &str) -> Result<u64> {
        self.unit_cents
            .get(item)
            .copied()
            .ok_or_else(|| Error::not_found(format!("no price for `{item}`")))
    }
}
