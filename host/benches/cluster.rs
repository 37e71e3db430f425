//! Across hosts on one nats-server, against raw async-nats, in one run.
//!
//! - `request`: the embedder of host A asks the greeter (`examples/hello`) on host B, one
//!   request at a time; the baseline is a raw async-nats request/reply between two plain
//!   tasks on two connections, the same bytes each way, without a guest;
//! - `send`: component A (`tests/fixtures/messenger`) sends 1,000 messages to component B
//!   on the other host, each acknowledged once queued there (so it fails as it would in
//!   process); the baseline is 1,000 raw requests answered at once.
//!
//! nats-server is the one on `PATH`, or the one the cluster tests install into
//! `target/tools/nats-server/bin/` (run `cargo test -p airssys-tests --test all -- cluster::`
//! once). Run: `cargo bench -p airssys-host --bench cluster`; results go in
//! docs/benchmarks.md.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airssys_host::{
    Capabilities, CapabilityKind, Cluster, ClusterConfig, Host, LoadOptions, Payload, Source,
};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tokio::runtime::Runtime;

use common::{guest_wasm, hello_wasm};

const SENDS: u64 = 1_000;

/// A nats-server on a free loopback port, killed when dropped.
struct Nats {
    child: Child,
    url: String,
}

impl Nats {
    fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let installed = root.join("target/tools/nats-server/bin/nats-server");
        let binary = if installed.exists() {
            installed
        } else {
            PathBuf::from("nats-server")
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start {} ({err}): put nats-server on PATH, or run the cluster tests once to install it",
                    binary.display()
                )
            });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn grants(kind: CapabilityKind, pattern: &str) -> Capabilities {
    let mut grants = Capabilities::default();
    grants.add(kind, pattern).unwrap();
    grants
}

/// Everything the messenger fixture declares (strict hosts refuse less): the bench measures
/// delivery, not the gate.
fn messenger_grants() -> Capabilities {
    let mut all = grants(CapabilityKind::Message, "*");
    all.add(CapabilityKind::Publish, ">").unwrap();
    all.add(CapabilityKind::Subscribe, ">").unwrap();
    all
}

async fn host(nats: &Nats, name: &str, remote: &[(&str, Capabilities)]) -> Host {
    let mut config = ClusterConfig::new([nats.url.as_str()], "bench")
        .unwrap()
        .host_name(name);
    for (sender, granted) in remote {
        config = config.remote(*sender, granted.clone()).unwrap();
    }
    Host::builder()
        .cluster(Cluster::connect(config).await.unwrap())
        .build()
        .unwrap()
}

/// Waits until `host` hears that `peer` runs `address`.
async fn sees(host: &Host, address: &str) {
    while !host
        .peers()
        .iter()
        .any(|p| p.components.iter().any(|c| c.address == address))
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let nats = Nats::start();
    let hello = hello_wasm();
    let messenger = guest_wasm("tests/fixtures/messenger");
    let greeting = Payload::json(&json!({ "name": "Ada" })).unwrap();

    let (a, _b, sender) = rt.block_on(async {
        let a = host(&nats, "host-a", &[]).await;
        let b = host(
            &nats,
            "host-b",
            &[
                ("@host", grants(CapabilityKind::Message, "hello")),
                ("sender", grants(CapabilityKind::Message, "sink")),
            ],
        )
        .await;
        b.load(Source::bytes("hello", hello.clone())).await.unwrap();
        b.load_with(
            Source::bytes("messenger", messenger.clone()),
            LoadOptions::new()
                .address("sink")
                .grants(messenger_grants()),
        )
        .await
        .unwrap();
        let sender = a
            .load_with(
                Source::bytes("messenger", messenger.clone()),
                LoadOptions::new()
                    .address("sender")
                    .grants(messenger_grants()),
            )
            .await
            .unwrap();
        sees(&a, "hello").await;
        sees(&a, "sink").await;
        (a, b, sender)
    });

    // The baseline: a responder task on its own connection echoing a fixed reply.
    let (requester, responder) = rt.block_on(async {
        let requester = async_nats::connect(&nats.url).await.unwrap();
        let responder = async_nats::connect(&nats.url).await.unwrap();
        let mut requests = responder.subscribe("bench.raw").await.unwrap();
        let replying = responder.clone();
        let reply = Bytes::from_static(br#"{"greeting":"Hello, Ada!"}"#);
        let task = tokio::spawn(async move {
            use futures_core::Stream;
            while let Some(message) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut requests).poll_next(cx)).await
            {
                if let Some(to) = message.reply {
                    replying.publish(to, reply.clone()).await.unwrap();
                }
            }
        });
        responder.flush().await.unwrap();
        (requester, task)
    });
    let body = Bytes::copy_from_slice(greeting.body());

    let mut group = c.benchmark_group("cluster_request");
    group.bench_function("raw_nats", |bench| {
        bench
            .to_async(&rt)
            .iter(|| async { requester.request("bench.raw", body.clone()).await.unwrap() })
    });
    group.bench_function("airssys", |bench| {
        bench.to_async(&rt).iter(|| async {
            a.request("hello", greeting.clone(), Duration::from_secs(5))
                .await
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("cluster_send");
    group.throughput(Throughput::Elements(SENDS));
    group.sample_size(10);
    group.bench_function("raw_nats", |bench| {
        bench.to_async(&rt).iter(|| async {
            for _ in 0..SENDS {
                requester.request("bench.raw", body.clone()).await.unwrap();
            }
        })
    });
    let op = json!({ "op": "send", "to": "sink", "count": SENDS, "timeout_ms": 5000 });
    group.bench_function("airssys", |bench| {
        bench.to_async(&rt).iter(|| async {
            let reply: serde_json::Value = sender.request_json(&op).await.unwrap();
            assert_eq!(reply["sent"], SENDS, "{reply}");
        })
    });
    group.finish();
    responder.abort();
}

criterion_group!(cluster, benches);
criterion_main!(cluster);
