//! airssys against raw wasmtime on the same component, in one run.
//!
//! The baseline is what an embedder would write by hand: one engine, a linker with WASI and
//! the airssys host interface, `InstancePre`, typed async calls, and (for requests) a tokio
//! channel hop to the task owning the store, since airssys serves each instance from a task.
//!
//! Run: `cargo bench -p airssys-host --bench roundtrip`; results go in docs/benchmarks.md.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use airssys_cli::build::{BuildOptions, build_crate, ensure_wasm_target};
use airssys_host::{Host, Limits, LoadOptions, Payload, Source};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod raw {
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
struct RawState {
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

/// The baseline's guest never messages other components.
impl raw::airssys::core::messaging::Host for RawState {
    fn send(
        &mut self,
        _: String,
        _: types::Payload,
        _: u32,
    ) -> Result<(), raw::airssys::core::messaging::Error> {
        Err(raw::airssys::core::messaging::Error::Denied(
            "no messaging in the baseline".into(),
        ))
    }
    fn request(
        &mut self,
        _: String,
        _: types::Payload,
        _: u32,
    ) -> Result<types::Payload, raw::airssys::core::messaging::Error> {
        Err(raw::airssys::core::messaging::Error::Denied(
            "no messaging in the baseline".into(),
        ))
    }
    fn publish(
        &mut self,
        _: String,
        _: types::Payload,
        _: u32,
    ) -> Result<raw::airssys::core::messaging::Published, raw::airssys::core::messaging::Error>
    {
        Err(raw::airssys::core::messaging::Error::Denied(
            "no messaging in the baseline".into(),
        ))
    }
}

fn denied() -> types::Error {
    types::Error {
        kind: types::ErrorKind::Denied,
        message: "no files in the baseline".into(),
    }
}

fn raw_linker(engine: &Engine) -> Linker<RawState> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    raw::Component::add_to_linker::<_, HasSelf<RawState>>(&mut linker, |s| s).unwrap();
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

async fn raw_start(
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

fn greet() -> types::Request {
    types::Request {
        source: None,
        correlation_id: 1,
        timestamp: types::Datetime {
            seconds: 0,
            nanoseconds: 0,
        },
        payload: types::Payload {
            content_type: "application/json".into(),
            body: br#"{"name":"Ada"}"#.to_vec(),
        },
    }
}

fn hello_wasm() -> Vec<u8> {
    ensure_wasm_target().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let options = BuildOptions {
        release: true,
        target_dir: Some(root.join("target/guests")),
        quiet: true,
    };
    std::fs::read(build_crate(&root.join("examples/hello"), &options).unwrap()).unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let bytes = hello_wasm();
    let engine = Engine::default();
    let linker = raw_linker(&engine);
    let component = Component::from_binary(&engine, &bytes).unwrap();
    let pre = raw::ComponentPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    let host = Host::new().unwrap();
    let prepared = rt
        .block_on(host.prepare(Source::bytes("hello", bytes.clone())))
        .unwrap();

    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("raw", |b| {
        b.iter(|| {
            let component = Component::from_binary(&engine, black_box(&bytes)).unwrap();
            raw::ComponentPre::new(linker.instantiate_pre(&component).unwrap()).unwrap()
        })
    });
    group.bench_function("airssys", |b| {
        // A fresh host each time so its cache cannot answer; validation is included.
        b.iter(|| {
            let host = Host::new().unwrap();
            rt.block_on(host.prepare(Source::bytes("hello", black_box(bytes.clone()))))
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("cached_load");
    let serialized = component.serialize().unwrap();
    group.bench_function("raw_deserialize", |b| {
        b.iter(|| unsafe { Component::deserialize(&engine, black_box(&serialized)) }.unwrap())
    });
    group.bench_function("airssys", |b| {
        b.iter(|| {
            rt.block_on(host.prepare(Source::bytes("hello", black_box(bytes.clone()))))
                .unwrap()
        })
    });
    group.finish();

    // Start and stop an instance: instantiate, init, shutdown, drop. airssys also spawns
    // the instance's task; teardown is included on both sides so neither defers work. On a
    // current-thread runtime the actor's task runs on the caller's thread, which isolates
    // the work from cross-thread wake-ups.
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (name, runtime) in [("instantiate", &rt), ("instantiate_current_thread", &local)] {
        let mut group = c.benchmark_group(name);
        group.bench_function("raw", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let (mut store, instance) = raw_start(&engine, &pre).await;
                    instance
                        .airssys_core_lifecycle()
                        .call_shutdown(&mut store)
                        .await
                        .unwrap();
                })
            })
        });
        group.bench_function("airssys", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let handle = prepared.start(LoadOptions::new()).await.unwrap();
                    handle.shutdown().await.unwrap();
                })
            })
        });
        group.finish();
    }

    let mut group = c.benchmark_group("request");
    // Baseline: a task owns the store and answers over a oneshot, like any actor would.
    let (tx, mut rx) = mpsc::channel::<(types::Request, oneshot::Sender<types::Payload>)>(64);
    let (engine2, pre2) = (engine.clone(), pre.clone());
    rt.spawn(async move {
        let (mut store, instance) = raw_start(&engine2, &pre2).await;
        while let Some((req, reply)) = rx.recv().await {
            let out = instance
                .airssys_core_lifecycle()
                .call_handle_request(&mut store, &req)
                .await
                .unwrap()
                .unwrap();
            let _ = reply.send(out);
        }
    });
    group.bench_function("raw_call_plus_channel", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (reply, answer) = oneshot::channel();
                tx.send((greet(), reply)).await.unwrap();
                answer.await.unwrap()
            })
        })
    });
    let (mut store, instance) = rt.block_on(raw_start(&engine, &pre));
    group.bench_function("raw_call", |b| {
        b.iter(|| {
            rt.block_on(
                instance
                    .airssys_core_lifecycle()
                    .call_handle_request(&mut store, &greet()),
            )
            .unwrap()
            .unwrap()
        })
    });
    let greeter = rt.block_on(prepared.start(LoadOptions::new())).unwrap();
    let payload = Payload::new("application/json", br#"{"name":"Ada"}"#.to_vec());
    group.bench_function("airssys", |b| {
        b.iter(|| {
            rt.block_on(greeter.request(black_box(payload.clone())))
                .unwrap()
        })
    });
    group.finish();

    // The cost of limits on a request round trip. airssys always runs with epoch deadlines
    // (`request/airssys` above); fuel metering is opt-in per host.
    let mut group = c.benchmark_group("limits");
    let fuel_host = Host::builder().fuel_metering(true).build().unwrap();
    let fuel_greeter = rt
        .block_on(async {
            let prepared = fuel_host
                .prepare(Source::bytes("hello", bytes.clone()))
                .await?;
            prepared
                .start(LoadOptions::new().limits(Limits::new().fuel(100_000_000)))
                .await
        })
        .unwrap();
    group.bench_function("epoch_deadline", |b| {
        b.iter(|| {
            rt.block_on(greeter.request(black_box(payload.clone())))
                .unwrap()
        })
    });
    group.bench_function("epoch_deadline_and_fuel", |b| {
        b.iter(|| {
            rt.block_on(fuel_greeter.request(black_box(payload.clone())))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(roundtrip, benches);
criterion_main!(roundtrip);
