//! Storage on NATS JetStream against raw async-nats key-value calls on the same server, in one
//! run. A loopback nats-server with JetStream is started for the run (the one on `PATH`, or
//! `target/tools/nats-server/bin/nats-server`, which the test suite installs from PyPI).
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

use std::hint::black_box;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airssys_host::ClusterConfig;
use airssys_host::storage::{Expect, Namespace, Storage};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Operations per iteration.
const OPS: u32 = 10;
const VALUE: [u8; 100] = [7; 100];

/// A nats-server with JetStream on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    _store: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let binary = binary();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let store = tempfile::tempdir().expect("temporary directory");
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting {}: {err}", binary.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            _store: store,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    let on_path = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if on_path {
        return "nats-server".into();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tools/nats-server/bin/nats-server");
    assert!(
        installed.exists(),
        "no nats-server: put one on PATH, or run the NATS tests once \
         (`cargo test -p airssys-tests --test all -- storage_nats::`), which install it"
    );
    installed
}

async fn connect(server: &Server) -> async_nats::Client {
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

fn benches(c: &mut Criterion) {
    let server = Server::start();
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

    let mut group = c.benchmark_group("nats_get");
    group.throughput(Throughput::Elements(OPS.into()));
    group.bench_function("raw_kv_entry", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(raw.entry("k").await.expect("entry"));
                }
            })
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(ns.get("k").await.expect("get"));
                }
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("nats_set");
    group.throughput(Throughput::Elements(OPS.into()));
    group.bench_function("raw_kv_put", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(raw.put("k", Bytes::from_static(&VALUE)).await.expect("put"));
                }
            })
        });
    });
    group.bench_function("raw_kv_entry_then_update", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    let revision = raw.entry("k").await.expect("entry").expect("k").revision;
                    let value = Bytes::from_static(&VALUE);
                    black_box(raw.update("k", value, revision).await.expect("update"));
                }
            })
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(ns.set("k", VALUE.to_vec()).await.expect("set"));
                }
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("nats_cas");
    group.throughput(Throughput::Elements(OPS.into()));
    group.bench_function("raw_kv_entry_then_update", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    let revision = raw.entry("k").await.expect("entry").expect("k").revision;
                    let value = Bytes::from_static(&VALUE);
                    black_box(raw.update("k", value, revision).await.expect("update"));
                }
            })
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    let revision = ns.entry("k").await.expect("entry").expect("k").revision;
                    let swapped = ns
                        .compare_and_swap(
                            "k",
                            Expect::Revision(revision),
                            Some(VALUE.to_vec().into()),
                        )
                        .await
                        .expect("swap");
                    black_box(swapped);
                }
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("nats_increment");
    group.throughput(Throughput::Elements(OPS.into()));
    group.bench_function("raw_kv_read_update_loop", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(raw_increment(&raw, "n").await);
                }
            })
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..OPS {
                    black_box(ns.increment("n", 1).await.expect("increment"));
                }
            })
        });
    });
    group.finish();
}

criterion_group!(storage_nats, benches);
criterion_main!(storage_nats);
