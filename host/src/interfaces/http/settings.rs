//! What the operator sets for the outbound HTTP client every component of a host shares.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Settings of `airssys:core/http` for a whole host ([`HostBuilder::http`](crate::HostBuilder::http),
/// `[host.http]` in `airssys.toml`). `HttpSettings::default()` trusts the system's root
/// certificates, refuses `https` to `http` redirects and resolves names with the system's
/// DNS configuration (`/etc/resolv.conf` and `/etc/hosts`).
///
/// ```
/// use airssys_host::{Host, HttpSettings};
/// let host = Host::builder()
///     .http(HttpSettings::new().nameserver("127.0.0.53:53".parse()?))
///     .build()?;
/// // A root file is read when the host is built; one without a certificate is refused.
/// # let dir = tempfile::tempdir()?;
/// let ca = dir.path().join("ca.pem");
/// std::fs::write(&ca, "not a certificate")?;
/// let Err(err) = Host::builder().http(HttpSettings::new().extra_root(&ca)).build() else {
///     unreachable!()
/// };
/// assert!(err.to_string().contains("holds no PEM certificate"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpSettings {
    pub(crate) extra_roots: Vec<PathBuf>,
    pub(crate) allow_downgrade: bool,
    pub(crate) nameservers: Vec<SocketAddr>,
    pub(crate) loopback_only: bool,
}

impl HttpSettings {
    /// The defaults: system roots only, no downgrade, the system's DNS configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificate authorities in the PEM file at `path` (one or more
    /// `CERTIFICATE` blocks), beside the system's roots: for a private CA. The file is read
    /// when the host is built; a file that cannot be read or holds no certificate is an
    /// [`Error::Config`](crate::Error::Config).
    pub fn extra_root(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_roots.push(path.into());
        self
    }

    /// Follows redirects from `https` to plain `http`. Off by default: such a redirect fails
    /// with `denied`, because it would send the rest of the exchange in clear text.
    pub fn allow_downgrade(mut self, allow: bool) -> Self {
        self.allow_downgrade = allow;
        self
    }

    /// Resolves names with the DNS server at `addr` instead of the system's configuration
    /// (give it more than once for several servers). The system's hosts file still answers
    /// first, and `localhost` is always loopback.
    pub fn nameserver(mut self, addr: SocketAddr) -> Self {
        self.nameservers.push(addr);
        self
    }

    /// Keeps every connection of every component on this machine, whatever its grants:
    /// `airssys::http` and WASI sockets reach loopback addresses only, and names are looked up
    /// only at loopback [`nameserver`](Self::nameserver)s (without one, only `localhost`
    /// resolves). A refusal is `denied`, audited like any other. For tests
    /// ([`testing::TestHost`](crate::testing::TestHost) sets it); a non-loopback nameserver
    /// fails [`build`](crate::HostBuilder::build) with [`Error::Config`](crate::Error::Config).
    pub fn loopback_only(mut self, only: bool) -> Self {
        self.loopback_only = only;
        self
    }
}
