//! The components a host runs, by address, and the in-process broker that reaches them. An
//! address holds an [`Entry`]: its versions, their instances, and the [`Route`] that picks
//! where each delivery goes. The registry also holds the subscription table publishes go
//! through (`topics.rs`); `broker.rs` is its [`Broker`](crate::broker::Broker) implementation.
//!
//! The registry owns running components: an entry stays while the host or any handle holds
//! it. An entry whose component stopped for good stays listed (as stopped or failed) until a
//! new start takes its address, or [`Host::remove`](crate::Host::remove) forgets it. Nothing
//! an instance holds points back here (instances reach the broker through a weak
//! reference), so a dropped host is never kept alive by what it ran.

mod broker;
mod entry;
mod gauges;
mod release;
mod route;
mod topics;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use entry::ComponentInfo;
pub(crate) use entry::{Entry, Group, Order, Routing, Slot};
pub(crate) use gauges::Gauges;
pub(crate) use release::{Kit, Release, ReleaseParts};
pub use release::{VersionInfo, VersionState};
pub(crate) use route::{Route, WHOLE};
use topics::Topics;

use crate::{Error, Result};

/// Address -> entry, and the subscriptions of every component and host subscriber.
#[derive(Default)]
pub(crate) struct Registry {
    entries: RwLock<BTreeMap<String, Arc<Entry>>>,
    topics: Topics,
}

impl Registry {
    /// Registers `entry` at its address; refuses an address whose component has not stopped.
    pub(crate) fn insert(&self, entry: Arc<Entry>) -> Result<()> {
        let address = entry.address().to_owned();
        let mut entries = self.write();
        if let Some(taken) = entries.get(&address) {
            let state = taken.state();
            if !state.is_final() {
                return Err(Error::AddressTaken {
                    address,
                    component: taken.identity().to_string(),
                    state,
                });
            }
        }
        entries.insert(address, entry);
        Ok(())
    }

    pub(crate) fn get(&self, address: &str) -> Option<Arc<Entry>> {
        self.read().get(address).cloned()
    }

    /// Every entry, in address order.
    pub(crate) fn list(&self) -> Vec<Arc<Entry>> {
        self.read().values().cloned().collect()
    }

    /// Forgets `address` if it is still `entry` (a newer start may have taken it).
    pub(crate) fn remove(&self, address: &str, entry: &Arc<Entry>) {
        let mut entries = self.write();
        if entries.get(address).is_some_and(|e| Arc::ptr_eq(e, entry)) {
            entries.remove(address);
        }
    }

    // The map stays consistent even if a holder panicked, so poisoning is ignored.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Arc<Entry>>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}
