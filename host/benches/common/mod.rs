//! The raw wasmtime baseline the benchmarks measure airssys against: what an embedder would
//! write by hand with wasmtime 48 for the same component (one engine, a linker with WASI p2
//! and a minimal `airssys:core/host`, `InstancePre`, typed async calls).

use std::path::Path;

use airssys_cli::build::{BuildOptions, build_crate, ensure_wasm_target};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub(crate) mod raw {
    wasmtime::component::bindgen!({
        world: "component",
        path: "../wit",
        imports: {
            "airssys:core/process.run": async,
            "airssys:core/http.send": async,
        },
        exports: { default: async },
    });
}

use raw::airssys::core::{host, types};

/// The hand-written baseline's store data: WASI plus a no-frills host interface.
pub(crate) struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
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
        types::Datetime {
            seconds: 0,
            nanoseconds: 0,
        }
    }
    fn config_get(&mut self, _: String) -> Option<String> {
        None
    }
    fn config_entries(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }
    fn identity(&mut self) -> types::ComponentId {
        types::ComponentId {
            name: "greeter".into(),
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
    // such as storage, are not needed by the greeter).
    use raw::airssys::core::{filesystem, host, http, process, types};
    types::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    host::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    filesystem::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    process::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    http::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
    linker
}

fn raw_store(engine: &Engine) -> Store<RawState> {
    let wasi = WasiCtx::builder().build();
    Store::new(
        engine,
        RawState {
            wasi,
            table: ResourceTable::new(),
        },
    )
}

pub(crate) async fn raw_start(
    engine: &Engine,
    pre: &raw::ComponentPre<RawState>,
) -> (Store<RawState>, raw::Component) {
    let mut store = raw_store(engine);
    let instance = pre.instantiate_async(&mut store).await.unwrap();
    instance
        .airssys_core_lifecycle()
        .call_init(&mut store, &Vec::new())
        .await
        .unwrap()
        .unwrap();
    (store, instance)
}

pub(crate) fn hello_wasm() -> Vec<u8> {
    guest_wasm("examples/hello")
}

/// Builds the guest crate at `crate_dir` (relative to the workspace) in release, as the
/// tests do, and reads the component.
pub(crate) fn guest_wasm(crate_dir: &str) -> Vec<u8> {
    ensure_wasm_target().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let options = BuildOptions {
        release: true,
        target_dir: Some(root.join("target/guests")),
        quiet: true,
    };
    std::fs::read(build_crate(&root.join(crate_dir), &options).unwrap()).unwrap()
}
