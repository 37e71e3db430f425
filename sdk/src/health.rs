//! A component's report of its own health.

/// A component's own view of its health, returned by [`Component::health`](crate::Component::health).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Health {
    /// Working normally.
    #[default]
    Healthy,
    /// Working, with a problem worth reporting.
    Degraded(String),
    /// Not able to do its work.
    Unhealthy(String),
}
