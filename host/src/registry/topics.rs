//! The in-process subscription table: who receives a publish on a topic.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use airssys_contract::CapabilityKind;

use crate::broker::{Sink, SubscriptionId};

/// Subscriptions by subject pattern. A publish scans them all (`O(subscriptions × tokens)`);
/// what matches is cloned out under a read lock, so delivering never holds it.
#[derive(Default)]
pub(crate) struct Topics {
    next: AtomicU64,
    /// Turns between the members of a group that several sinks share.
    turn: AtomicUsize,
    subscriptions: RwLock<Vec<Subscription>>,
}

struct Subscription {
    id: SubscriptionId,
    pattern: String,
    group: Option<Arc<str>>,
    sink: Sink,
}

impl Topics {
    pub(crate) fn insert(&self, pattern: &str, group: Option<&str>, sink: Sink) -> SubscriptionId {
        let id = SubscriptionId(self.next.fetch_add(1, Ordering::Relaxed));
        self.write().push(Subscription {
            id,
            pattern: pattern.to_owned(),
            group: group.map(Arc::from),
            sink,
        });
        id
    }

    pub(crate) fn remove(&self, id: SubscriptionId) {
        self.write().retain(|s| s.id != id);
    }

    /// The sinks a publish on `topic` goes to: every matching subscription without a group,
    /// and one per group among the matching ones that share it (in turn, when they differ).
    pub(crate) fn matching(&self, topic: &str) -> Vec<Sink> {
        let subscriptions = self.subscriptions.read().unwrap_or_else(|p| p.into_inner());
        let matched = subscriptions
            .iter()
            .filter(|s| CapabilityKind::Subscribe.matches(&s.pattern, topic));
        let mut sinks = Vec::new();
        let mut groups: Vec<(&str, Vec<&Sink>)> = Vec::new();
        for subscription in matched {
            match subscription.group.as_deref() {
                None => sinks.push(subscription.sink.clone()),
                Some(group) => match groups.iter_mut().find(|(g, _)| *g == group) {
                    Some((_, members)) => members.push(&subscription.sink),
                    None => groups.push((group, vec![&subscription.sink])),
                },
            }
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        sinks.extend(
            groups
                .into_iter()
                .map(|(_, members)| members[turn % members.len()].clone()),
        );
        sinks
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Subscription>> {
        // The table stays consistent even if a holder panicked, so poisoning is ignored.
        self.subscriptions
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }
}
