//! `[cluster]`: the NATS servers, credentials and TLS of a host, and the application's name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use airssys_contract::{Capabilities, validate_name};
use async_nats::{ConnectOptions, ServerAddr};

use crate::{Error, Result};

/// How long [`ClusterConfig::connect`] tries the servers by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a host finds NATS, how it proves who it is, and which application it belongs to.
///
/// ```no_run
/// # async fn demo() -> airssys_host::Result<()> {
/// use airssys_host::ClusterConfig;
///
/// let cluster = ClusterConfig::new(["nats://127.0.0.1:4222"], "shop")?.host_name("host-a");
/// let client = cluster.connect().await?;
/// # drop(client); Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// The NATS servers to try, in order (the client learns the rest of a NATS cluster from
    /// the one it reaches).
    pub servers: Vec<ServerAddr>,
    /// The application's name: subjects are `airssys.<app>.…`. A single NATS subject token.
    pub app: String,
    /// This host's name in `airssys status` and in the envelopes it sends (the machine's
    /// hostname by default).
    pub host_name: String,
    /// How the host authenticates to NATS.
    pub auth: ClusterAuth,
    /// TLS towards the servers, when set.
    pub tls: Option<ClusterTls>,
    /// How long connecting may take before the host gives up with an error.
    pub connect_timeout: Duration,
    /// What components on other hosts may reach here, by their address: the receiving
    /// host's own say, whatever the sending host granted them. A sender not listed reaches
    /// nothing on this host. The key [`REMOTE_HOST`] stands for the other hosts themselves
    /// (their embedder and their ingress, which send without a component's address).
    pub remote: BTreeMap<String, Capabilities>,
}

/// The key of [`ClusterConfig::remote`] for what other hosts send themselves (their
/// embedder's and their ingress's requests, sends and publishes).
pub const REMOTE_HOST: &str = "@host";

/// How a host authenticates to NATS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClusterAuth {
    /// No credentials (a NATS server without authorization, such as a test's).
    #[default]
    None,
    /// A token read from this file (its surrounding whitespace ignored).
    TokenFile(PathBuf),
    /// A NATS credentials file (a user JWT and its NKey seed, from `nsc`).
    Credentials(PathBuf),
}

/// TLS towards the NATS servers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClusterTls {
    /// PEM CA certificates trusted beside the system's roots.
    pub ca: Option<PathBuf>,
    /// A PEM client certificate and its key, for servers that verify clients.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl ClusterConfig {
    /// A host of application `app` that reaches NATS at `servers` (`nats://host:port`,
    /// `tls://host:port`, or `host:port`), without credentials.
    pub fn new<S: AsRef<str>>(
        servers: impl IntoIterator<Item = S>,
        app: impl Into<String>,
    ) -> Result<Self> {
        let app = app.into();
        let servers = servers
            .into_iter()
            .map(|server| {
                let server = server.as_ref();
                server.parse::<ServerAddr>().map_err(|err| {
                    cluster_config(format!(
                        "`{server}` is not a NATS server address ({err}); write e.g. \"nats://127.0.0.1:4222\""
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if servers.is_empty() {
            return Err(cluster_config(
                "no servers: list at least one, e.g. servers = [\"nats://127.0.0.1:4222\"]".into(),
            ));
        }
        validate_token(&app, "app")?;
        Ok(Self {
            servers,
            app,
            host_name: default_host_name(),
            auth: ClusterAuth::None,
            tls: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            remote: BTreeMap::new(),
        })
    }

    /// Lets the component at address `sender` on another host reach what `grants` allow
    /// here (`message` addresses, `publish` topics), or, with [`REMOTE_HOST`] as `sender`,
    /// the other hosts themselves. Fails on a sender that is neither an address nor
    /// [`REMOTE_HOST`].
    ///
    /// ```
    /// use airssys_host::{CapabilityKind, Capabilities, ClusterConfig};
    ///
    /// let mut grants = Capabilities::default();
    /// grants.add(CapabilityKind::Message, "pricing").unwrap();
    /// let cluster = ClusterConfig::new(["nats://127.0.0.1:4222"], "shop")?
    ///     .remote("checkout", grants)?;
    /// assert!(cluster.remote.contains_key("checkout"));
    /// # Ok::<(), airssys_host::Error>(())
    /// ```
    pub fn remote(mut self, sender: impl Into<String>, grants: Capabilities) -> Result<Self> {
        let sender = sender.into();
        if sender != REMOTE_HOST && validate_name(&sender).is_err() {
            return Err(cluster_config(format!(
                "remote: `{sender}` is neither a component's address (kebab-case) nor \"{REMOTE_HOST}\" (the other hosts themselves)"
            )));
        }
        self.remote.insert(sender, grants);
        Ok(self)
    }

    /// Names this host (letters, digits, `-` and `_`).
    pub fn host_name(mut self, name: impl Into<String>) -> Self {
        self.host_name = name.into();
        self
    }

    /// Authenticates with `auth`.
    pub fn auth(mut self, auth: ClusterAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Connects over TLS with `tls`.
    pub fn tls(mut self, tls: ClusterTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Gives up connecting after `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Checks the host name; [`new`](Self::new) checked the rest.
    pub fn validate(&self) -> Result<()> {
        validate_token(&self.host_name, "host")
    }

    /// Connects to the first server that answers. Once connected, the client reconnects by
    /// itself whenever the connection drops.
    pub async fn connect(&self) -> Result<async_nats::Client> {
        self.validate()?;
        let unreachable = |reason: String| Error::ClusterUnreachable {
            servers: self.servers_text(),
            reason,
        };
        let mut options = match &self.auth {
            ClusterAuth::None => ConnectOptions::new(),
            ClusterAuth::TokenFile(file) => {
                let token = std::fs::read_to_string(file).map_err(|source| Error::Io {
                    path: file.clone(),
                    source,
                })?;
                ConnectOptions::with_token(token.trim().to_owned())
            }
            ClusterAuth::Credentials(file) => ConnectOptions::with_credentials_file(file)
                .await
                .map_err(|source| Error::Io {
                    path: file.clone(),
                    source,
                })?,
        };
        if let Some(tls) = &self.tls {
            options = options.require_tls(true);
            if let Some(ca) = &tls.ca {
                options = options.add_root_certificates(ca.clone());
            }
            if let Some((cert, key)) = &tls.client {
                options = options.add_client_certificate(cert.clone(), key.clone());
            }
        }
        options
            .name(format!("airssys {}/{}", self.app, self.host_name))
            .connection_timeout(self.connect_timeout)
            .connect(self.servers.as_slice())
            .await
            .map_err(|err| unreachable(err.to_string()))
    }

    /// The servers, comma-separated, for messages.
    fn servers_text(&self) -> String {
        self.servers
            .iter()
            .map(|server| server.clone().into_inner().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The machine's hostname, reduced to a subject token; `host` when it has none.
fn default_host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| if token_char(c) { c } else { '-' })
        .collect();
    if name.is_empty() { "host".into() } else { name }
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `value` must be one NATS subject token of our restricted alphabet.
fn validate_token(value: &str, field: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 || !value.chars().all(token_char) {
        return Err(cluster_config(format!(
            "{field} = \"{value}\" must be 1 to 64 letters, digits, `-` or `_` (it becomes a NATS subject token)"
        )));
    }
    Ok(())
}

fn cluster_config(reason: String) -> Error {
    Error::Config(format!("[cluster]: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_servers_and_names() {
        let err = ClusterConfig::new(["nats://[::1"], "shop").unwrap_err();
        assert!(
            err.to_string().contains("not a NATS server address"),
            "{err}"
        );
        let err = ClusterConfig::new(Vec::<String>::new(), "shop").unwrap_err();
        assert!(err.to_string().contains("no servers"), "{err}");
        let err = ClusterConfig::new(["127.0.0.1:4222"], "my.shop").unwrap_err();
        assert!(err.to_string().contains("app = \"my.shop\""), "{err}");
        let config = ClusterConfig::new(["127.0.0.1:4222"], "shop")
            .unwrap()
            .host_name("a b");
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("host = \"a b\"")
        );
    }

    #[tokio::test]
    async fn unreachable_servers_are_a_typed_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = ClusterConfig::new([format!("nats://127.0.0.1:{port}")], "shop")
            .unwrap()
            .connect_timeout(Duration::from_millis(500));
        let err = config.connect().await.unwrap_err();
        assert!(matches!(err, Error::ClusterUnreachable { .. }), "{err:?}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
    }
}
