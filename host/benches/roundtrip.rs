//! airssys against raw wasmtime on the same component, in one run.
//!
//! The baseline is what an embedder would write by hand: one engine, a linker with WASI and
//! the airssys host interface, `InstancePre`, typed async calls, and (for requests) a tokio
//! channel hop to the task owning the store, since airssys serves each instance from a task.
//!
//! Run: `cargo bench -p airssys-host --bench roundtrip`; results go in docs/benchmarks.md.

mod common;

use std::hint::black_box;
use std::time::Duration;

use airssys_host::{Allocator, Host, Limits, LoadOptions, Payload, Source};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use wasmtime::Engine;
use wasmtime::component::Component;

use common::raw::airssys::core::types;
use common::{hello_wasm, raw_linker, raw_pooling_engine, raw_pre, raw_start};

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

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let bytes = hello_wasm();
    let engine = Engine::default();
    let linker = raw_linker(&engine);
    let component = Component::from_binary(&engine, &bytes).unwrap();
    let pre = raw_pre(&engine, &bytes);
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
            common::raw::ComponentPre::new(linker.instantiate_pre(&component).unwrap()).unwrap()
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

    // Start and stop an instance: instantiate, init, shutdown, drop. airssys also registers
    // the address and parks the instance's actor; teardown is included on both sides so
    // neither defers work. On a current-thread runtime every task runs on the caller's
    // thread, which isolates the work from cross-thread wake-ups. The pooling pair runs
    // both sides on wasmtime's pooling allocator.
    let local = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pooling_engine = raw_pooling_engine();
    let pooling_pre = raw_pre(&pooling_engine, &bytes);
    let pooling_host = Host::builder()
        .allocator(Allocator::Pooling)
        .build()
        .unwrap();
    let pooling_prepared = rt
        .block_on(pooling_host.prepare(Source::bytes("hello", bytes.clone())))
        .unwrap();
    let cases = [
        ("instantiate", &rt, &engine, &pre, &prepared),
        (
            "instantiate_current_thread",
            &local,
            &engine,
            &pre,
            &prepared,
        ),
        (
            "instantiate_pooling",
            &rt,
            &pooling_engine,
            &pooling_pre,
            &pooling_prepared,
        ),
    ];
    for (name, runtime, engine, pre, prepared) in cases {
        let mut group = c.benchmark_group(name);
        group.bench_function("raw", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let (mut store, instance) = raw_start(engine, pre).await;
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
