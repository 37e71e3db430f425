//! The routing point: which instance a delivery to an address goes to.

use super::entry::{Slot, Version};

/// How deliveries to an address are spread over its instances. Every address runs one
/// version with one instance today, so there is one way. Pools (round-robin over a version's
/// instances) and blue-green or canary splits (between two versions) are further variants,
/// chosen per entry; [`pick`](Self::pick) is the only code they change, and handles never
/// notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Route {
    /// Everything goes to the first instance of the first version.
    #[default]
    Single,
}

impl Route {
    /// The instance the next delivery goes to.
    pub(crate) fn pick(self, versions: &[Version]) -> Option<&Slot> {
        match self {
            Self::Single => versions.first()?.instances.first(),
        }
    }
}
