//! Requests per second through the server, against bare hyper, in one run, all over real
//! loopback HTTP/1.1 with keep-alive clients ([`CONNECTIONS`] at once).
//!
//! - `json`: `POST /components/hello` through the ingress to the greeter (`examples/hello`:
//!   parse `{"name"}`, count, answer `{"text", "count"}` as JSON), against a bare hyper
//!   handler doing the same JSON work natively.
//! - `wasi_http`: `GET /hello` on a `wasi:http` route to `tests/fixtures/http-hello`, against
//!   the same component hosted as `wasmtime serve` does (hyper, `wasmtime-wasi-http`, a fresh
//!   instance per request from a `ProxyPre`).
//!
//! Criterion reports the time per request; requests per second is its inverse (it prints
//! both, as `thrpt`).
//!
//! Run: `cargo bench -p airssys-host --bench ingress`; results go in docs/benchmarks.md.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airssys_host::{Capabilities, CapabilityKind, Host, LoadOptions, Server, ServerSettings};
use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self as client, SendRequest};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Keep-alive client connections sending at once.
const CONNECTIONS: usize = 8;
const GREET: &[u8] = br#"{"name":"Ada"}"#;

#[derive(serde::Deserialize)]
struct Greet {
    name: String,
}

#[derive(serde::Serialize)]
struct Greeting {
    text: String,
    count: u64,
}

/// Serves each connection `listener` accepts with `handle`, in a task of its own.
fn serve<F, R>(rt: &Runtime, listener: TcpListener, handle: F)
where
    F: Fn(Request<hyper::body::Incoming>) -> R + Clone + Send + Sync + 'static,
    R: Future<Output = Response<Body>> + Send + 'static,
{
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handle = handle.clone();
                    async move { Ok::<_, Infallible>(handle(request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// The baseline: hyper and serde_json, nothing else.
fn bare_hyper(rt: &Runtime) -> SocketAddr {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    serve(rt, listener, move |request| {
        let count = count.clone();
        async move {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let greet: Greet = serde_json::from_slice(&body).unwrap();
            let reply = serde_json::to_vec(&Greeting {
                text: format!("Hello, {}!", greet.name),
                count: count.fetch_add(1, Ordering::Relaxed) + 1,
            })
            .unwrap();
            Response::builder()
                .header("content-type", "application/json")
                .body(
                    Full::new(Bytes::from(reply))
                        .map_err(|never| match never {})
                        .boxed_unsync(),
                )
                .unwrap()
        }
    });
    addr
}

/// `wasmtime serve`'s way: a fresh instance of the proxy component per request.
struct Serve {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for Serve {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Serve {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

fn wasmtime_serve(rt: &Runtime, wasm: &[u8]) -> SocketAddr {
    let engine = Engine::default();
    let component = Component::from_binary(&engine, wasm).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
    let pre = ProxyPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    serve(rt, listener, move |request| {
        let pre = pre.clone();
        async move {
            let mut store = Store::new(
                pre.engine(),
                Serve {
                    wasi: WasiCtx::builder().build(),
                    http: WasiHttpCtx::new(),
                    table: ResourceTable::new(),
                },
            );
            let (sender, receiver) = tokio::sync::oneshot::channel();
            let request = store
                .data_mut()
                .http()
                .new_incoming_request(Scheme::Http, request)
                .unwrap();
            let out = store
                .data_mut()
                .http()
                .new_response_outparam(sender)
                .unwrap();
            tokio::spawn(async move {
                let proxy = pre.instantiate_async(&mut store).await.unwrap();
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, request, out)
                    .await
                    .unwrap();
            });
            let response: Response<HyperOutgoingBody> = receiver.await.unwrap().unwrap();
            response.map(|body| body.map_err(|err| Box::new(err) as BoxError).boxed_unsync())
        }
    });
    addr
}

/// airssys: the greeter at `hello` (one instance per core) and the proxy component on
/// `/hello`, behind one server.
fn airssys(rt: &Runtime) -> (Host, SocketAddr) {
    let host = Host::new().unwrap();
    let instances = std::thread::available_parallelism().map_or(2, |n| n.get());
    rt.block_on(async {
        host.load_with(
            common::guest_path("examples/hello"),
            LoadOptions::new().address("hello").instances(instances),
        )
        .await
        .unwrap();
        host.load_with(
            common::guest_path("tests/fixtures/http-hello"),
            LoadOptions::new()
                .address("http-hello")
                .instances(instances),
        )
        .await
        .unwrap();
    });
    let mut reach = Capabilities::default();
    reach.add(CapabilityKind::Message, "hello").unwrap();
    let settings = ServerSettings::new()
        .address("127.0.0.1:0".parse().unwrap())
        .grants(reach)
        .unwrap()
        .route("/hello", "http-hello");
    let server = rt.block_on(Server::bind(&host, settings)).unwrap();
    let addr = server.local_addr();
    rt.spawn(server.serve(std::future::pending()));
    (host, addr)
}

/// Keep-alive connections to one server, lent to each batch of requests.
struct Clients {
    senders: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Clients {
    fn connect(rt: &Runtime, addr: SocketAddr) -> Arc<Self> {
        let senders = rt.block_on(async {
            let mut senders = Vec::new();
            for _ in 0..CONNECTIONS {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (sender, connection) = client::handshake(TokioIo::new(stream)).await.unwrap();
                tokio::spawn(connection);
                senders.push(sender);
            }
            senders
        });
        Arc::new(Self {
            senders: Mutex::new(senders),
        })
    }

    /// Sends `total` requests (`method path` with `body`), spread over the connections, each
    /// sending its share one after another; the time they took.
    async fn send(self: &Arc<Self>, total: u64, method: &str, path: &str, body: &[u8]) -> Duration {
        let senders = std::mem::take(&mut *self.senders.lock().unwrap());
        let each = total.div_ceil(senders.len() as u64);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for mut sender in senders {
            let request = move || {
                Request::builder()
                    .method(method)
                    .uri(path)
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::copy_from_slice(body)))
                    .unwrap()
            };
            let requests: Vec<_> = (0..each).map(|_| request()).collect();
            tasks.push(tokio::spawn(async move {
                for request in requests {
                    sender.ready().await.unwrap();
                    let response = sender.send_request(request).await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.into_body().collect().await.unwrap();
                }
                sender
            }));
        }
        let mut senders = Vec::new();
        for task in tasks {
            senders.push(task.await.unwrap());
        }
        let took = started.elapsed();
        *self.senders.lock().unwrap() = senders;
        // Per request actually sent, so `total` not divisible by the connections is fair.
        took.mul_f64(total as f64 / (each * CONNECTIONS as u64) as f64)
    }
}

fn benches(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (_host, airssys_addr) = airssys(&rt);
    let bare_addr = bare_hyper(&rt);
    let serve_addr = wasmtime_serve(&rt, &common::guest_wasm("tests/fixtures/http-hello"));
    // Each side's connections open just before it runs: a server closes a connection that
    // sends no request head for `HEADER_TIMEOUT` (10 s), as the airssys one does.
    let side = |group: &mut BenchmarkGroup<'_, WallTime>, name, addr, method, path, body| {
        let clients = Clients::connect(&rt, addr);
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter_custom(|n| clients.send(n, method, path, body))
        });
    };

    let mut group = c.benchmark_group("json");
    group.throughput(Throughput::Elements(1));
    side(&mut group, "bare_hyper", bare_addr, "POST", "/", GREET);
    side(
        &mut group,
        "airssys_ingress",
        airssys_addr,
        "POST",
        "/components/hello",
        GREET,
    );
    group.finish();

    let mut group = c.benchmark_group("wasi_http");
    group.throughput(Throughput::Elements(1));
    side(
        &mut group,
        "wasmtime_serve",
        serve_addr,
        "GET",
        "/hello",
        b"",
    );
    side(
        &mut group,
        "airssys_route",
        airssys_addr,
        "GET",
        "/hello",
        b"",
    );
    group.finish();
}

criterion_group!(ingress, benches);
criterion_main!(ingress);
