//! What the host counts and measures, kept in one `prometheus-client` registry per host and
//! read as Prometheus text ([`Host::metrics`](crate::Host::metrics), `GET /metrics`).
//!
//! Counters and histograms are recorded where things happen (the actor around each call, the
//! supervisor on a trap or restart, the gate on a denial, a storage handle on each operation,
//! the server on each request), through the [`ComponentMetrics`] of the version that did it,
//! so they keep counting across restarts and deploys and stay labelled with the version that
//! served. What is a level rather than a count (memory, mailbox depth, instances) is read from
//! the registry when scraped, by a collector the host adds ([`Metrics::new`]).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use airssys_contract::CapabilityKind;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::{Error, Identity, Trap};

/// Seconds from 100 µs to about 13 s, doubling: wasm calls are short, deadlines are not.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

type Seconds = Family<CallKindOf, Histogram, fn() -> Histogram>;

/// The host's registry and the families everything records into.
pub(crate) struct Metrics {
    registry: Registry,
    calls: Family<CallOf, Counter>,
    durations: Seconds,
    errors: Family<KindOf, Counter>,
    traps: Family<KindOf, Counter>,
    restarts: Family<VersionOf, Counter>,
    denials: Family<CapabilityOf, Counter>,
    storage_operations: Family<OperationOf, Counter>,
    storage_bytes: Family<DirectionOf, Counter>,
    ingress: Family<IngressOf, Counter>,
    ingress_durations: Family<RouteOf, Histogram, fn() -> Histogram>,
    deploys: Family<DeployOf, Counter>,
    rollbacks: Family<RollbackOf, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A component version's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VersionOf {
    pub(crate) address: String,
    pub(crate) version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallOf {
    address: String,
    version: String,
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallKindOf {
    address: String,
    version: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindOf {
    address: String,
    version: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CapabilityOf {
    address: String,
    version: String,
    capability: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationOf {
    address: String,
    version: String,
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionOf {
    address: String,
    version: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngressOf {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOf {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeployOf {
    address: String,
    strategy: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RollbackOf {
    address: String,
    outcome: &'static str,
}

/// What a call to a guest was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Request,
    Message,
    Http,
}

impl CallKind {
    const ALL: [Self; 3] = [Self::Request, Self::Message, Self::Http];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Message => "message",
            Self::Http => "http",
        }
    }
}

/// How a call ended: `ok`, `error` (a domain error or a refusal; the instance goes on) or
/// `trap` (the instance was retired).
pub(crate) fn outcome<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(Error::Trap { .. }) => "trap",
        Err(_) => "error",
    }
}

const OUTCOMES: [&str; 3] = ["ok", "error", "trap"];

impl Metrics {
    /// A registry with every family, plus `gauges`, read at each scrape.
    pub(crate) fn new(gauges: Box<dyn Collector>) -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("airssys"),
            calls: Family::default(),
            durations: Seconds::new_with_constructor(seconds),
            errors: Family::default(),
            traps: Family::default(),
            restarts: Family::default(),
            denials: Family::default(),
            storage_operations: Family::default(),
            storage_bytes: Family::default(),
            ingress: Family::default(),
            ingress_durations: Family::new_with_constructor(seconds),
            deploys: Family::default(),
            rollbacks: Family::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "calls",
            "Calls into components (kind: request, message, http; outcome: ok, error, trap)",
            metrics.calls.clone(),
        );
        registry.register_with_unit(
            "call_duration",
            "Time a component spent on a call, from the start of the guest call to its end",
            Unit::Seconds,
            metrics.durations.clone(),
        );
        registry.register(
            "errors",
            "Calls that failed without a trap, by kind (a domain error's kind, payload_too_large, ...)",
            metrics.errors.clone(),
        );
        registry.register(
            "traps",
            "Traps, by kind (panic, deadline, out_of_fuel, memory_limit, ...)",
            metrics.traps.clone(),
        );
        registry.register(
            "restarts",
            "Fresh instances started after traps",
            metrics.restarts.clone(),
        );
        registry.register(
            "denials",
            "Host calls the capability gate refused, by capability",
            metrics.denials.clone(),
        );
        registry.register(
            "storage_operations",
            "Storage operations by components (get, set, delete, list, compare_and_swap, increment, batch)",
            metrics.storage_operations.clone(),
        );
        registry.register_with_unit(
            "storage",
            "Bytes of keys and values components read and wrote",
            Unit::Bytes,
            metrics.storage_bytes.clone(),
        );
        registry.register(
            "ingress_requests",
            "HTTP requests the server answered, by route and status",
            metrics.ingress.clone(),
        );
        registry.register_with_unit(
            "ingress_request_duration",
            "Time from a request's head to its response's head",
            Unit::Seconds,
            metrics.ingress_durations.clone(),
        );
        registry.register(
            "deploys",
            "Deploys that ended, by strategy and outcome (ok, failed)",
            metrics.deploys.clone(),
        );
        registry.register(
            "rollbacks",
            "Rollbacks that ended, by outcome (ok, failed)",
            metrics.rollbacks.clone(),
        );
        registry.register_collector(gauges);
        metrics
    }

    /// The recorder of one component version.
    pub(crate) fn component(self: &Arc<Self>, identity: &Identity) -> Arc<ComponentMetrics> {
        Arc::new(ComponentMetrics {
            of: VersionOf {
                address: identity.address.clone(),
                version: identity.version.clone(),
            },
            calls: Default::default(),
            durations: Default::default(),
            metrics: self.clone(),
        })
    }

    /// One request the server answered on `route` with `status` after `took`.
    pub(crate) fn ingress(&self, route: &'static str, status: u16, took: Duration) {
        self.ingress
            .get_or_create(&IngressOf { route, status })
            .inc();
        self.ingress_durations
            .get_or_create(&RouteOf { route })
            .observe(took.as_secs_f64());
    }

    /// A deploy to `address` with `strategy` that ended as `result` says.
    pub(crate) fn deployed<T>(
        &self,
        address: &str,
        strategy: &'static str,
        result: &Result<T, Error>,
    ) {
        let of = DeployOf {
            address: address.to_owned(),
            strategy,
            outcome: if result.is_ok() { "ok" } else { "failed" },
        };
        self.deploys.get_or_create(&of).inc();
    }

    /// A rollback of `address` that ended as `result` says.
    pub(crate) fn rolled_back<T>(&self, address: &str, result: &Result<T, Error>) {
        let of = RollbackOf {
            address: address.to_owned(),
            outcome: if result.is_ok() { "ok" } else { "failed" },
        };
        self.rollbacks.get_or_create(&of).inc();
    }

    /// Everything, as Prometheus (OpenMetrics) text.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; a collector's error would be a bug of ours.
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(target: "airssys::host", "cannot encode the metrics: {err}");
        }
        text
    }
}

/// Records for one component version. Its call counters and histograms are looked up once
/// each, then incremented without a lookup.
pub(crate) struct ComponentMetrics {
    of: VersionOf,
    calls: [[OnceLock<Counter>; OUTCOMES.len()]; CallKind::ALL.len()],
    durations: [OnceLock<Histogram>; CallKind::ALL.len()],
    metrics: Arc<Metrics>,
}

impl fmt::Debug for ComponentMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentMetrics")
            .field("of", &self.of)
            .finish_non_exhaustive()
    }
}

impl ComponentMetrics {
    /// One call of `kind` that took `took` and ended as `result` says.
    pub(crate) fn call<T>(&self, kind: CallKind, took: Duration, result: &Result<T, Error>) {
        let outcome = outcome(result);
        let k = kind as usize;
        let o = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
        self.calls[k][o]
            .get_or_init(|| {
                self.metrics
                    .calls
                    .get_or_create(&CallOf {
                        address: self.of.address.clone(),
                        version: self.of.version.clone(),
                        kind: kind.name(),
                        outcome,
                    })
                    .clone()
            })
            .inc();
        self.durations[k]
            .get_or_init(|| {
                self.metrics
                    .durations
                    .get_or_create(&CallKindOf {
                        address: self.of.address.clone(),
                        version: self.of.version.clone(),
                        kind: kind.name(),
                    })
                    .clone()
            })
            .observe(took.as_secs_f64());
        if let Err(err) = result
            && !matches!(err, Error::Trap { .. })
        {
            self.error(err.code());
        }
    }

    /// A failure of kind `code` on the way to or from the component (a refusal before it
    /// ran counts here too).
    pub(crate) fn error(&self, code: &'static str) {
        self.metrics.errors.get_or_create(&self.kind(code)).inc();
    }

    pub(crate) fn trap(&self, trap: &Trap) {
        self.metrics
            .traps
            .get_or_create(&self.kind(trap.kind.code()))
            .inc();
    }

    pub(crate) fn restart(&self) {
        self.metrics.restarts.get_or_create(&self.of).inc();
    }

    pub(crate) fn denial(&self, capability: CapabilityKind) {
        self.metrics
            .denials
            .get_or_create(&CapabilityOf {
                address: self.of.address.clone(),
                version: self.of.version.clone(),
                capability: capability.key(),
            })
            .inc();
    }

    fn kind(&self, kind: &'static str) -> KindOf {
        KindOf {
            address: self.of.address.clone(),
            version: self.of.version.clone(),
            kind,
        }
    }
}

impl crate::storage::Meter for ComponentMetrics {
    fn record(&self, op: &'static str, read: usize, written: usize) {
        let m = &self.metrics;
        m.storage_operations
            .get_or_create(&OperationOf {
                address: self.of.address.clone(),
                version: self.of.version.clone(),
                op,
            })
            .inc();
        for (direction, bytes) in [("read", read), ("written", written)] {
            if bytes > 0 {
                m.storage_bytes
                    .get_or_create(&DirectionOf {
                        address: self.of.address.clone(),
                        version: self.of.version.clone(),
                        direction,
                    })
                    .inc_by(bytes as u64);
            }
        }
    }
}
