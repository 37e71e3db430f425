//! What the operator sets for the server (`[ingress]` in `airssys.toml`, or
//! [`ServerSettings`] for an embedder).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use airssys_contract::{Capabilities, CapabilityKind};

use super::Token;
use crate::{Error, Result};

/// Largest request body the ingress reads, unless set: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Largest request head (request line and headers) it reads, unless set: 16 KiB.
pub const DEFAULT_MAX_HEADER: usize = 16 * 1024;
/// Connections served at once, unless set; more wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// How long the ingress waits for a component's reply, unless set.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The smallest head limit hyper can enforce.
const MIN_HEADER: usize = 8 * 1024;

/// Settings of the HTTP server `airssys up` runs (`[ingress]` in `airssys.toml`): where it
/// listens, its limits, what the ingress may reach, and which `wasi:http` components serve
/// which paths. `ServerSettings::default()` listens on `127.0.0.1:8080` and exposes nothing
/// through `/components` or `/topics` until [`grants`](Self::grants) says so.
///
/// ```
/// use airssys_host::{Capabilities, CapabilityKind, ServerSettings};
/// let mut reach = Capabilities::default();
/// reach.add(CapabilityKind::Message, "web")?;
/// reach.add(CapabilityKind::Publish, "app.>")?;
/// let settings = ServerSettings::new()
///     .address("127.0.0.1:0".parse()?)
///     .max_body(64 * 1024)
///     .grants(reach)?
///     .route("/hello", "hello-http");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub(crate) address: SocketAddr,
    pub(crate) max_body: usize,
    pub(crate) max_header: usize,
    pub(crate) max_connections: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) grants: Capabilities,
    /// Path prefix -> address of a `wasi:http` component, longest prefix first.
    pub(crate) routes: Vec<(String, String)>,
    /// The admin API's token; no admin API without one.
    pub(crate) admin: Option<Token>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            max_body: DEFAULT_MAX_BODY,
            max_header: DEFAULT_MAX_HEADER,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            grants: Capabilities::default(),
            routes: Vec::new(),
            admin: None,
        }
    }
}

impl ServerSettings {
    /// The defaults: see the type's docs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens on `address` (port 0: any free port; [`Server::local_addr`](super::Server::local_addr) tells which).
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Refuses request bodies over `bytes` with `413 Payload Too Large`.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Refuses request heads (request line and headers) over `bytes` with `431 Request
    /// Header Fields Too Large`; at least 8 KiB.
    pub fn max_header(mut self, bytes: usize) -> Self {
        self.max_header = bytes;
        self
    }

    /// Serves at most `connections` at once; further clients wait to be accepted.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Waits at most `timeout` for a component's reply, then answers `504 Gateway Timeout`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// What the ingress may reach, in the capability grammar: `message` patterns name the
    /// addresses `POST /components/{address}` may call, `publish` patterns the topics `POST
    /// /topics/{topic}` may publish on. Anything else is refused with `403 Forbidden`. Other
    /// kinds are an [`Error::Config`]: the ingress only requests and publishes.
    pub fn grants(mut self, grants: Capabilities) -> Result<Self> {
        if let Some((kind, pattern)) = grants
            .iter()
            .find(|(kind, _)| !matches!(kind, CapabilityKind::Message | CapabilityKind::Publish))
        {
            return Err(Error::Config(format!(
                "the ingress cannot be granted {kind} `{pattern}`: it only sends requests (`message = [addresses]`) and publishes (`publish = [topics]`)"
            )));
        }
        self.grants = grants;
        Ok(self)
    }

    /// Serves requests whose path is `prefix` or starts with `prefix/` with the `wasi:http`
    /// component at `address` (which sees the whole path).
    pub fn route(mut self, prefix: impl Into<String>, address: impl Into<String>) -> Self {
        let prefix = prefix.into().trim_end_matches('/').to_owned();
        self.routes.push((prefix, address.into()));
        // Longest first, so `/api/v2` wins over `/api`.
        self.routes
            .sort_by_key(|route| std::cmp::Reverse(route.0.len()));
        self
    }

    /// Serves the admin API (`/v1/...`: status, deploy, promote, abort, roll back, retire) to
    /// loopback clients that bear `token`. The dashboard's buttons use it, with the token the
    /// operator types in.
    pub fn admin(mut self, token: Token) -> Self {
        self.admin = Some(token);
        self
    }

    /// Checks what hyper and the accept loop need, naming the setting to fix.
    pub(crate) fn validate(&self) -> Result<()> {
        let refuse = |what: String| Err(Error::Config(what));
        if self.max_header < MIN_HEADER {
            return refuse(format!(
                "`max_header` is {} bytes; the server needs at least {MIN_HEADER}",
                self.max_header
            ));
        }
        if self.max_connections == 0 {
            return refuse("`max_connections` is 0: no client could connect; use 1 or more".into());
        }
        if self.request_timeout.is_zero() {
            return refuse("`request_timeout` is 0: every request would time out".into());
        }
        for (prefix, address) in &self.routes {
            if !prefix.starts_with('/') || prefix.contains(['*', '?', '#']) {
                return refuse(format!(
                    "route `{prefix}` for `{address}` must be a path starting with `/` (a prefix: `/hello` serves `/hello` and `/hello/...`)"
                ));
            }
            if prefix.is_empty() || is_reserved(prefix) {
                return refuse(format!(
                    "route `{prefix}` for `{address}` would hide the server's own routes (`/`, `/components`, `/topics`, `/metrics`, `/health`, `/api`, `/v1`); choose another path"
                ));
            }
        }
        Ok(())
    }

    /// The `wasi:http` component serving `path`, if a route covers it.
    pub(crate) fn route_for(&self, path: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|(prefix, _)| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(_, address)| address.as_str())
    }

    pub(crate) fn exposes(&self, kind: CapabilityKind, resource: &str) -> bool {
        self.grants
            .get(kind)
            .iter()
            .any(|pattern| kind.matches(pattern, resource))
    }
}

/// Whether `prefix` would shadow one of the server's own routes.
fn is_reserved(prefix: &str) -> bool {
    let first = prefix
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    matches!(
        first,
        "" | "components" | "topics" | "metrics" | "health" | "api"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_route_wins_and_covers_only_whole_segments() {
        let settings = ServerSettings::new()
            .route("/shop", "shop")
            .route("/shop/admin/", "admin");
        assert_eq!(settings.route_for("/shop"), Some("shop"));
        assert_eq!(settings.route_for("/shop/cart"), Some("shop"));
        assert_eq!(settings.route_for("/shop/admin/users"), Some("admin"));
        assert_eq!(settings.route_for("/shopping"), None);
        assert_eq!(settings.route_for("/"), None);
    }

    #[test]
    fn settings_hyper_cannot_serve_are_refused_with_the_fix() {
        let err = ServerSettings::new()
            .max_header(100)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("at least 8192"), "{err}");
        let err = ServerSettings::new()
            .route("/metrics", "x")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("server's own routes"), "{err}");
        let err = ServerSettings::new()
            .route("hello", "x")
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("starting with `/`"), "{err}");
        let mut fs = Capabilities::default();
        fs.add(CapabilityKind::FsRead, "/tmp/**").unwrap();
        let err = ServerSettings::new().grants(fs).unwrap_err();
        assert!(err.to_string().contains("only sends requests"), "{err}");
    }
}
