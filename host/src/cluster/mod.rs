//! Several hosts, one application, over NATS.
//!
//! A host reaches the NATS servers with a [`ClusterConfig`] (the `[cluster]` table of
//! `airssys.toml`) and joins its application's other hosts with
//! [`HostBuilder::cluster`](crate::HostBuilder::cluster). Its broker then delivers to
//! addresses it runs in process and to the others through NATS, publishes to every host,
//! and announces what it runs ([`Host::peers`](crate::Host::peers)).
//!
//! Without a cluster every delivery and every namespace stays in process. With one, the
//! application's name is the first token after `airssys.` of every subject the host uses, so
//! several applications can share one NATS deployment without seeing each other's traffic.
//! docs/architecture.md describes the subjects and the delivery guarantees, docs/security.md
//! the trust between hosts.

mod admission;
mod broker;
mod config;
mod envelope;
mod presence;
mod serve;
mod subjects;

pub(crate) use broker::ClusterBroker;
pub use config::{ClusterAuth, ClusterConfig, ClusterTls, DEFAULT_CONNECT_TIMEOUT, REMOTE_HOST};
pub use presence::{EXPIRY, HEARTBEAT, PeerComponent, PeerInfo};

use crate::Result;

/// A host's connection to its cluster: where it is ([`ClusterConfig`]) and the NATS client
/// that reaches it. Hand it to [`HostBuilder::cluster`](crate::HostBuilder::cluster).
///
/// ```no_run
/// # async fn run() -> airssys_host::Result<()> {
/// use airssys_host::{Cluster, ClusterConfig, Host};
///
/// let config = ClusterConfig::new(["nats://127.0.0.1:4222"], "shop")?.host_name("host-a");
/// let host = Host::builder().cluster(Cluster::connect(config).await?).build()?;
/// # drop(host); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cluster {
    config: ClusterConfig,
    client: async_nats::Client,
}

impl Cluster {
    /// Connects to the servers of `config` ([`ClusterConfig::connect`]).
    pub async fn connect(config: ClusterConfig) -> Result<Self> {
        let client = config.connect().await?;
        Ok(Self { config, client })
    }

    /// Joins with a client the embedder connected itself (its options are its own; the
    /// host keeps its subjects under `airssys.<app>.`).
    pub fn with_client(config: ClusterConfig, client: async_nats::Client) -> Result<Self> {
        config.validate()?;
        Ok(Self { config, client })
    }

    /// Where the host is.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The NATS client, to share (for JetStream storage, say).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }
}
