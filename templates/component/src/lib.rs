//! {{name}}: a component that tallies the words it is asked about.
//!
//! Send it `{"word": "apple"}` and it answers how often it has seen that word and how many
//! distinct words it knows. The tally lives in the component's state, which the host keeps
//! between calls for as long as the instance runs.

use std::collections::HashMap;

use airssys::prelude::*;

/// The request body.
#[derive(serde::Serialize, serde::Deserialize)]
struct Count {
    word: String,
}

/// The reply body.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Native tests: `cargo test` drives the component through the same glue the host calls, with
/// `airssys::testing::TestHost` standing in for the host. No wasm build is needed.
#[cfg(test)]
mod tests {
    use airssys::testing::TestHost;

    use super::*;

    fn count(word: &str) -> Count {
        Count { word: word.into() }
    }

    #[test]
    fn counts_each_word_and_logs_it() {
        let host = TestHost::new();
        let mut tallies = host.start::<Tallies>().unwrap();
        let _: Tally = tallies.request_json(&count("apple")).unwrap();
        let apple: Tally = tallies.request_json(&count("apple")).unwrap();
        assert_eq!(apple, Tally { word: "apple".into(), count: 2, distinct: 1 });
        let pear: Tally = tallies.request_json(&count("pear")).unwrap();
        assert_eq!(pear, Tally { word: "pear".into(), count: 1, distinct: 2 });
        assert_eq!(host.logs()[1].message, "apple seen 2 time(s)");
    }

    #[test]
    fn an_empty_word_is_invalid_input() {
        let mut tallies = TestHost::new().start::<Tallies>().unwrap();
        let err = tallies.request_json::<_, Tally>(&count(" ")).unwrap_err();
        let error = err.guest_error().expect("a domain error, not a trap");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert_eq!(error.message(), "`word` must not be empty");
    }
}
