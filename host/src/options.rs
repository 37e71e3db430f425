//! Per-instance options given when a component is started.

/// Options for one instance: what its `init` receives.
///
/// ```
/// use airssys_host::LoadOptions;
/// let options = LoadOptions::new().config("greeting", "Hi").config("start", "10");
/// ```
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub(crate) config: Vec<(String, String)>,
}

impl LoadOptions {
    /// No configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a configuration entry; the component reads it in `init` (`Config::get`).
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    /// Adds many configuration entries.
    pub fn configs<K: Into<String>, V: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.config
            .extend(entries.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }
}
