//! {{name}}: a component that tallies the words it is asked about.
//!
//! Send it `{"word": "apple"}` and it answers how often it has seen that word and how many
//! distinct words it knows. The tally lives in the component's state, which the host keeps
//! between calls for as long as the instance runs.

use std::collections::HashMap;

use airssys::prelude::*;

/// The request body.
#[derive(serde::Deserialize)]
struct Count {
    word: String,
}

/// The reply body.
#[derive(serde::Serialize)]
struct Tally {
    word: String,
    count: u64,
    distinct: usize,
}

/// The state: one per instance, built with `Default` because `init` is left out.
#[derive(Default)]
struct Tallies {
    counts: HashMap<String, u64>,
}

#[airssys::component(name = "{{name}}", version = "0.1.0")]
impl Component for Tallies {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let Count { word } = req.json()?;
        if word.trim().is_empty() {
            return Err(Error::invalid_input("`word` must not be empty"));
        }
        let count = self.counts.entry(word.clone()).or_default();
        *count += 1;
        let count = *count;
        airssys::info!("{word} seen {count} time(s)");
        Payload::json(&Tally {
            word,
            count,
            distinct: self.counts.len(),
        })
    }
}
