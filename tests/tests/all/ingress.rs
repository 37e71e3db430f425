//! The server end to end, through a real HTTP client over loopback: each route, each error
//! status, oversized bodies and heads, many clients at once, a slow component beside fast
//! ones, `/health`, `/metrics` counting what was sent, and a deploy and a rollback of the
//! example app while many clients keep calling it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use airssys_host::{Capabilities, CapabilityKind, Host, Limits, LoadOptions, Mode, ServerSettings};
use airssys_tests::example_app::ExampleApp;
use airssys_tests::guest;
use airssys_tests::http::{Client, metric, post_json};
use airssys_tests::served::Served;
use serde_json::{Value, json};

use CapabilityKind::{Message, Publish, Subscribe};

const MESSENGER: &str = "tests/fixtures/messenger";

/// A host running messengers at `echo`, `slow` and `tiny` (requests of at most 64 bytes),
/// served with `settings`; the ingress may call those three and `ghost` (which does not
/// exist) and publish under `news.>`.
async fn messengers(settings: ServerSettings) -> Served {
    let host = Host::builder().mode(Mode::Permissive).build().unwrap();
    let mut granted = Capabilities::default();
    granted.add(Message, "*").unwrap();
    granted.add(Publish, ">").unwrap();
    granted.add(Subscribe, ">").unwrap();
    for (address, limits) in [
        ("echo", Limits::default()),
        ("slow", Limits::default()),
        ("tiny", Limits::default().max_payload(64)),
    ] {
        let options = LoadOptions::new()
            .address(address)
            .grants(granted.clone())
            .limits(limits);
        host.load_with(guest(MESSENGER), options).await.unwrap();
    }
    let mut reach = Capabilities::default();
    for address in ["echo", "slow", "tiny", "ghost"] {
        reach.add(Message, address).unwrap();
    }
    reach.add(Publish, "news.>").unwrap();
    Served::start(host, settings.grants(reach).unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_publishes_reach_components_and_failures_get_fitting_statuses() {
    let served =
        messengers(ServerSettings::new().request_timeout(Duration::from_millis(500))).await;

    let ok = served.post("/components/echo", json!({"op": "echo"})).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert_eq!(ok.json()["body"], json!({"op": "echo"}));
    assert_eq!(
        ok.json()["source"],
        Value::Null,
        "the ingress sends as the host"
    );

    let cases = [
        ("/components/ghost", json!({}), 404, "unknown_address"),
        ("/components/ledger", json!({}), 403, "denied"),
        (
            "/components/echo",
            json!({"op": "fail", "kind": "invalid-input", "message": "no"}),
            400,
            "invalid_input",
        ),
        (
            "/components/echo",
            json!({"op": "fail", "kind": "not-found", "message": "no"}),
            404,
            "not_found",
        ),
        (
            "/components/echo",
            json!({"op": "fail", "kind": "denied", "message": "no"}),
            403,
            "denied",
        ),
        (
            "/components/echo",
            json!({"op": "fail", "kind": "unavailable", "message": "no"}),
            503,
            "unavailable",
        ),
        (
            "/components/echo",
            json!({"op": "fail", "kind": "internal", "message": "no"}),
            500,
            "internal",
        ),
        ("/components/echo", json!({"op": "panic"}), 502, "trap"),
        (
            "/components/slow",
            json!({"op": "busy", "ms": 2000}),
            504,
            "timeout",
        ),
        (
            "/components/tiny",
            json!({"op": "echo", "pad": "x".repeat(100)}),
            413,
            "payload_too_large",
        ),
        ("/topics/private.x", json!({}), 403, "denied"),
        ("/topics/news..x", json!({}), 400, "invalid_topic"),
    ];
    for (path, body, status, kind) in cases {
        let reply = served.post(path, body.clone()).await;
        assert_eq!(reply.status, status, "{path} {body}: {}", reply.text());
        assert_eq!(reply.error_kind(), kind, "{path} {body}");
        assert!(
            !reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    // The trapped instance was replaced: the address answers again.
    let again = served.post("/components/echo", json!({"op": "echo"})).await;
    assert_eq!(again.status, 200, "{}", again.text());

    let mut client = served.client().await;
    let not_json = client
        .send("POST", "/components/echo", &[], "{not json")
        .await
        .unwrap();
    assert_eq!(
        (not_json.status, not_json.error_kind().as_str()),
        (400, "invalid_json")
    );
    let get = client.get("/components/echo").await;
    assert_eq!((get.status, get.header("allow")), (405, Some("POST")));
    let nowhere = client.get("/nowhere").await;
    assert_eq!(
        (nowhere.status, nowhere.error_kind().as_str()),
        (404, "no_route")
    );

    // A publish reaches every subscriber (each messenger subscribes to `>`).
    let published = served
        .post("/topics/news.local", json!({"headline": "hi"}))
        .await;
    assert_eq!(published.status, 202, "{}", published.text());
    assert_eq!(published.json(), json!({"delivered": 3, "missed": 0}));
    let received = served
        .post("/components/echo", json!({"op": "received"}))
        .await;
    assert_eq!(
        received.json()[0]["topic"],
        "news.local",
        "{}",
        received.text()
    );

    // A stopped component is unavailable, not missing.
    served.host.stop("tiny").await.unwrap();
    let stopped = served.post("/components/tiny", json!({"op": "echo"})).await;
    assert_eq!(
        (stopped.status, stopped.error_kind().as_str()),
        (503, "stopped")
    );
    assert_eq!(stopped.header("retry-after"), Some("1"));
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_heads_are_refused_before_anything_runs() {
    let settings = ServerSettings::new().max_body(1024).max_header(8 * 1024);
    let served = messengers(settings).await;
    let big = json!({"op": "echo", "pad": "x".repeat(2000)});
    let declared = served.post("/components/echo", big.clone()).await;
    assert_eq!(
        (declared.status, declared.error_kind().as_str()),
        (413, "payload_too_large")
    );
    assert!(declared.text().contains("max_body"), "{}", declared.text());

    // A body that does not declare its length is cut off while it is read.
    let mut client = served.client().await;
    let chunked = client
        .send(
            "POST",
            "/components/echo",
            &[("transfer-encoding", "chunked")],
            big.to_string(),
        )
        .await
        .unwrap();
    assert_eq!(chunked.status, 413, "{}", chunked.text());

    let mut client = served.client().await;
    let long = "x".repeat(10 * 1024);
    let head = client
        .send("POST", "/components/echo", &[("x-padding", &long)], "{}")
        .await;
    // hyper answers 431 and closes the connection.
    match head {
        Ok(reply) => assert_eq!(reply.status, 431),
        Err(err) => panic!("expected a 431 response, got {err}"),
    }
    let calls = metric(
        &served.metrics().await,
        "airssys_calls_total",
        &[("address", "echo")],
    );
    assert_eq!(calls, 0.0, "nothing oversized reached the component");
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_at_once_are_all_served_within_the_connection_limit() {
    let served = messengers(ServerSettings::new().max_connections(16)).await;
    let clients = 200;
    let each = 5;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let addr = served.addr;
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await.unwrap();
            let mut ok = 0;
            for n in 0..each {
                let reply = client
                    .post_json("/components/echo", &json!({"op": "echo", "n": n, "c": c}))
                    .await;
                if reply.status == 200 && reply.json()["body"]["n"] == n {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += task.await.unwrap();
    }
    assert_eq!(ok, clients * each);
    let text = served.metrics().await;
    let served_ok = metric(
        &text,
        "airssys_calls_total",
        &[("address", "echo"), ("kind", "request"), ("outcome", "ok")],
    );
    assert_eq!(served_ok, (clients * each) as f64);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_component_does_not_hold_up_the_others() {
    let served = messengers(ServerSettings::new()).await;
    let addr = served.addr;
    let slow = tokio::spawn(async move {
        post_json(addr, "/components/slow", &json!({"op": "busy", "ms": 1500})).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    for n in 0..20 {
        let reply = served
            .post("/components/echo", json!({"op": "echo", "n": n}))
            .await;
        assert_eq!(reply.status, 200);
    }
    let fast = started.elapsed();
    assert!(!slow.is_finished(), "the slow call is still under way");
    assert!(
        fast < Duration::from_millis(1000),
        "20 calls to `echo` took {fast:?}"
    );
    assert_eq!(slow.await.unwrap().status, 200);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_components_and_metrics_count_the_traffic_sent() {
    let served = messengers(ServerSettings::new()).await;
    let mut client = served.client().await;
    let health = client.get("/health").await;
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["components"].as_array().unwrap().len(), 3);

    for _ in 0..7 {
        client
            .post_json("/components/echo", &json!({"op": "echo"}))
            .await;
    }
    for _ in 0..3 {
        client
            .post_json(
                "/components/echo",
                &json!({"op": "fail", "kind": "not-found", "message": "x"}),
            )
            .await;
    }
    client
        .post_json("/components/echo", &json!({"op": "panic"}))
        .await;
    client.post_json("/components/ghost", &json!({})).await;
    client.post_json("/topics/news.a", &json!({})).await;

    // The publish is handled after it is answered: wait for the three subscribers.
    let messages = |text: &str| metric(text, "airssys_calls_total", &[("kind", "message")]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while messages(&served.metrics().await) < 3.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = served.metrics().await;
    let echo = |extra: &[(&str, &str)]| {
        let mut labels = vec![("address", "echo")];
        labels.extend_from_slice(extra);
        metric(&text, "airssys_calls_total", &labels)
    };
    assert_eq!(
        echo(&[("kind", "request"), ("outcome", "ok")]),
        7.0,
        "{text}"
    );
    assert_eq!(echo(&[("kind", "request"), ("outcome", "error")]), 3.0);
    assert_eq!(echo(&[("kind", "request"), ("outcome", "trap")]), 1.0);
    assert_eq!(
        echo(&[("kind", "message"), ("outcome", "ok")]),
        1.0,
        "the publish"
    );
    let errors = metric(
        &text,
        "airssys_errors_total",
        &[("address", "echo"), ("kind", "not_found")],
    );
    assert_eq!(errors, 3.0);
    let traps = metric(
        &text,
        "airssys_traps_total",
        &[("address", "echo"), ("kind", "panic")],
    );
    assert_eq!(traps, 1.0);
    let latency = metric(
        &text,
        "airssys_call_duration_seconds_count",
        &[("address", "echo"), ("kind", "request")],
    );
    assert_eq!(latency, 11.0);
    let ingress = |route: &str, status: &str| {
        metric(
            &text,
            "airssys_ingress_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(ingress("component", "200"), 7.0);
    assert_eq!(
        ingress("component", "404"),
        4.0,
        "three not_found, one unknown address"
    );
    assert_eq!(ingress("component", "502"), 1.0);
    assert_eq!(ingress("topic", "202"), 1.0);
    assert_eq!(ingress("health", "200"), 1.0);
    assert!(ingress("metrics", "200") >= 1.0);
    assert!(
        metric(&text, "airssys_memory_bytes", &[("address", "echo")]) > 0.0,
        "{text}"
    );
    assert_eq!(metric(&text, "airssys_host_instances", &[]), 3.0);
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );

    served.host.stop("slow").await.unwrap();
    let degraded = client.get("/health").await;
    assert_eq!(
        (degraded.status, degraded.json()["status"].as_str()),
        (503, Some("degraded"))
    );
    served.stop().await;
}

/// One request of a client under load: when it was sent and answered, and by which version.
struct Answered {
    sent: Instant,
    answered: Instant,
    served_by: String,
}

/// Sends a deploy or rollback to the admin API and returns its last JSON line, the outcome.
async fn admin(app: &ExampleApp, path: &str, body: Vec<u8>) -> Value {
    let mut client = app.served.client().await;
    let reply = client
        .send("POST", path, &[("authorization", &app.bearer())], body)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let last = reply.text().lines().last().unwrap_or_default().to_owned();
    serde_json::from_str(&last).unwrap_or_else(|_| panic!("not a JSON line: {}", reply.text()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_and_a_rollback_under_load_lose_no_request_and_switch_every_client() {
    // The example app as `airssys up examples/app` runs it: `web` counts each visit in `store`.
    let app = ExampleApp::start().await;
    let clients = 12;
    let most = 3000; // per client: bounded, whatever happens
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (addr, stop, done) = (app.served.addr, stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await.unwrap();
            let mut answered = Vec::new();
            while !stop.load(Ordering::SeqCst) && answered.len() < most {
                let sent = Instant::now();
                let body = json!({"page": "/load", "user": format!("client-{c}")});
                let reply = tokio::time::timeout(
                    Duration::from_secs(10),
                    client.post_json("/components/web", &body),
                )
                .await
                .unwrap_or_else(|_| panic!("client {c}: no answer within 10 s"));
                assert_eq!(reply.status, 200, "client {c}: {}", reply.text());
                answered.push(Answered {
                    sent,
                    answered: Instant::now(),
                    served_by: reply.json()["served_by"].as_str().unwrap().to_owned(),
                });
                done.fetch_add(1, Ordering::SeqCst);
            }
            answered
        }));
    }
    // Lets the clients send at least `n` more requests between the phases.
    let settle = |n: usize| {
        let done = done.clone();
        async move {
            let from = done.load(Ordering::SeqCst);
            while done.load(Ordering::SeqCst) < from + n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    settle(clients * 5).await;

    let bytes = std::fs::read(ExampleApp::web_next()).unwrap();
    let deployed = admin(&app, "/v1/components/web/deploy?strategy=blue-green", bytes).await;
    let switched = Instant::now();
    assert_eq!(deployed["outcome"]["to"], "web@1.1.0", "{deployed}");
    settle(clients * 10).await;

    let rolling_back = Instant::now();
    let rolled = admin(&app, "/v1/components/web/rollback", Vec::new()).await;
    let rolled_back = Instant::now();
    assert_eq!(rolled["outcome"]["to"], "web@1.0.0", "{rolled}");
    settle(clients * 5).await;
    stop.store(true, Ordering::SeqCst);

    let mut total = 0;
    let mut newer = 0;
    for (c, task) in tasks.into_iter().enumerate() {
        let answered = task.await.unwrap();
        total += answered.len();
        let mut seen_new = false;
        for a in &answered {
            let new = a.served_by == "web@1.1.0";
            newer += usize::from(new);
            if a.sent > switched && a.answered < rolling_back {
                assert!(
                    new,
                    "client {c}: after the switch, {} answered",
                    a.served_by
                );
            }
            if a.sent > rolled_back {
                assert!(!new, "client {c}: after the rollback, 1.1.0 answered");
            }
            // A client that saw the new version never sees the old one again before the
            // rollback: the switch is atomic.
            if a.answered < rolling_back {
                assert!(new || !seen_new, "client {c}: back to 1.0.0 after 1.1.0");
                seen_new |= new;
            }
        }
    }
    assert!(newer >= clients * 10, "{newer} of {total} served by 1.1.0");

    // None lost: `store` counted every visit that was answered, exactly once.
    let mut client = app.served.client().await;
    let pages = client
        .post_json("/components/web", &json!({"op": "pages"}))
        .await;
    assert_eq!(pages.json()["/load"], total, "{}", pages.text());

    // /metrics counts the same traffic, the deploy and the rollback.
    let text = client.get("/metrics").await.text();
    let web_requests = metric(
        &text,
        "airssys_calls_total",
        &[("address", "web"), ("kind", "request"), ("outcome", "ok")],
    );
    assert_eq!(web_requests, (total + 1) as f64, "and the pages request");
    let ingress_ok = metric(
        &text,
        "airssys_ingress_requests_total",
        &[("route", "component"), ("status", "200")],
    );
    assert_eq!(ingress_ok, (total + 1) as f64);
    let by_version = |version: &str| {
        metric(
            &text,
            "airssys_calls_total",
            &[
                ("address", "web"),
                ("version", version),
                ("kind", "request"),
            ],
        )
    };
    assert_eq!(by_version("1.1.0"), newer as f64, "{text}");
    assert_eq!(by_version("1.0.0"), (total + 1 - newer) as f64);
    let deploys = metric(
        &text,
        "airssys_deploys_total",
        &[
            ("address", "web"),
            ("strategy", "blue-green"),
            ("outcome", "ok"),
        ],
    );
    let rollbacks = metric(
        &text,
        "airssys_rollbacks_total",
        &[("address", "web"), ("outcome", "ok")],
    );
    assert_eq!((deploys, rollbacks), (1.0, 1.0), "{text}");
    app.stop().await;
}
