//! The NATS subjects of one application: every subject a host uses starts with
//! `airssys.<app>.`, so applications sharing a NATS deployment never see each other.
//!
//! | subject                              | what travels                  | who subscribes             |
//! |--------------------------------------|-------------------------------|----------------------------|
//! | `airssys.<app>.addr.<address>`       | sends and requests            | each host serving the address, in queue group `<address>` |
//! | `airssys.<app>.topic.<topic>`        | publishes                     | every host, `airssys.<app>.topic.>` |
//! | `airssys.<app>.host.<host>.presence` | what a host runs (heartbeats) | every host, `airssys.<app>.host.*.presence` |

/// Builds the subjects of one application.
#[derive(Debug, Clone)]
pub(crate) struct Subjects {
    prefix: String,
}

impl Subjects {
    /// The subjects of application `app` (one subject token, as `ClusterConfig` checked).
    pub(crate) fn new(app: &str) -> Self {
        Self {
            prefix: format!("airssys.{app}"),
        }
    }

    /// Where sends and requests to `address` go (an address is one kebab-case token).
    pub(crate) fn address(&self, address: &str) -> String {
        format!("{}.addr.{address}", self.prefix)
    }

    /// Where a publish on `topic` goes (a topic is dot-separated tokens without wildcards).
    pub(crate) fn topic(&self, topic: &str) -> String {
        format!("{}.topic.{topic}", self.prefix)
    }

    /// Every publish of the application.
    pub(crate) fn topics(&self) -> String {
        format!("{}.topic.>", self.prefix)
    }

    /// The topic a publish subject carries, if it is one of this application's.
    pub(crate) fn topic_of<'s>(&self, subject: &'s str) -> Option<&'s str> {
        subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(".topic.")
    }

    /// Where host `host` announces what it runs.
    pub(crate) fn presence(&self, host: &str) -> String {
        format!("{}.host.{host}.presence", self.prefix)
    }

    /// Every host's announcements.
    pub(crate) fn presences(&self) -> String {
        format!("{}.host.*.presence", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_stay_inside_the_application() {
        let shop = Subjects::new("shop");
        assert_eq!(shop.address("pricing"), "airssys.shop.addr.pricing");
        assert_eq!(
            shop.topic("prices.quoted"),
            "airssys.shop.topic.prices.quoted"
        );
        assert_eq!(
            shop.topic_of("airssys.shop.topic.prices.quoted"),
            Some("prices.quoted")
        );
        assert_eq!(shop.topic_of("airssys.shopping.topic.prices.quoted"), None);
        assert_eq!(shop.presence("host-a"), "airssys.shop.host.host-a.presence");
        assert_eq!(shop.presences(), "airssys.shop.host.*.presence");
    }
}
