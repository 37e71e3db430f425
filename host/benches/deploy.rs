//! Deploys and restarts: how long from a deploy command until traffic reaches the new
//! version, and a rollback, with the new version already compiled (in memory), compiled on
//! disk only, or not compiled at all; and how long a host takes to start 10 components
//! with a warm on-disk cache against a cold one. The baseline, in the same run, is raw
//! wasmtime compiling the same 10 components against deserializing them.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use airssys_host::{DeployOptions, Host, LoadOptions, Mode, Source, Strategy};
use common::guest_wasm;
use criterion::Criterion;
use tokio::runtime::Runtime;
use wasmtime::Engine;
use wasmtime::component::Component;

/// Ten distinct components, so nothing of one is reused for another.
const TEN: [&str; 10] = [
    "examples/hello",
    "examples/counter",
    "examples/visits",
    "tests/fixtures/minimal",
    "tests/fixtures/tally",
    "tests/fixtures/tally-v2",
    "tests/fixtures/messenger",
    "tests/fixtures/keeper",
    "tests/fixtures/faults",
    "tests/fixtures/netter",
];

fn host(cache: Option<&Path>) -> Host {
    let builder = Host::builder().mode(Mode::Permissive);
    match cache {
        Some(dir) => builder.cache_dir(dir),
        None => builder,
    }
    .build()
    .unwrap()
}

/// Blue-green from whatever serves `tally` to `bytes`: (until the switch, until drained).
async fn swap(host: &Host, label: &str, bytes: &[u8]) -> (Duration, Duration) {
    let started = Instant::now();
    let report = host
        .deploy(
            "tally",
            Source::bytes(label, bytes.to_vec()),
            DeployOptions::new(Strategy::BlueGreen),
        )
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap();
    (report.switched_after, started.elapsed())
}

/// Starts every component of `ten` at its own address.
async fn start_ten(host: &Host, ten: &[Vec<u8>]) {
    for (n, bytes) in ten.iter().enumerate() {
        host.load_with(
            Source::bytes(TEN[n], bytes.clone()),
            LoadOptions::new().address(format!("c{n}")),
        )
        .await
        .unwrap();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = Runtime::new().unwrap();
    let v1 = guest_wasm("tests/fixtures/tally");
    let v2 = guest_wasm("tests/fixtures/tally-v2");
    let ten: Vec<Vec<u8>> = TEN.iter().map(|dir| guest_wasm(dir)).collect();

    let mut group = c.benchmark_group("deploy");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    // Both versions compiled in memory: every swap goes back and forth between them.
    let warm = host(None);
    rt.block_on(async {
        warm.load_with(
            Source::bytes("v1", v1.clone()),
            LoadOptions::new().address("tally"),
        )
        .await
        .unwrap();
        swap(&warm, "v2", &v2).await;
        swap(&warm, "v1", &v1).await;
    });
    for (name, to_traffic) in [
        ("blue_green_compiled_to_traffic", true),
        ("blue_green_compiled_drained", false),
    ] {
        group.bench_function(name, |b| {
            let mut flip = false;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    flip = !flip;
                    let (label, bytes) = if flip { ("v2", &v2) } else { ("v1", &v1) };
                    let (switched, took) = rt.block_on(swap(&warm, label, bytes));
                    total += if to_traffic { switched } else { took };
                }
                total
            })
        });
    }
    group.bench_function("rollback_to_traffic", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    warm.rollback("tally")
                        .await
                        .unwrap()
                        .outcome()
                        .await
                        .unwrap()
                        .switched_after
                });
            }
            total
        })
    });
    // The new version compiled by an earlier host, kept on disk: deserialized, not compiled.
    let disk = tempfile::tempdir().unwrap();
    rt.block_on(host(Some(disk.path())).prepare(Source::bytes("v2", v2.clone())))
        .unwrap();
    group.bench_function("blue_green_from_disk_cache_to_traffic", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let fresh = host(Some(disk.path()));
                total += rt.block_on(async {
                    fresh
                        .load_with(
                            Source::bytes("v1", v1.clone()),
                            LoadOptions::new().address("tally"),
                        )
                        .await
                        .unwrap();
                    swap(&fresh, "v2", &v2).await.0
                });
            }
            total
        })
    });
    group.bench_function("blue_green_uncompiled_to_traffic", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let fresh = host(None);
                total += rt.block_on(async {
                    fresh
                        .load_with(
                            Source::bytes("v1", v1.clone()),
                            LoadOptions::new().address("tally"),
                        )
                        .await
                        .unwrap();
                    swap(&fresh, "v2", &v2).await.0
                });
            }
            total
        })
    });
    group.finish();

    let mut group = c.benchmark_group("restart_10_components");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let cache = tempfile::tempdir().unwrap();
    rt.block_on(start_ten(&host(Some(cache.path())), &ten));
    group.bench_function("airssys_warm_disk_cache", |b| {
        b.iter(|| rt.block_on(start_ten(&host(Some(cache.path())), &ten)))
    });
    group.bench_function("airssys_cold", |b| {
        b.iter(|| rt.block_on(start_ten(&host(None), &ten)))
    });
    let engine = Engine::default();
    let compiled: Vec<Vec<u8>> = ten
        .iter()
        .map(|bytes| {
            Component::from_binary(&engine, bytes)
                .unwrap()
                .serialize()
                .unwrap()
        })
        .collect();
    group.bench_function("raw_wasmtime_deserialize_10", |b| {
        b.iter(|| {
            for bytes in &compiled {
                // SAFETY: the bytes were serialized just above by this engine.
                drop(unsafe { Component::deserialize(&engine, bytes) }.unwrap());
            }
        })
    });
    group.bench_function("raw_wasmtime_compile_10", |b| {
        b.iter(|| {
            for bytes in &ten {
                drop(Component::from_binary(&engine, bytes).unwrap());
            }
        })
    });
    group.finish();
    c.final_summary();
}
