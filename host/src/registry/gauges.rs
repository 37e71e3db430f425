//! The levels `/metrics` reads from the registry at each scrape: memory, mailbox depth and
//! instances per component version, and the host's totals. Counts are recorded as they happen
//! (`metrics.rs`); levels are read, so they are never stale and never need resetting.

use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::Registry;
use crate::metrics::VersionOf;
use crate::totals::Totals;

/// Reads the registry and the host's totals when scraped.
#[derive(Debug)]
pub(crate) struct Gauges {
    pub(crate) registry: Weak<Registry>,
    pub(crate) totals: Arc<Totals>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateOf {
    address: String,
    version: String,
    state: String,
}

impl Collector for Gauges {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let components: Vec<_> = self
            .registry
            .upgrade()
            .map(|registry| registry.list().iter().map(|e| e.info()).collect())
            .unwrap_or_default();
        let of = |c: &crate::ComponentInfo| VersionOf {
            address: c.identity.address.clone(),
            version: c.identity.version.clone(),
        };
        let bytes = Unit::Bytes;
        let mut memory = encoder.encode_descriptor(
            "memory",
            "Linear memory a component's instances hold",
            Some(&bytes),
            MetricType::Gauge,
        )?;
        for c in &components {
            ConstGauge::new(c.memory.current as i64).encode(memory.encode_family(&of(c))?)?;
        }
        let mut peak = encoder.encode_descriptor(
            "memory_peak",
            "Most linear memory a component's instances held",
            Some(&bytes),
            MetricType::Gauge,
        )?;
        for c in &components {
            ConstGauge::new(c.memory.peak as i64).encode(peak.encode_family(&of(c))?)?;
        }
        let mut depth = encoder.encode_descriptor(
            "mailbox_depth",
            "Calls waiting in a component's mailboxes",
            None,
            MetricType::Gauge,
        )?;
        for c in &components {
            ConstGauge::new(c.queued as i64).encode(depth.encode_family(&of(c))?)?;
        }
        let mut instances = encoder.encode_descriptor(
            "instances",
            "Instances serving a component, by lifecycle state",
            None,
            MetricType::Gauge,
        )?;
        for c in &components {
            let labels = StateOf {
                address: c.identity.address.clone(),
                version: c.identity.version.clone(),
                state: c.state.to_string(),
            };
            ConstGauge::new(c.instances as i64).encode(instances.encode_family(&labels)?)?;
        }
        let usage = self.totals.usage();
        let host_instances = ConstGauge::new(usage.instances as i64);
        host_instances.encode(encoder.encode_descriptor(
            "host_instances",
            "Instances running on the host, all components together",
            None,
            host_instances.metric_type(),
        )?)?;
        let host_memory = ConstGauge::new(usage.memory as i64);
        host_memory.encode(encoder.encode_descriptor(
            "host_memory",
            "Linear memory held on the host, all components together",
            Some(&bytes),
            host_memory.metric_type(),
        )?)?;
        Ok(())
    }
}
