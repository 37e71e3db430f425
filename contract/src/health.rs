//! A component's report of its own health.

/// A component's own view of its health, as its `health` handler reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Working normally.
    #[default]
    Healthy,
    /// Working, with a problem worth reporting.
    Degraded(String),
    /// Not able to do its work.
    Unhealthy(String),
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Healthy => f.write_str("healthy"),
            Self::Degraded(why) => write!(f, "degraded: {why}"),
            Self::Unhealthy(why) => write!(f, "unhealthy: {why}"),
        }
    }
}
