//! A live instance: its `Store` and its exports, made from a [`Blueprint`].

use std::sync::{Arc, Weak};

use wasmtime::Store;

use super::Shared;
use super::sandbox;
use crate::bindings::{self, exports::airssys::core::lifecycle};
use crate::broker::Broker;
use crate::interfaces::{MessagingCtx, StoreData};
use crate::limits::Limiter;
use crate::{Error, Limits, Result};

/// Everything a fresh instance of a component is made from. The actor keeps it, so a restart
/// makes its instance exactly as the first start did.
pub(crate) struct Blueprint {
    /// The compiled, linked and pre-instantiated component.
    pub(crate) pre: bindings::ComponentPre<StoreData>,
    /// What `init` receives and `config-get` reads.
    pub(crate) config: Arc<Vec<(String, String)>>,
    pub(crate) limits: Limits,
    /// Whether the engine meters fuel (then every call gets a budget).
    pub(crate) fuel_metering: bool,
    /// What the instance's messages go through.
    pub(crate) broker: Weak<dyn Broker>,
}

/// A live instance: the store that holds its state, and its lifecycle exports.
pub(crate) struct Instance {
    pub(crate) store: Store<StoreData>,
    pub(crate) exports: lifecycle::Guest,
}

impl Instance {
    /// Instantiates `blueprint` into a fresh store under its limits, then runs `init`. The one
    /// way an instance is made, for the first start and for every restart.
    pub(crate) async fn start(blueprint: &Blueprint, shared: &Shared) -> Result<Self> {
        let limiter = Limiter::new(
            &blueprint.limits,
            shared.memory.clone(),
            blueprint.fuel_metering,
        );
        let messaging = MessagingCtx::new(
            blueprint.broker.clone(),
            &shared.identity().address,
            shared.sent.clone(),
        );
        let data = StoreData::new(
            shared.gate.clone(),
            blueprint.config.clone(),
            blueprint.limits.clone(),
            limiter,
            messaging,
        );
        let mut store = Store::new(blueprint.pre.engine(), data);
        sandbox::configure(&mut store);
        sandbox::arm(&mut store)?;
        let bindings = match blueprint.pre.instantiate_async(&mut store).await {
            Ok(bindings) => bindings,
            // wasmtime checks export signatures when it first instantiates; a failure that
            // is not a trap means the exports do not have the contract's types.
            Err(err)
                if err.downcast_ref::<wasmtime::Trap>().is_none()
                    && !store.data().limiter.refused() =>
            {
                return Err(Error::MissingExport {
                    origin: shared.identity().to_string(),
                    problem: format!("its exports do not match the contract: {err:#}"),
                });
            }
            Err(err) => {
                return Err(Error::Trap {
                    component: shared.identity().to_string(),
                    trap: sandbox::classify(&mut store, &err),
                });
            }
        };
        let mut instance = Self {
            store,
            exports: bindings.airssys_core_lifecycle().clone(),
        };
        instance.init(&blueprint.config).await?;
        let who = shared.identity();
        tracing::debug!(target: "airssys::host", address = %who.address, component = %who.label(), "instance started");
        Ok(instance)
    }
}
