//! The raw wasmtime baseline the benchmarks measure airssys against: what an embedder would
//! write by hand with wasmtime 48 for the same component (one engine, a linker with WASI p2
//! and a minimal `airssys:core/host`, `InstancePre`, typed async calls), and, for components
//! that talk, `airssys:core/messaging` as tokio channels between the tasks that own the
//! instances.

// Each benchmark binary compiles this module and uses only a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use airssys_host::build::BuildOptions;
use airssys_host::testing::build_with;
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A real nats-server on a loopback port for the NATS benches: the test suite's own fixture,
/// included as a file so both start, find and install the server the same way.
#[path = "../../../tests/src/nats.rs"]
#[allow(unreachable_pub)]
pub(crate) mod nats;

pub(crate) mod raw {
    wasmtime::component::bindgen!({
        world: "component",
        path: "../wit",
        imports: {
            "airssys:core/process.run": async,
            "airssys:core/http.send": async,
            "airssys:core/messaging.send": async,
            "airssys:core/messaging.request": async,
            "airssys:core/messaging.publish": async,
        },
        exports: { default: async },
    });
}

use raw::airssys::core::{host, messaging, types};

/// What the task owning a raw instance serves: the baseline's mailbox.
pub(crate) enum RawCall {
    Request(types::Request, oneshot::Sender<types::Payload>),
    Message(types::Message),
}

/// The raw instances that can reach each other, by name: the channels their tasks serve.
pub(crate) type Peers = Arc<HashMap<String, mpsc::Sender<RawCall>>>;

/// The hand-written baseline's store data: WASI, a no-frills host interface, and the peers
/// its messages go to.
pub(crate) struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
    name: String,
    peers: Peers,
}

impl RawState {
    /// The store data of an instance named `name` that may message `peers`.
    pub(crate) fn new(name: &str, peers: Peers) -> Self {
        Self {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            name: name.to_owned(),
            peers,
        }
    }

    fn peer(&self, to: &str) -> Result<&mpsc::Sender<RawCall>, messaging::Error> {
        self.peers
            .get(to)
            .ok_or_else(|| messaging::Error::NoSuchComponent(to.to_owned()))
    }
}

impl WasiView for RawState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for RawState {}

impl host::Host for RawState {
    fn log(&mut self, _: types::LogLevel, _: String, _: Vec<(String, String)>) {}
    fn now(&mut self) -> types::Datetime {
        now()
    }
    fn config_get(&mut self, _: String) -> Option<String> {
        None
    }
    fn config_entries(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }
    fn identity(&mut self) -> types::ComponentId {
        types::ComponentId {
            name: self.name.clone(),
            version: "0.1.0".into(),
        }
    }
    fn report_panic(&mut self, _: String, _: Option<String>) {}
}

/// The baseline grants no files: every call is denied, as for a component with no grants.
impl raw::airssys::core::filesystem::Host for RawState {
    fn read(&mut self, _: String) -> Result<Vec<u8>, types::Error> {
        Err(denied())
    }
    fn write(&mut self, _: String, _: Vec<u8>) -> Result<(), types::Error> {
        Err(denied())
    }
    fn append(&mut self, _: String, _: Vec<u8>) -> Result<(), types::Error> {
        Err(denied())
    }
    fn list_dir(&mut self, _: String) -> Result<Vec<String>, types::Error> {
        Err(denied())
    }
    fn metadata(
        &mut self,
        _: String,
    ) -> Result<raw::airssys::core::filesystem::EntryMetadata, types::Error> {
        Err(denied())
    }
    fn create_dir(&mut self, _: String) -> Result<(), types::Error> {
        Err(denied())
    }
    fn remove(&mut self, _: String) -> Result<(), types::Error> {
        Err(denied())
    }
    fn rename(&mut self, _: String, _: String) -> Result<(), types::Error> {
        Err(denied())
    }
}

impl raw::airssys::core::process::Host for RawState {
    async fn run(
        &mut self,
        _: raw::airssys::core::process::Command,
    ) -> Result<raw::airssys::core::process::Output, types::Error> {
        Err(denied())
    }
}

impl raw::airssys::core::http::Host for RawState {
    async fn send(
        &mut self,
        _: raw::airssys::core::http::Outgoing,
    ) -> Result<raw::airssys::core::http::Incoming, types::Error> {
        Err(denied())
    }
}

/// Messages and requests go straight into the peer's channel (waiting for room, as an
/// airssys sender does); no deadlines, capability checks, routing or counters.
impl messaging::Host for RawState {
    async fn send(
        &mut self,
        to: String,
        payload: types::Payload,
        _: u32,
    ) -> Result<(), messaging::Error> {
        let message = types::Message {
            source: Some(self.name.clone()),
            topic: None,
            timestamp: now(),
            payload,
        };
        self.peer(&to)?
            .send(RawCall::Message(message))
            .await
            .map_err(|_| messaging::Error::Stopped(to))
    }

    async fn request(
        &mut self,
        to: String,
        payload: types::Payload,
        _: u32,
    ) -> Result<types::Payload, messaging::Error> {
        let request = types::Request {
            source: Some(self.name.clone()),
            correlation_id: 0,
            timestamp: now(),
            payload,
        };
        let (reply, answer) = oneshot::channel();
        self.peer(&to)?
            .send(RawCall::Request(request, reply))
            .await
            .map_err(|_| messaging::Error::Stopped(to.clone()))?;
        answer.await.map_err(|_| messaging::Error::Stopped(to))
    }

    async fn publish(
        &mut self,
        _: String,
        _: types::Payload,
        _: u32,
    ) -> Result<messaging::Published, messaging::Error> {
        Err(messaging::Error::Invalid(
            "no topics in the baseline".into(),
        ))
    }
}

fn now() -> types::Datetime {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    types::Datetime {
        seconds: since.as_secs(),
        nanoseconds: since.subsec_nanos(),
    }
}

fn denied() -> types::Error {
    types::Error {
        kind: types::ErrorKind::Denied,
        message: "no files in the baseline".into(),
    }
}

/// Compiles and pre-instantiates `bytes` for the baseline on `engine`.
pub(crate) fn raw_pre(engine: &Engine, bytes: &[u8]) -> raw::ComponentPre<RawState> {
    let component = Component::from_binary(engine, bytes).unwrap();
    raw::ComponentPre::new(raw_linker(engine).instantiate_pre(&component).unwrap()).unwrap()
}

/// An engine with wasmtime's pooling allocator, sized as an airssys host sizes it for its
/// default 1,000 instances (wasmtime's own defaults hold only 500 of these components, which
/// have two tables each).
pub(crate) fn raw_pooling_engine() -> Engine {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(1_000)
        .total_stacks(1_000)
        .total_core_instances(8_000)
        .total_memories(2_000)
        .total_tables(4_000);
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

pub(crate) fn raw_linker(engine: &Engine) -> Linker<RawState> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    // The airssys interfaces the baseline implements, one by one (the world's other imports,
    // such as storage, are not needed by the benchmarks' guests).
    use raw::airssys::core::{filesystem, host, http, messaging, process, types};
    types::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    host::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    filesystem::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    process::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    http::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    messaging::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    linker
}

/// Instantiates and inits a greeter with no peers.
pub(crate) async fn raw_start(
    engine: &Engine,
    pre: &raw::ComponentPre<RawState>,
) -> (Store<RawState>, raw::Component) {
    raw_start_with(engine, pre, RawState::new("greeter", Peers::default())).await
}

/// Instantiates `pre` into a store holding `state`, and runs `init`.
pub(crate) async fn raw_start_with(
    engine: &Engine,
    pre: &raw::ComponentPre<RawState>,
    state: RawState,
) -> (Store<RawState>, raw::Component) {
    let mut store = Store::new(engine, state);
    let instance = pre.instantiate_async(&mut store).await.unwrap();
    instance
        .airssys_core_lifecycle()
        .call_init(&mut store, &Vec::new())
        .await
        .unwrap()
        .unwrap();
    (store, instance)
}

/// The component `crate_dir` (relative to the workspace) builds, in release.
pub(crate) fn guest_wasm(crate_dir: &str) -> Vec<u8> {
    std::fs::read(guest_path(crate_dir)).unwrap()
}

/// Where the component `crate_dir` (relative to the workspace) builds to, in release.
pub(crate) fn guest_path(crate_dir: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let options = BuildOptions {
        release: true,
        target_dir: Some(root.join("target/guests")),
        quiet: true,
    };
    build_with(root.join(crate_dir), &options).unwrap()
}

/// The greeter, `examples/hello`.
pub(crate) fn hello_wasm() -> Vec<u8> {
    guest_wasm("examples/hello")
}
