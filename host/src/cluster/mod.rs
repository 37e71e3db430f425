//! Several hosts, one application, over NATS: how a host reaches the NATS servers
//! ([`ClusterConfig`], the `[cluster]` table of `airssys.toml`).
//!
//! Without a cluster every delivery and every namespace stays in process. With one, the
//! application's name is the first token after `airssys.` of every subject the host uses, so
//! several applications can share one NATS deployment without seeing each other's traffic.

mod config;

pub use config::{ClusterAuth, ClusterConfig, ClusterTls, DEFAULT_CONNECT_TIMEOUT};
