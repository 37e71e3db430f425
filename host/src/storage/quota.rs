//! The quota of each namespace of a [`Storage`](super::Storage). What a [`Quota`] admits is
//! the contract's rule, shared with the SDK's test host.

use std::collections::HashMap;

use airssys_contract::storage::Quota;

/// The quota of each namespace: one default, and overrides by exact name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Quotas {
    pub(crate) default: Quota,
    pub(crate) namespaces: HashMap<String, Quota>,
}

impl Quotas {
    pub(crate) fn get(&self, namespace: &str) -> Quota {
        self.namespaces
            .get(namespace)
            .copied()
            .unwrap_or(self.default)
    }
}
