//! What a component is started with.

use crate::{Capabilities, Limits, Supervision};

/// Options for starting a component: its address, what its `init` receives, its limits,
/// supervision and grants. Unset limits and supervision come from the
/// [`HostBuilder`](crate::HostBuilder).
///
/// Each setting has one name: the public field reads it, the method of the same name sets it.
///
/// ```
/// use airssys_host::LoadOptions;
/// let options = LoadOptions::new()
///     .address("greeter-eu")
///     .config("greeting", "Hi")
///     .config("start", "10");
/// assert_eq!(options.address.as_deref(), Some("greeter-eu"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The address to run at; `None` means the manifest's name.
    pub address: Option<String>,
    /// Configuration entries, in order; the component reads them in `init`.
    pub config: Vec<(String, String)>,
    /// Limits instead of the host's, if set.
    pub limits: Option<Limits>,
    /// Supervision instead of the host's, if set.
    pub supervision: Option<Supervision>,
    /// What the operator grants.
    pub grants: Capabilities,
    /// How many instances serve the address; more than one makes a pool, served in turn.
    pub instances: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            address: None,
            config: Vec::new(),
            limits: None,
            supervision: None,
            grants: Capabilities::default(),
            instances: 1,
        }
    }
}

impl LoadOptions {
    /// No address (the manifest's name is used), configuration or grants.
    pub fn new() -> Self {
        Self::default()
    }

    /// The operator's name for this component: the address it is registered, looked up
    /// ([`Host::component`](crate::Host::component)) and stopped at, and that errors, events
    /// and audit lines carry beside its own `name@version`. Kebab-case, like component
    /// names; by default the manifest's name. Two components cannot run at one address.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
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

    /// Resource limits for this component, instead of the host's defaults.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// What happens when this component traps, instead of the host's default.
    pub fn supervision(mut self, supervision: Supervision) -> Self {
        self.supervision = Some(supervision);
        self
    }

    /// How many instances serve the address (1 by default). A pool's instances each have
    /// their own state and take deliveries round-robin; a trap restarts only the instance
    /// that trapped. A rolling deploy replaces them a few at a time.
    ///
    /// ```
    /// let options = airssys_host::LoadOptions::new().instances(4);
    /// assert_eq!(options.instances, 4);
    /// ```
    pub fn instances(mut self, instances: usize) -> Self {
        self.instances = instances;
        self
    }

    /// What the operator grants this component. It can use a resource only when it declared
    /// it and a grant allows it; see [`Mode`](crate::Mode).
    ///
    /// ```
    /// use airssys_host::{Capabilities, CapabilityKind, LoadOptions};
    /// let mut grants = Capabilities::default();
    /// grants.add(CapabilityKind::FsRead, "/srv/notes/**")?;
    /// let options = LoadOptions::new().grants(grants);
    /// assert_eq!(options.grants.get(CapabilityKind::FsRead), ["/srv/notes/**"]);
    /// # Ok::<(), airssys_host::PatternError>(())
    /// ```
    pub fn grants(mut self, grants: Capabilities) -> Self {
        self.grants = grants;
        self
    }
}
