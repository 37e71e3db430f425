//! The host interfaces a component imports, one self-contained unit each.
//!
//! Like wasmtime-wasi's per-interface views and Spin's factors, every unit owns what it keeps
//! per instance, the short-lived view its calls run on, its trait impls, and an
//! `add_to_linker` that takes a projection from the store data to that view. This module only
//! composes them: [`StoreData`] holds one field per context plus what the sandbox needs, and
//! [`link`] adds each unit. Adding an interface is its unit, a field (if it keeps state) and
//! one line in `link`.
//!
//! Guarded units (files, processes, HTTP, WASI sockets) decide through the instance's
//! [`Gate`], never by themselves.

mod core;
mod fs;
mod http;
mod keyvalue;
mod messaging;
mod process;
mod stdio;
mod storage;
mod wasi;
mod wasi_http;

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::{Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtxView, WasiHttpView};

pub(crate) use self::core::{CoreCtx, LogBudget, MAX_LOG_LINES_PER_CALL};
pub(crate) use self::http::HttpClient;
pub use self::http::HttpSettings;
pub(crate) use self::messaging::{MessagingCtx, Sent};
pub(crate) use self::storage::ComponentStorage;
use self::storage::StorageCtx;
use self::wasi_http::WasiHttpState;
use crate::bindings::wit;
use crate::clock::Clock;
use crate::limits::Limiter;
use crate::policy::{Denied, Gate};
use crate::{Identity, Limits};

/// The data of one instance's `Store`.
pub(crate) struct StoreData {
    /// Decides, audits and counts every guarded call.
    pub(crate) gate: Arc<Gate>,
    pub(crate) limits: Limits,
    /// When the current call must end; the epoch callback and the async imports read it.
    pub(crate) deadline: Instant,
    pub(crate) core: CoreCtx,
    pub(crate) messaging: MessagingCtx,
    pub(crate) wasi: WasiCtx,
    /// `wasi:http`: the incoming request of a proxy component, and gated outgoing requests.
    pub(crate) wasi_http: WasiHttpState,
    /// The host's HTTP client (resolver and TLS), shared by every instance.
    pub(crate) http: Arc<HttpClient>,
    /// Shared by `storage` and `wasi:keyvalue`.
    pub(crate) storage: StorageCtx,
    /// Resources of every interface (WASI streams, sockets, storage handles, ...).
    pub(crate) table: ResourceTable,
    /// The store's resource limiter.
    pub(crate) limiter: Limiter,
}

/// What the host gives every instance alike: its HTTP client and its clock.
#[derive(Clone)]
pub(crate) struct HostServices {
    pub(crate) http: Arc<HttpClient>,
    pub(crate) clock: Clock,
}

impl StoreData {
    pub(crate) fn new(
        gate: Arc<Gate>,
        config: Arc<Vec<(String, String)>>,
        limits: Limits,
        limiter: Limiter,
        services: &HostServices,
        messaging: MessagingCtx,
        storage: Arc<ComponentStorage>,
    ) -> Self {
        let log = Arc::new(LogBudget::default());
        let HostServices { http, clock } = services.clone();
        Self {
            wasi: wasi::context(&gate, &log, &clock, http.loopback_only()),
            wasi_http: WasiHttpState::new(gate.clone()),
            storage: StorageCtx::new(storage),
            core: CoreCtx::new(gate.identity().clone(), config, log, clock),
            http,
            messaging,
            gate,
            limits,
            deadline: Instant::now(),
            table: ResourceTable::new(),
            limiter,
        }
    }

    /// The component this store runs.
    pub(crate) fn identity(&self) -> &Identity {
        self.gate.identity()
    }
}

/// Links every host interface into `linker`.
pub(crate) fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    wasi::add_to_linker(linker)?;
    wasi_http::add_to_linker(linker)?;
    core::add_to_linker(linker, |data| &mut data.core)?;
    fs::add_to_linker(linker, |data| fs::Files {
        gate: &data.gate,
        limits: &data.limits,
        deadline: data.deadline,
    })?;
    process::add_to_linker(linker, |data| process::Processes {
        gate: &data.gate,
        limits: &data.limits,
        deadline: data.deadline,
    })?;
    http::add_to_linker(linker, |data| http::Http {
        gate: &data.gate,
        limits: &data.limits,
        deadline: data.deadline,
        client: &data.http,
    })?;
    messaging::add_to_linker(linker, |data| messaging::Messaging {
        gate: &data.gate,
        limits: &data.limits,
        deadline: data.deadline,
        ctx: &mut data.messaging,
    })?;
    storage::add_to_linker(linker, stored)?;
    keyvalue::add_to_linker(linker, stored)
}

/// The view `storage` and `wasi:keyvalue` share.
fn stored(data: &mut StoreData) -> storage::Stored<'_> {
    storage::Stored {
        gate: &data.gate,
        limits: &data.limits,
        ctx: &mut data.storage,
        table: &mut data.table,
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.wasi_http.ctx,
            table: &mut self.table,
            hooks: &mut self.wasi_http.hooks,
        }
    }
}

impl From<Denied> for wit::Error {
    fn from(denied: Denied) -> Self {
        wit::Error {
            kind: wit::ErrorKind::Denied,
            message: denied.message,
        }
    }
}
