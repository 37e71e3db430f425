//! Where a request goes: a URL read once into scheme, host, port and path, with the forms
//! the gate, the connection, TLS and the `Host` header each need.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use airssys_contract::parse_address;
use hyper::Uri;

use super::invalid;
use crate::bindings::wit;

/// An absolute `http://` or `https://` URL without credentials in it.
#[derive(Debug, Clone)]
pub(super) struct Target {
    uri: Uri,
    tls: bool,
    /// The host as written, lowercased (an IPv6 literal keeps its brackets).
    host: String,
    /// The address the host denotes when it is numeric, in any notation.
    ip: Option<IpAddr>,
    port: u16,
}

impl Target {
    /// Reads `url`. A URL with user information (`http://user:pass@host/`) is refused rather
    /// than stripped: credentials belong in an `Authorization` header, which the host can
    /// keep from other origins, and a silently dropped password would fail obscurely.
    pub(super) fn parse(url: &str) -> Result<Self, wit::Error> {
        let uri: Uri = url
            .parse()
            .map_err(|err| invalid(format!("`{url}` is not a URL: {err}")))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(invalid(format!(
                    "`{url}` is not an absolute http:// or https:// URL"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid(format!("`{url}` has no host")))?;
        if authority.as_str().contains('@') {
            return Err(invalid(format!(
                "`{url}` has credentials in it, which are never sent; put them in an Authorization header"
            )));
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return Err(invalid(format!("`{url}` has no host")));
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Self {
            ip: parse_address(&host),
            tls,
            host,
            port,
            uri,
        })
    }

    /// The target of a redirect from here: an absolute URL, or an absolute path on this
    /// origin.
    pub(super) fn redirect(&self, location: &str) -> Result<Self, wit::Error> {
        if location.starts_with('/') && !location.starts_with("//") {
            let authority = self.uri.authority().map_or("", |a| a.as_str());
            let scheme = if self.tls { "https" } else { "http" };
            Self::parse(&format!("{scheme}://{authority}{location}"))
        } else {
            Self::parse(location)
        }
        .map_err(|err| invalid(format!("redirect to `{location}`: {}", err.message)))
    }

    /// `host:port` as the gate decides it: a numeric host as the address it is (`127.0.0.1`,
    /// `[::1]`), a name lowercased.
    pub(super) fn resource(&self) -> String {
        match self.ip {
            Some(ip) => SocketAddr::new(ip, self.port).to_string(),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// `host:port` as the URL spelled it, when that differs from [`resource`](Self::resource)
    /// (`0x7f000001:80`).
    pub(super) fn asked(&self) -> Option<String> {
        let asked = format!("{}:{}", self.host, self.port);
        (asked != self.resource()).then_some(asked)
    }

    /// The value of the `Host` header: the URL's host, and its port when it has one.
    pub(super) fn host_header(&self) -> String {
        match self.uri.port_u16() {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The request target of the request line (`/path?query`).
    pub(super) fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// Scheme, host and port are all the same (RFC 6454), so credentials may follow.
    pub(super) fn same_origin(&self, other: &Self) -> bool {
        self.tls == other.tls && self.resource() == other.resource()
    }

    pub(super) fn tls(&self) -> bool {
        self.tls
    }

    /// The host as the URL wrote it, lowercased; the name TLS verifies for a name.
    pub(super) fn host(&self) -> &str {
        &self.host
    }

    /// The address a numeric host denotes.
    pub(super) fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uri.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_hosts_are_decided_as_addresses() {
        let target = Target::parse("http://0x7f000001:8080/a?b").unwrap();
        assert_eq!(target.resource(), "127.0.0.1:8080");
        assert_eq!(target.asked().as_deref(), Some("0x7f000001:8080"));
        assert_eq!(target.host_header(), "0x7f000001:8080");
        assert_eq!(target.path(), "/a?b");
        let target = Target::parse("https://[0:0::1]/").unwrap();
        assert_eq!(target.resource(), "[::1]:443");
        assert_eq!(target.host_header(), "[0:0::1]");
        let target = Target::parse("http://API.Example.com").unwrap();
        assert_eq!(target.resource(), "api.example.com:80");
        assert_eq!(target.asked(), None);
        assert_eq!(target.path(), "/");
    }

    #[test]
    fn credentials_and_other_schemes_are_refused() {
        for url in [
            "http://user:pass@example.com/",
            "https://user@example.com/",
            "ftp://example.com/",
            "/relative",
            "http://",
        ] {
            let err = Target::parse(url).unwrap_err();
            assert_eq!(err.kind, wit::ErrorKind::InvalidInput, "{url}");
        }
    }

    #[test]
    fn redirects_resolve_against_the_origin() {
        let base = Target::parse("https://a.example.com:8443/x").unwrap();
        let next = base.redirect("/y?z").unwrap();
        assert_eq!(next.to_string(), "https://a.example.com:8443/y?z");
        assert!(base.same_origin(&next));
        let other = base.redirect("http://a.example.com:8443/y").unwrap();
        assert!(!base.same_origin(&other));
        assert!(base.redirect("http://u:p@b.example.com/").is_err());
    }
}
