//! What all the instances of one host may not exceed together: how many run, and how much
//! linear memory they hold. Each start is admitted with an [`InstancePermit`], held until the
//! component stops for good (restarts keep it); each store's limiter charges the memory it
//! actually grows to, and gives it back when the store is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::HostLimit;

/// The host's maxima and what is in use against them.
#[derive(Debug)]
pub(crate) struct Totals {
    max_instances: usize,
    max_memory: u64,
    instances: AtomicUsize,
    memory: AtomicU64,
}

impl Totals {
    pub(crate) fn new(max_instances: usize, max_memory: u64) -> Self {
        Self {
            max_instances,
            max_memory,
            instances: AtomicUsize::new(0),
            memory: AtomicU64::new(0),
        }
    }

    /// Counts one more running instance, unless the host already runs its maximum.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<InstancePermit, HostLimit> {
        self.instances
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running < self.max_instances).then_some(running + 1)
            })
            .map(|_| InstancePermit(self.clone()))
            .map_err(|running| HostLimit::Instances {
                running,
                max: self.max_instances,
            })
    }

    /// Charges `bytes` more linear memory, unless that would pass the maximum; then nothing
    /// is charged and the refusal says how much was in use.
    pub(crate) fn charge(&self, bytes: u64) -> Result<(), HostLimit> {
        self.memory
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes)
                    .filter(|&after| after <= self.max_memory)
            })
            .map(drop)
            .map_err(|used| HostLimit::Memory {
                used,
                requested: bytes,
                max: self.max_memory,
            })
    }

    /// Gives back memory a dropped store held.
    pub(crate) fn release(&self, bytes: u64) {
        self.memory.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// What is in use now.
    pub(crate) fn usage(&self) -> HostUsage {
        HostUsage {
            instances: self.instances.load(Ordering::Acquire),
            memory: self.memory.load(Ordering::Acquire),
        }
    }
}

/// What a host's instances use together, against
/// [`HostBuilder::max_instances`](crate::HostBuilder::max_instances) and
/// [`HostBuilder::max_memory`](crate::HostBuilder::max_memory); from
/// [`Host::usage`](crate::Host::usage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostUsage {
    /// Instances running, restarting ones included.
    pub instances: usize,
    /// Bytes of linear memory they hold.
    pub memory: u64,
}

/// One admitted instance; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct InstancePermit(Arc<Totals>);

impl Drop for InstancePermit {
    fn drop(&mut self) {
        self.0.instances.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_admitted_up_to_the_maximum_and_freed_on_drop() {
        let totals = Arc::new(Totals::new(2, 1 << 20));
        let a = totals.admit().unwrap();
        let _b = totals.admit().unwrap();
        assert_eq!(
            totals.admit().unwrap_err(),
            HostLimit::Instances { running: 2, max: 2 }
        );
        drop(a);
        assert_eq!(totals.usage().instances, 1);
        let _c = totals.admit().unwrap();
    }

    #[test]
    fn memory_is_charged_up_to_the_maximum_and_released() {
        let totals = Totals::new(1, 100);
        totals.charge(60).unwrap();
        assert_eq!(
            totals.charge(41).unwrap_err(),
            HostLimit::Memory {
                used: 60,
                requested: 41,
                max: 100
            }
        );
        assert_eq!(totals.usage().memory, 60, "a refusal charges nothing");
        totals.charge(40).unwrap();
        totals.release(100);
        assert_eq!(totals.usage().memory, 0);
        assert!(totals.charge(u64::MAX).is_err(), "no overflow");
    }
}
