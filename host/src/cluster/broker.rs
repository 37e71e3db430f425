//! The cluster broker: the [`Broker`] of a host in a cluster. It wraps the host's registry:
//!
//! - an address this host runs is delivered in process, as without a cluster (local
//!   first: no hop through NATS when the component is here; hosts that do not run it
//!   balance over those that do, through the address's queue group);
//! - any other address goes to NATS as a request on `airssys.<app>.addr.<address>`, with
//!   the time left to the caller's deadline as its timeout; a send is acknowledged once
//!   queued there, so it fails as it would locally (mailbox full, too large, stopped);
//! - a publish goes to this host's subscribers in process and, once, to NATS for the
//!   others (which skip their own).
//!
//! The receiving side (`serve.rs`) and the announcements (`presence.rs`) run as tasks that
//! end when the broker is dropped with its host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_contract::Payload;
use async_nats::client::RequestErrorKind;
use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore, broadcast};
use tokio::task::AbortHandle;

use super::admission::Admission;
use super::envelope::{Envelope, Kind, Reply, frame};
use super::presence::{Announcement, PeerInfo, Peers};
use super::subjects::Subjects;
use super::{Cluster, serve};
use crate::broker::{Broker, Deadline, Published, Sink, SubscriptionId};
use crate::mail::Message;
use crate::metrics::Metrics;
use crate::policy::AuditLog;
use crate::registry::{Entry, Registry};
use crate::{Error, Event, Result};

/// Deliveries from other hosts this host handles at once; more are refused at once with
/// [`Error::MailboxFull`], so a flood from elsewhere never queues here without bound.
pub(crate) const MAX_INFLIGHT: usize = 1024;

/// What the broker and its tasks share.
pub(crate) struct Core {
    pub(super) client: async_nats::Client,
    pub(super) subjects: Subjects,
    /// This host's name.
    pub(super) host: String,
    pub(super) registry: Arc<Registry>,
    pub(super) admission: Admission,
    pub(super) peers: Peers,
    /// The queue subscription serving each local address, by address.
    pub(super) serving: Mutex<HashMap<String, AbortHandle>>,
    /// Permits for deliveries from other hosts under way here.
    pub(super) inflight: Arc<Semaphore>,
    /// Wakes the announcer: what this host runs may have changed.
    pub(super) changed: Notify,
}

/// The broker of a host in a cluster (see the module docs).
pub(crate) struct ClusterBroker {
    core: Arc<Core>,
    tasks: Vec<AbortHandle>,
}

impl ClusterBroker {
    /// Starts serving this host's addresses and topics over `cluster`'s connection, and
    /// announcing what it runs. Needs a tokio runtime.
    pub(crate) fn start(
        cluster: &Cluster,
        registry: Arc<Registry>,
        audit: &Arc<AuditLog>,
        metrics: &Arc<Metrics>,
        events: broadcast::Receiver<Event>,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config(
                "a host in a cluster starts tasks: build it inside a tokio runtime".into(),
            )
        })?;
        let config = &cluster.config;
        let core = Arc::new(Core {
            client: cluster.client.clone(),
            subjects: Subjects::new(&config.app),
            host: config.host_name.clone(),
            registry,
            admission: Admission::new(&config.host_name, &config.remote, audit, metrics)?,
            peers: Peers::default(),
            serving: Mutex::new(HashMap::new()),
            inflight: Arc::new(Semaphore::new(MAX_INFLIGHT)),
            changed: Notify::new(),
        });
        let tasks = vec![
            runtime
                .spawn(serve::run(core.clone(), events))
                .abort_handle(),
        ];
        Ok(Self { core, tasks })
    }

    /// The other hosts heard from.
    pub(crate) fn peers(&self) -> Vec<PeerInfo> {
        self.core.peers.list()
    }

    /// This host's name in the cluster.
    pub(crate) fn host_name(&self) -> &str {
        &self.core.host
    }

    /// The entry at `to` if this host serves it now.
    fn local(&self, to: &str) -> Option<Arc<Entry>> {
        self.core
            .registry
            .get(to)
            .filter(|entry| !entry.state().is_final())
    }

    /// Delivers `message` to `to` on another host, waiting until `deadline` for its reply.
    async fn remote(
        &self,
        kind: Kind,
        to: &str,
        message: &Message,
        deadline: &mut Deadline,
    ) -> Result<Payload> {
        let core = &self.core;
        let remaining = deadline.remaining();
        let head = Envelope {
            kind,
            host: core.host.clone(),
            source: message.source().map(str::to_owned),
            content_type: message.payload().content_type().to_owned(),
            sent: Envelope::nanos(message.timestamp()),
            timeout: u64::try_from(remaining.as_micros()).unwrap_or(u64::MAX),
        };
        let body = frame(&head, message.payload().body());
        let size = body.len();
        let request = async_nats::Request::new()
            .payload(body)
            .timeout(Some(remaining));
        let sent = deadline
            .bound(core.client.send_request(core.subjects.address(to), request))
            .await;
        let timed_out = |waited: Duration| Error::Timeout {
            component: to.to_owned(),
            waited,
        };
        match sent {
            Some(Ok(reply)) => Reply::decode(to, &reply.payload),
            None => Err(timed_out(deadline.allowed())),
            Some(Err(err)) => Err(match err.kind() {
                RequestErrorKind::NoResponders => match core.registry.get(to) {
                    // It ran here once, and nobody serves it now: say why it stopped.
                    Some(entry) => entry.stopped(),
                    None => Error::UnknownAddress {
                        address: to.to_owned(),
                    },
                },
                RequestErrorKind::TimedOut => timed_out(deadline.allowed()),
                RequestErrorKind::MaxPayloadExceeded => Error::PayloadTooLarge {
                    component: to.to_owned(),
                    direction: match kind {
                        Kind::Request => "request",
                        _ => "message",
                    },
                    size,
                    limit: core.client.max_payload(),
                },
                _ => Error::Unavailable {
                    address: to.to_owned(),
                    reason: err.to_string(),
                },
            }),
        }
    }
}

#[async_trait]
impl Broker for ClusterBroker {
    async fn send(&self, to: &str, message: Message, deadline: &mut Deadline) -> Result<()> {
        if self.local(to).is_some() {
            return self.core.registry.send(to, message, deadline).await;
        }
        self.remote(Kind::Send, to, &message, deadline)
            .await
            .map(drop)
    }

    async fn request(
        &self,
        to: &str,
        message: Message,
        deadline: &mut Deadline,
    ) -> Result<Payload> {
        if self.local(to).is_some() {
            return self.core.registry.request(to, message, deadline).await;
        }
        self.remote(Kind::Request, to, &message, deadline).await
    }

    /// Publishes to NATS first (the other hosts deliver meanwhile), then here. What it
    /// returns counts this host's subscribers: the others' are not waited for.
    async fn publish(&self, message: Message, deadline: &mut Deadline) -> Result<Published> {
        let core = &self.core;
        let topic = message.topic().unwrap_or_default();
        let head = Envelope {
            kind: Kind::Publish,
            host: core.host.clone(),
            source: message.source().map(str::to_owned),
            content_type: message.payload().content_type().to_owned(),
            sent: Envelope::nanos(message.timestamp()),
            timeout: u64::try_from(deadline.remaining().as_micros()).unwrap_or(u64::MAX),
        };
        let body = frame(&head, message.payload().body());
        match deadline
            .bound(core.client.publish(core.subjects.topic(topic), body))
            .await
        {
            Some(Ok(())) => {}
            Some(Err(err)) => {
                tracing::debug!(target: "airssys::host", topic, %err, "publish did not reach the other hosts");
            }
            None => {
                tracing::debug!(target: "airssys::host", topic, "publish did not reach the other hosts before its deadline");
            }
        }
        core.registry.publish(message, deadline).await
    }

    fn subscribe(&self, pattern: &str, group: Option<&str>, sink: Sink) -> SubscriptionId {
        let id = self.core.registry.subscribe(pattern, group, sink);
        self.core.changed.notify_one();
        id
    }

    fn unsubscribe(&self, id: SubscriptionId) {
        self.core.registry.unsubscribe(id);
    }
}

impl Drop for ClusterBroker {
    /// Stops every task and subscription, and tells the other hosts this one is leaving,
    /// so they stop counting on it before its heartbeats expire.
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let serving =
            std::mem::take(&mut *self.core.serving.lock().unwrap_or_else(|p| p.into_inner()));
        for task in serving.values() {
            task.abort();
        }
        let leaving = Announcement {
            host: self.core.host.clone(),
            components: Vec::new(),
            leaving: true,
        };
        let client = self.core.client.clone();
        let subject = self.core.subjects.presence(&self.core.host);
        if let (Ok(runtime), Ok(body)) = (
            tokio::runtime::Handle::try_current(),
            serde_json::to_vec(&leaving),
        ) {
            runtime.spawn(async move {
                let _ = client.publish(subject, body.into()).await;
                let _ = client.flush().await;
            });
        }
    }
}
