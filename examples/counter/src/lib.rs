//! A counter: state kept across calls, configuration read at init, messages and health.
//!
//! Configuration: `start` (initial value, default 0), `step` (default 1), `max` (health turns
//! degraded above it).

use airssys::prelude::*;
use serde::{Deserialize, Serialize};

/// What a request asks for.
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    /// Adds `step` (or `by` when given).
    Increment { by: Option<i64> },
    /// Reads the value.
    Get,
    /// Goes back to the configured start.
    Reset,
}

#[derive(Serialize)]
struct Value {
    value: i64,
    calls: u64,
}

struct Counter {
    start: i64,
    step: i64,
    max: Option<i64>,
    value: i64,
    calls: u64,
}

#[airssys::component(name = "counter", version = "0.1.0")]
impl Component for Counter {
    fn init(config: &Config) -> Result<Self> {
        let start = config.parse("start")?.unwrap_or(0);
        airssys::info!("counter starting at {start}");
        Ok(Self {
            start,
            step: config.parse("step")?.unwrap_or(1),
            max: config.parse("max")?,
            value: start,
            calls: 0,
        })
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        self.calls += 1;
        match req.json::<Op>()? {
            Op::Increment { by } => self.add(by.unwrap_or(self.step))?,
            Op::Get => {}
            Op::Reset => self.value = self.start,
        }
        Payload::json(&Value {
            value: self.value,
            calls: self.calls,
        })
    }

    /// A message is a fire-and-forget increment by `step`.
    fn on_message(&mut self, _message: Message) -> Result<()> {
        self.add(self.step)
    }

    fn health(&self) -> Health {
        match self.max {
            Some(max) if self.value > max => {
                Health::Degraded(format!("value {} is above {max}", self.value))
            }
            _ => Health::Healthy,
        }
    }

    fn shutdown(&mut self) {
        airssys::info!("counter stopping at {}", self.value);
    }
}

impl Counter {
    fn add(&mut self, by: i64) -> Result<()> {
        self.value = self.value.checked_add(by).ok_or_else(|| {
            Error::invalid_input(format!("adding {by} to {} overflows", self.value))
        })?;
        Ok(())
    }
}
