//! `wasi:http` components on their routes, through wasmtime's own wasi:http: a proxy-world
//! component built without the airssys SDK (`tests/fixtures/http-hello`, the `wasip2`
//! crate's bindings) under the same registry, limits, capabilities and supervision.

use std::time::Duration;

use airssys_host::{
    Capabilities, CapabilityKind, ComponentKind, Host, Limits, LoadOptions, Mode, Server,
    ServerSettings, inspect_file,
};
use airssys_tests::http::{Client, metric};
use airssys_tests::{LoopbackServer, guest};
use tokio::sync::oneshot;

const HELLO: &str = "tests/fixtures/http-hello";

#[test]
fn a_proxy_component_is_told_apart_and_named_after_its_file() {
    let inspection = inspect_file(guest(HELLO)).unwrap();
    assert_eq!(inspection.kind, ComponentKind::HttpProxy);
    assert!(!inspection.declared, "built without the SDK: no manifest");
    assert!(
        inspection.world.starts_with("wasi:http/proxy@0.2."),
        "{}",
        inspection.world
    );
    assert_eq!(inspection.manifest.name(), "http-hello");
    assert_eq!(inspection.manifest.version().to_string(), "0.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_components_serve_their_routes_under_the_hosts_limits_grants_and_supervision() {
    let upstream = LoopbackServer::start("127.0.0.1");
    let host = Host::builder().mode(Mode::Strict).build().unwrap();
    let mut net = Capabilities::default();
    net.add(CapabilityKind::Net, &upstream.addr.to_string())
        .unwrap();
    let options = LoadOptions::new()
        .address("hello")
        .grants(net)
        .limits(Limits::default().call_timeout(Duration::from_secs(1)));
    host.load_with(guest(HELLO), options).await.unwrap();
    // An airssys component given a route by mistake.
    host.load_with(
        guest("tests/fixtures/minimal"),
        LoadOptions::new().address("plain"),
    )
    .await
    .unwrap();
    let mut reach = Capabilities::default();
    reach.add(CapabilityKind::Message, "*").unwrap();

    let settings = ServerSettings::new()
        .address("127.0.0.1:0".parse().unwrap())
        .max_body(1024)
        .grants(reach)
        .unwrap()
        .route("/hello", "hello")
        .route("/plain", "plain");
    let server = Server::bind(&host, settings).await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let mut client = Client::connect(addr).await.unwrap();

    let hello = client.get("/hello").await;
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, "hello from wasi:http")
    );
    assert_eq!(hello.header("content-type"), Some("text/plain"));

    let echo = client
        .send("POST", "/hello/echo?x=1", &[], "a body")
        .await
        .unwrap();
    assert_eq!(
        (echo.status, echo.text().as_str()),
        (200, "POST /hello/echo\na body")
    );

    let streamed = client.get("/hello/stream?kb=2048").await;
    assert_eq!((streamed.status, streamed.body.len()), (200, 2048 * 1024));

    let too_big = client
        .send("POST", "/hello/echo", &[], vec![b'x'; 2048])
        .await
        .unwrap();
    assert_eq!(
        (too_big.status, too_big.error_kind().as_str()),
        (413, "payload_too_large")
    );

    // Outgoing requests go through the gate: granted, and not.
    let fetched = client
        .get(&format!("/hello/fetch?url=http://{}/hello", upstream.addr))
        .await;
    assert_eq!((fetched.status, fetched.text().as_str()), (200, "hello"));
    let other = format!("127.0.0.2:{}", upstream.addr.port());
    let refused = client
        .get(&format!("/hello/fetch?url=http://{other}/hello"))
        .await;
    assert_eq!(refused.status, 502);
    assert!(
        refused.text().contains("HttpRequestDenied"),
        "{}",
        refused.text()
    );

    // A trap fails that request; supervision restarts the instance for the next.
    let mut fresh = Client::connect(addr).await.unwrap();
    let trapped = fresh.get("/hello/panic").await;
    assert_eq!(
        (trapped.status, trapped.error_kind().as_str()),
        (502, "trap")
    );
    // Without the SDK's panic hook, a Rust panic is a plain `unreachable`.
    assert!(trapped.text().contains("unreachable"), "{}", trapped.text());
    let slow = fresh.get("/hello/sleep?ms=3000").await;
    assert_eq!((slow.status, slow.error_kind().as_str()), (502, "trap"));
    assert!(slow.text().contains("deadline"), "{}", slow.text());
    let nothing = fresh.get("/hello/nothing").await;
    assert_eq!(
        (nothing.status, nothing.error_kind().as_str()),
        (502, "no_response")
    );
    let again = fresh.get("/hello").await;
    assert_eq!(again.status, 200);

    let wrong_way = fresh
        .post_json("/components/hello", &serde_json::json!({}))
        .await;
    assert_eq!(
        (wrong_way.status, wrong_way.error_kind().as_str()),
        (501, "not_served")
    );
    let not_proxy = fresh.get("/plain/x").await;
    assert_eq!(
        (not_proxy.status, not_proxy.error_kind().as_str()),
        (501, "not_served")
    );

    let text = fresh.get("/metrics").await.text();
    let calls = |outcome: &str| {
        metric(
            &text,
            "airssys_calls_total",
            &[("address", "hello"), ("kind", "http"), ("outcome", outcome)],
        )
    };
    assert_eq!(calls("ok"), 7.0, "{text}");
    assert_eq!(calls("trap"), 2.0);
    assert_eq!(calls("error"), 0.0);
    let denials = metric(
        &text,
        "airssys_denials_total",
        &[("address", "hello"), ("capability", "net")],
    );
    assert_eq!(denials, 1.0);
    assert_eq!(
        metric(
            &text,
            "airssys_traps_total",
            &[("address", "hello"), ("kind", "deadline")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "airssys_ingress_requests_total",
            &[("route", "wasi_http"), ("status", "200")]
        ),
        5.0
    );

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
