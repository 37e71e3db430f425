//! The routing point: which instance a delivery to an address goes to.

/// Basis points in a whole: a canary's share is counted in ten-thousandths.
pub(crate) const WHOLE: u32 = 10_000;

/// How deliveries to an address are spread over the instances of the versions that serve it.
/// [`pick`](Self::pick) is the only code a way of routing changes; handles never notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Route {
    /// Round-robin over every instance of every serving version: a pool, and during a rolling
    /// deploy the pool's old and new instances together. One instance gets everything.
    #[default]
    RoundRobin,
    /// A canary: `canary` ten-thousandths of deliveries go to the second version, the rest
    /// to the first; round-robin within each.
    Split {
        /// The second version's share, in ten-thousandths (0..=10 000).
        canary: u32,
    },
}

impl Route {
    /// Where delivery number `ticket` goes, as (version, instance) indexes, given how many
    /// instances each serving version has; `None` when there is none.
    ///
    /// The split is exact, not random: of any run of deliveries, the canary's count is its
    /// share rounded down or up, so a test can check it without a statistical tolerance.
    pub(crate) fn pick(self, ticket: u64, counts: &[usize]) -> Option<(usize, usize)> {
        match self {
            Self::RoundRobin => {
                let total: usize = counts.iter().sum();
                if total == 0 {
                    return None;
                }
                let mut at = (ticket % total as u64) as usize;
                for (version, &n) in counts.iter().enumerate() {
                    if at < n {
                        return Some((version, at));
                    }
                    at -= n;
                }
                None
            }
            Self::Split { canary } => {
                let (&stable, &trial) = (counts.first()?, counts.get(1)?);
                // How many of deliveries 0..n went to the canary: floor(n * share).
                let share = |n: u64| u128::from(n) * u128::from(canary) / u128::from(WHOLE);
                let (before, through) = (share(ticket), share(ticket + 1));
                if through > before && trial > 0 {
                    Some((1, (before % trial as u128) as usize))
                } else if stable > 0 {
                    let kth = u128::from(ticket) - before;
                    Some((0, (kth % stable as u128) as usize))
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_walks_every_instance_of_every_version() {
        let picks: Vec<_> = (0..5)
            .map(|t| Route::RoundRobin.pick(t, &[2, 1]).unwrap())
            .collect();
        assert_eq!(picks, [(0, 0), (0, 1), (1, 0), (0, 0), (0, 1)]);
        assert_eq!(Route::RoundRobin.pick(7, &[1]), Some((0, 0)));
        assert_eq!(Route::RoundRobin.pick(0, &[0]), None);
        assert_eq!(Route::RoundRobin.pick(0, &[]), None);
    }

    #[test]
    fn a_split_sends_exactly_its_share_and_spreads_within_each_side() {
        let route = Route::Split { canary: 2_500 };
        let picks: Vec<_> = (0..1000).map(|t| route.pick(t, &[2, 2]).unwrap()).collect();
        let to = |v: usize, i: usize| picks.iter().filter(|&&p| p == (v, i)).count();
        assert_eq!(to(1, 0) + to(1, 1), 250);
        assert_eq!((to(1, 0), to(1, 1)), (125, 125));
        assert_eq!((to(0, 0), to(0, 1)), (375, 375));
        let none = Route::Split { canary: 0 };
        assert!((0..100).all(|t| none.pick(t, &[1, 1]) == Some((0, 0))));
        let all = Route::Split { canary: WHOLE };
        assert!((0..100).all(|t| all.pick(t, &[1, 1]) == Some((1, 0))));
    }

    #[test]
    fn a_split_without_a_side_sends_to_the_other_or_nowhere() {
        let route = Route::Split { canary: 5_000 };
        assert!((0..10).all(|t| route.pick(t, &[1, 0]) == Some((0, 0))));
        assert_eq!(route.pick(0, &[1]), None);
    }
}
