//! The routing point: which instance a delivery to an address goes to.

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
    /// Where the next delivery goes, as (version, instance) indexes, given how many instances
    /// each version has; `None` when there is none.
    pub(crate) fn pick(
        self,
        mut instances_per_version: impl Iterator<Item = usize>,
    ) -> Option<(usize, usize)> {
        match self {
            Self::Single => instances_per_version
                .next()
                .filter(|&n| n > 0)
                .map(|_| (0, 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_routes_to_the_first_instance_of_the_first_version() {
        assert_eq!(Route::Single.pick([1].into_iter()), Some((0, 0)));
        assert_eq!(Route::Single.pick([3, 2].into_iter()), Some((0, 0)));
        assert_eq!(Route::Single.pick([0].into_iter()), None);
        assert_eq!(Route::Single.pick(std::iter::empty()), None);
    }
}
