//! Density: how much memory an idle instance costs and how fast instances start, 1,000 of
//! `examples/hello` on one host, against raw wasmtime, with and without the pooling
//! allocator.
//!
//! - Memory per idle instance: the process's resident memory (`VmRSS`) with 1,000 started
//!   (each through `init`, then idle) minus before, over 1,000. Each configuration is
//!   measured in a child process of its own, so memory one gave back cannot flatter the next.
//! - Instances started per second: criterion times starting 1,000 (stopping them is not
//!   timed); 1,000 over the time is the rate.
//!
//! Run: `cargo bench -p airssys-host --bench density`; results go in docs/benchmarks.md.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use airssys_host::{Allocator, ComponentHandle, Host, LoadOptions, Prepared, Source};
use common::raw::{self, Component as RawComponent};
use common::{RawState, hello_wasm, raw_pooling_engine, raw_pre, raw_start};
use criterion::Criterion;
use tokio::runtime::Runtime;
use wasmtime::{Engine, Store};

const INSTANCES: usize = 1_000;
const CONFIGURATIONS: [&str; 4] = ["raw", "raw_pooling", "airssys", "airssys_pooling"];
/// Set in a child process: the configuration whose memory it measures.
const CHILD: &str = "AIRSSYS_DENSITY_CHILD";

/// What instances are started from.
enum Setup {
    Raw(Engine, raw::ComponentPre<RawState>),
    /// A prepared component keeps its host.
    Airssys(Prepared),
}

/// Started, idle instances.
enum Running {
    Raw(Vec<(Store<RawState>, RawComponent)>),
    Airssys(Vec<ComponentHandle>),
}

impl Setup {
    fn new(name: &str, bytes: &[u8], rt: &Runtime) -> Self {
        let airssys = |allocator| {
            let host = Host::builder()
                .allocator(allocator)
                .max_instances(INSTANCES)
                .build()
                .unwrap();
            let prepared = rt
                .block_on(host.prepare(Source::bytes("hello", bytes.to_vec())))
                .unwrap();
            Self::Airssys(prepared)
        };
        match name {
            "raw" => {
                let engine = Engine::default();
                let pre = raw_pre(&engine, bytes);
                Self::Raw(engine, pre)
            }
            "raw_pooling" => {
                let engine = raw_pooling_engine();
                let pre = raw_pre(&engine, bytes);
                Self::Raw(engine, pre)
            }
            "airssys" => airssys(Allocator::OnDemand),
            "airssys_pooling" => airssys(Allocator::Pooling),
            other => panic!("no configuration {other}"),
        }
    }

    async fn start(&self, count: usize) -> Running {
        match self {
            Self::Raw(engine, pre) => {
                let mut running = Vec::with_capacity(count);
                for _ in 0..count {
                    running.push(raw_start(engine, pre).await);
                }
                Running::Raw(running)
            }
            Self::Airssys(prepared) => {
                let mut running = Vec::with_capacity(count);
                for i in 0..count {
                    let options = LoadOptions::new().address(format!("greeter-{i}"));
                    running.push(prepared.start(options).await.unwrap());
                }
                Running::Airssys(running)
            }
        }
    }
}

impl Running {
    async fn stop(self) {
        match self {
            Self::Raw(running) => {
                for (mut store, instance) in running {
                    let lifecycle = instance.airssys_core_lifecycle();
                    lifecycle.call_shutdown(&mut store).await.unwrap();
                }
            }
            Self::Airssys(running) => {
                for handle in running {
                    handle.shutdown().await.unwrap();
                }
            }
        }
    }
}

/// The process's resident memory, in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// In a child process: the resident memory 1,000 idle instances of `name` add, per instance.
fn measure_memory(name: &str) {
    let rt = Runtime::new().unwrap();
    let setup = Setup::new(name, &hello_wasm(), &rt);
    // Warm up: lazily made code and memory images are not per-instance costs.
    rt.block_on(async { setup.start(10).await.stop().await });
    let before = resident();
    let running = rt.block_on(setup.start(INSTANCES));
    let per_instance = resident().saturating_sub(before) / INSTANCES as u64;
    println!("{per_instance}");
    rt.block_on(running.stop());
}

fn main() {
    if let Ok(name) = std::env::var(CHILD) {
        return measure_memory(&name);
    }
    for name in CONFIGURATIONS {
        let out = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, name)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        println!(
            "density/memory_per_idle_instance/{name}: {:.1} KiB",
            bytes as f64 / 1024.0
        );
    }

    let mut c = Criterion::default().configure_from_args();
    let rt = Runtime::new().unwrap();
    let bytes = hello_wasm();
    let mut group = c.benchmark_group("density_start_1000");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for name in CONFIGURATIONS {
        let setup = Setup::new(name, &bytes, &rt);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let running = rt.block_on(setup.start(INSTANCES));
                    elapsed += started.elapsed();
                    rt.block_on(running.stop());
                }
                elapsed
            })
        });
    }
    group.finish();
    c.final_summary();
}
