//! Per-instance options given when a component is started.

use crate::{Capabilities, Limits, Supervision};

/// Options for one instance: what its `init` receives, its limits and its supervision.
/// Unset limits and supervision come from the [`HostBuilder`](crate::HostBuilder).
///
/// ```
/// use airssys_host::LoadOptions;
/// let options = LoadOptions::new().config("greeting", "Hi").config("start", "10");
/// ```
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub(crate) config: Vec<(String, String)>,
    pub(crate) limits: Option<Limits>,
    pub(crate) supervision: Option<Supervision>,
    pub(crate) grants: Capabilities,
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

    /// Resource limits for this instance, instead of the host's defaults.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// What happens when this instance traps, instead of the host's default.
    pub fn supervision(mut self, supervision: Supervision) -> Self {
        self.supervision = Some(supervision);
        self
    }

    /// What the operator grants this instance. It can use a resource only when the
    /// component declared it and a grant allows it; see [`Mode`](crate::Mode).
    ///
    /// ```
    /// use airssys_host::{Capabilities, CapabilityKind, LoadOptions};
    /// let mut grants = Capabilities::default();
    /// grants.add(CapabilityKind::FsRead, "/srv/notes/**")?;
    /// let options = LoadOptions::new().grants(grants);
    /// # Ok::<(), airssys_host::PatternError>(())
    /// ```
    pub fn grants(mut self, grants: Capabilities) -> Self {
        self.grants = grants;
        self
    }

    /// The grants set so far (e.g. read from an `airssys.toml`).
    pub fn granted(&self) -> &Capabilities {
        &self.grants
    }
}
