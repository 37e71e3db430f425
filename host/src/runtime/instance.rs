//! A live instance: its `Store` and its exports, made from a [`Blueprint`].

use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::{Engine, Store};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::exports::wasi::http::incoming_handler;

use super::Shared;
use super::sandbox;
use crate::bindings::{self, exports::airssys::core::lifecycle};
use crate::broker::Broker;
use crate::interfaces::{ComponentStorage, HostServices, MessagingCtx, StoreData};
use crate::limits::Limiter;
use crate::totals::Totals;
use crate::{Error, HostLimit, Limits, Result};

/// Everything a fresh instance of a component is made from. The actor keeps it, so a restart
/// makes its instance exactly as the first start did.
pub(crate) struct Blueprint {
    /// The compiled, linked and pre-instantiated component.
    pub(crate) pre: Pre,
    /// What `init` receives and `config-get` reads.
    pub(crate) config: Arc<Vec<(String, String)>>,
    pub(crate) limits: Limits,
    /// Whether the engine meters fuel (then every call gets a budget).
    pub(crate) fuel_metering: bool,
    /// The host's HTTP client and clock.
    pub(crate) services: HostServices,
    /// What the instance's messages go through.
    pub(crate) broker: Weak<dyn Broker>,
    /// The host's store and the namespaces this component opened, kept across restarts.
    pub(crate) storage: Arc<ComponentStorage>,
    /// The host's totals, which the instance's memory is charged against.
    pub(crate) totals: Arc<Totals>,
    /// The engine's epoch tick: how far past its deadline a call may wait before it is
    /// cancelled.
    pub(crate) epoch_tick: Duration,
}

/// A component pre-instantiated for its world.
#[derive(Clone)]
pub(crate) enum Pre {
    Airssys(bindings::ComponentPre<StoreData>),
    HttpProxy(ProxyPre<StoreData>),
}

impl Pre {
    fn engine(&self) -> &Engine {
        match self {
            Self::Airssys(pre) => pre.engine(),
            Self::HttpProxy(pre) => pre.engine(),
        }
    }
}

/// What the host calls in an instance: the lifecycle, or the HTTP handler.
pub(crate) enum Exports {
    Airssys(lifecycle::Guest),
    HttpProxy(incoming_handler::Guest),
}

/// A live instance: the store that holds its state, and its exports.
pub(crate) struct Instance {
    pub(crate) store: Store<StoreData>,
    pub(crate) exports: Exports,
    /// [`Blueprint::epoch_tick`].
    pub(crate) tick: Duration,
}

impl Instance {
    /// Instantiates `blueprint` into a fresh store under its limits, then runs `init`. The one
    /// way an instance is made, for the first start and for every restart.
    pub(crate) async fn start(blueprint: &Blueprint, shared: &Shared) -> Result<Self> {
        let limiter = Limiter::new(
            &blueprint.limits,
            shared.memory.clone(),
            blueprint.totals.clone(),
            blueprint.fuel_metering,
        );
        let messaging = MessagingCtx::new(
            blueprint.broker.clone(),
            &shared.identity().address,
            shared.sent.clone(),
            blueprint.services.clock.clone(),
        );
        let data = StoreData::new(
            shared.gate.clone(),
            blueprint.config.clone(),
            blueprint.limits.clone(),
            limiter,
            &blueprint.services,
            messaging,
            blueprint.storage.clone(),
        );
        let mut store = Store::new(blueprint.pre.engine(), data);
        sandbox::configure(&mut store);
        let deadline = sandbox::arm(&mut store)?;
        let tick = blueprint.epoch_tick;
        let instantiated = match &blueprint.pre {
            Pre::Airssys(pre) => {
                let instantiate = pre.instantiate_async(&mut store);
                sandbox::bounded(deadline, tick, instantiate)
                    .await
                    .map(|made| made.map(|b| Exports::Airssys(b.airssys_core_lifecycle().clone())))
            }
            Pre::HttpProxy(pre) => {
                let instantiate = pre.instantiate_async(&mut store);
                sandbox::bounded(deadline, tick, instantiate)
                    .await
                    .map(|made| {
                        made.map(|b| Exports::HttpProxy(b.wasi_http_incoming_handler().clone()))
                    })
            }
        };
        let exports = match instantiated {
            Some(Ok(exports)) => exports,
            Some(Err(err)) => return Err(not_instantiated(&mut store, shared, &err)),
            None => {
                return Err(Error::Trap {
                    component: shared.identity().to_string(),
                    trap: sandbox::overdue(&store),
                });
            }
        };
        let mut instance = Self {
            store,
            exports,
            tick,
        };
        instance.init(&blueprint.config).await?;
        let who = shared.identity();
        tracing::debug!(target: "airssys::host", address = %who.address, component = %who.label(), "instance started");
        Ok(instance)
    }
}

/// Why instantiation failed: a limit of the whole host, a trap (its own limits included), or
/// exports that are not of the contract's types.
fn not_instantiated(store: &mut Store<StoreData>, shared: &Shared, err: &wasmtime::Error) -> Error {
    let component = shared.identity().to_string();
    if let Some(limit) = store.data_mut().limiter.host_refused.take() {
        return Error::HostLimit { component, limit };
    }
    if let Some(pool) = err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        let detail = pool.to_string();
        return Error::HostLimit {
            component,
            limit: HostLimit::Pool { detail },
        };
    }
    // wasmtime checks export signatures when it first instantiates; a failure that is not a
    // trap or a refused limit means the exports do not have the contract's types.
    if err.downcast_ref::<wasmtime::Trap>().is_none() && !store.data().limiter.refused() {
        return Error::MissingExport {
            origin: component,
            problem: format!("its exports do not match the contract: {err:#}"),
        };
    }
    Error::Trap {
        component,
        trap: sandbox::classify(store, err),
    }
}
