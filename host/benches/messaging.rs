//! Components talking, against the same work done by hand, in one run.
//!
//! Both sides run the same guest (`tests/fixtures/messenger`). The baseline is what an
//! embedder would write without airssys (`common/mod.rs`): raw wasmtime instances, each owned
//! by a task that serves a tokio channel, with `airssys:core/messaging` implemented by sending
//! into the target's channel (and, for a request, awaiting a oneshot). No deadlines,
//! capability checks, routing or counters: only the work itself.
//!
//! - `c2c_request`: component A makes 1,000 requests to component B in one call;
//! - `c2c_send`: A sends 20,000 messages to B, then asks B something (which queues behind
//!   them), so every message has been handled when the iteration ends;
//! - `host_to_1000`: the embedder sends 20,000 messages round-robin over 1,000 instances and
//!   waits until all are handled.
//!
//! Run: `cargo bench -p airssys-host --bench messaging`; results go in docs/benchmarks.md.

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, Host, LoadOptions, Payload, Source,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use wasmtime::Engine;

use common::raw::{self, airssys::core::types};
use common::{Peers, RawCall, RawState, guest_wasm, raw_pre, raw_start_with};

const REQUESTS: u64 = 1_000;
const MESSAGES: u64 = 20_000;
const INSTANCES: usize = 1_000;
/// How often `host_to_1000` checks whether everything was handled, on both sides (airssys
/// sums 1,000 instances' counters, which costs about as much as a few messages).
const POLL: Duration = Duration::from_millis(1);

/// Raw instances of one component, each owned by a task that serves a channel of 64 calls,
/// like an airssys mailbox.
struct Raw {
    engine: Engine,
    pre: raw::ComponentPre<RawState>,
}

impl Raw {
    fn new(bytes: &[u8]) -> Self {
        let engine = Engine::default();
        let pre = raw_pre(&engine, bytes);
        Self { engine, pre }
    }

    /// Starts one task per name; returns their channels, and a count of messages handled.
    fn spawn(&self, rt: &Runtime, names: &[String]) -> (Peers, Arc<AtomicU64>) {
        let mut peers = HashMap::new();
        let mut inboxes = Vec::new();
        for name in names {
            let (tx, rx) = mpsc::channel(64);
            peers.insert(name.clone(), tx);
            inboxes.push((name.clone(), rx));
        }
        let peers = Arc::new(peers);
        let handled = Arc::new(AtomicU64::new(0));
        for (name, mut inbox) in inboxes {
            let state = RawState::new(&name, peers.clone());
            let (engine, pre, handled) = (self.engine.clone(), self.pre.clone(), handled.clone());
            rt.spawn(async move {
                let (mut store, instance) = raw_start_with(&engine, &pre, state).await;
                let guest = instance.airssys_core_lifecycle();
                while let Some(call) = inbox.recv().await {
                    match call {
                        RawCall::Request(request, reply) => {
                            let out = guest
                                .call_handle_request(&mut store, &request)
                                .await
                                .unwrap()
                                .unwrap();
                            let _ = reply.send(out);
                        }
                        RawCall::Message(message) => {
                            let _ = guest
                                .call_handle_message(&mut store, &message)
                                .await
                                .unwrap();
                            handled.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        (peers, handled)
    }
}

/// Asks a raw instance, as the embedder would.
async fn raw_ask(peer: &mpsc::Sender<RawCall>, op: &Value) -> Value {
    let request = types::Request {
        source: None,
        correlation_id: 0,
        timestamp: types::Datetime {
            seconds: 0,
            nanoseconds: 0,
        },
        payload: types::Payload {
            content_type: "application/json".into(),
            body: serde_json::to_vec(op).unwrap(),
        },
    };
    let (reply, answer) = oneshot::channel();
    peer.send(RawCall::Request(request, reply)).await.unwrap();
    serde_json::from_slice(&answer.await.unwrap().body).unwrap()
}

async fn ask(component: &ComponentHandle, op: &Value) -> Value {
    component.request_json(op).await.unwrap()
}

fn may_message(address: &str) -> LoadOptions {
    let mut grants = Capabilities::default();
    grants.add(CapabilityKind::Message, address).unwrap();
    LoadOptions::new().grants(grants)
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let bytes = guest_wasm("tests/fixtures/messenger");
    let baseline = Raw::new(&bytes);
    // Permissive: the messenger declares more than these benchmarks grant.
    let host = Host::builder()
        .mode(airssys_host::Mode::Permissive)
        .max_instances(INSTANCES + 2)
        .build()
        .unwrap();
    let prepared = rt
        .block_on(host.prepare(Source::bytes("messenger", bytes)))
        .unwrap();
    let start = |address: &str, options: LoadOptions| {
        rt.block_on(prepared.start(options.address(address)))
            .unwrap()
    };
    let a = start("a", may_message("b"));
    let b = start("b", LoadOptions::new());
    let names = ["a".to_owned(), "b".to_owned()];
    let (peers, handled) = baseline.spawn(&rt, &names);

    let mut group = c.benchmark_group("c2c_request");
    group.throughput(Throughput::Elements(REQUESTS));
    let op = json!({ "op": "request", "to": "b", "body": { "op": "echo" },
                     "timeout_ms": 60000, "times": REQUESTS });
    group.bench_function("raw", |bench| {
        bench.iter(|| rt.block_on(raw_ask(&peers["a"], black_box(&op))))
    });
    group.bench_function("airssys", |bench| {
        bench.iter(|| rt.block_on(ask(&a, black_box(&op))))
    });
    group.finish();

    let mut group = c.benchmark_group("c2c_send");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(20);
    let flood = json!({ "op": "send", "to": "b", "count": MESSAGES, "timeout_ms": 60000 });
    let tally = json!({ "op": "tally" });
    group.bench_function("raw", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let sent = raw_ask(&peers["a"], &flood).await;
                assert_eq!(sent["sent"], MESSAGES);
                raw_ask(&peers["b"], &tally).await
            })
        })
    });
    group.bench_function("airssys", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let sent = ask(&a, &flood).await;
                assert_eq!(sent["sent"], MESSAGES);
                ask(&b, &tally).await
            })
        })
    });
    group.finish();

    // The embedder to many instances: the same message to each in turn.
    let addresses: Vec<String> = (0..INSTANCES).map(|i| format!("m{i}")).collect();
    let many: Vec<ComponentHandle> = addresses
        .iter()
        .map(|address| start(address, LoadOptions::new()))
        .collect();
    let (raw_many, raw_handled) = baseline.spawn(&rt, &addresses);
    let raw_senders: Vec<&mpsc::Sender<RawCall>> = addresses.iter().map(|a| &raw_many[a]).collect();
    let body = 7u64.to_le_bytes();
    let mut group = c.benchmark_group("host_to_1000");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(20);
    group.bench_function("raw", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let target = raw_handled.load(Ordering::Relaxed) + MESSAGES;
                for i in 0..MESSAGES as usize {
                    let message = types::Message {
                        source: None,
                        topic: None,
                        timestamp: types::Datetime {
                            seconds: 0,
                            nanoseconds: 0,
                        },
                        payload: types::Payload {
                            content_type: "application/octet-stream".into(),
                            body: body.to_vec(),
                        },
                    };
                    let _ = raw_senders[i % INSTANCES]
                        .send(RawCall::Message(message))
                        .await;
                }
                while raw_handled.load(Ordering::Relaxed) < target {
                    tokio::time::sleep(POLL).await;
                }
            })
        })
    });
    let handled_by_many = || many.iter().map(|m| m.stats().messages).sum::<u64>();
    group.bench_function("airssys", |bench| {
        bench.iter(|| {
            rt.block_on(async {
                let target = handled_by_many() + MESSAGES;
                for i in 0..MESSAGES as usize {
                    host.send(&addresses[i % INSTANCES], Payload::bytes(body))
                        .await
                        .unwrap();
                }
                while handled_by_many() < target {
                    tokio::time::sleep(POLL).await;
                }
            })
        })
    });
    group.finish();
    drop(handled);
}

criterion_group!(messaging_benches, benches);
criterion_main!(messaging_benches);
