//! Components talking: send, request and publish between real guest components and with the
//! host, with their metadata, denials, timeouts, floods, cycles, traps, restarts and stops.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, Error, EventKind, Host, HostBuilder, Limits,
    LoadOptions, Mode, Payload, Pending, Restart, State, Supervision, TrapKind,
};
use airssys_tests::{CapturedLogs, grants, guest};
use serde_json::{Value, json};

use CapabilityKind::{Message, Publish, Subscribe};

const MESSENGER: &str = "tests/fixtures/messenger";

/// A permissive host: each messenger may use what its grants allow of what it declares
/// (`message("*")`, `publish(">")`, `subscribe(">")`).
fn host() -> Host {
    builder().build().unwrap()
}

fn builder() -> HostBuilder {
    Host::builder().mode(Mode::Permissive)
}

async fn start(host: &Host, address: &str, granted: &[(CapabilityKind, &str)]) -> ComponentHandle {
    start_with(host, address, LoadOptions::new().grants(grants(granted))).await
}

async fn start_with(host: &Host, address: &str, options: LoadOptions) -> ComponentHandle {
    host.load_with(guest(MESSENGER), options.address(address))
        .await
        .unwrap()
}

async fn ask(component: &ComponentHandle, op: Value) -> Value {
    component.request_json(&op).await.unwrap()
}

/// The error a messenger reported, as `(variant, kind, message)`.
fn failure(reply: &Value) -> (String, String, String) {
    let error = reply
        .get("error")
        .unwrap_or_else(|| panic!("no error in {reply}"));
    let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
    (text("variant"), text("kind"), text("message"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn seq(n: u64) -> Payload {
    Payload::bytes(n.to_le_bytes())
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[tokio::test]
async fn sends_and_requests_carry_their_metadata() {
    let host = host();
    let a = start(&host, "a", &[(Message, "b"), (Message, "nobody")]).await;
    let b = start(&host, "b", &[]).await;

    let before = now_ms();
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "body": { "op": "echo" }, "timeout_ms": 5000 }),
    )
    .await;
    let echo = &reply["reply"];
    assert_eq!(echo["source"], "a", "{reply}");
    assert_eq!(echo["content_type"], "application/json");
    assert_eq!(echo["body"], json!({ "op": "echo" }));
    let sent_at = echo["timestamp_ms"].as_u64().unwrap();
    assert!((before..=now_ms()).contains(&sent_at), "{reply}");
    let first = echo["correlation_id"].as_u64().unwrap();
    let again = ask(
        &a,
        json!({ "op": "request", "to": "b", "body": { "op": "echo" }, "timeout_ms": 5000 }),
    )
    .await;
    let second = again["reply"]["correlation_id"].as_u64().unwrap();
    assert!(first > 0 && second > first, "{first} then {second}");

    // A direct send: source set, no topic, the content type as sent.
    let sent = ask(
        &a,
        json!({ "op": "send_text", "to": "b", "text": "hello", "timeout_ms": 1000 }),
    )
    .await;
    assert_eq!(sent, json!({}));
    let received = ask(&b, json!({ "op": "received" })).await;
    let message = &received[0];
    assert_eq!(
        (
            &message["source"],
            &message["topic"],
            &message["content_type"]
        ),
        (
            &json!("a"),
            &Value::Null,
            &json!("text/plain; charset=utf-8")
        ),
        "{received}"
    );
    assert_eq!(message["body"], "hello");
    assert!(message["timestamp_ms"].as_u64().unwrap() >= before);

    // The target's own error reaches the requester with its kind and message.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "timeout_ms": 5000,
                "body": { "op": "fail", "kind": "not-found", "message": "no user 42" } }),
    )
    .await;
    assert_eq!(
        failure(&reply),
        ("target".into(), "not-found".into(), "no user 42".into())
    );

    let reply = ask(
        &a,
        json!({ "op": "request", "to": "nobody", "body": {}, "timeout_ms": 5000 }),
    )
    .await;
    let (variant, kind, message) = failure(&reply);
    assert_eq!(
        (variant.as_str(), kind.as_str()),
        ("no_such_component", "not-found")
    );
    assert!(
        message.contains("no component runs at address `nobody`"),
        "{message}"
    );

    let stats = a.stats();
    assert_eq!((stats.requests_sent, stats.messages_sent), (4, 1));
    let stats = b.stats();
    assert_eq!(
        (stats.requests, stats.messages),
        (3 + 1, 1),
        "served, plus `received`"
    );
}

#[tokio::test]
async fn publishes_reach_each_matching_subscriber_once() {
    let host = host();
    let publisher = start(
        &host,
        "publisher",
        &[(Publish, "orders.>"), (Publish, "orders")],
    )
    .await;
    let star = start(&host, "star", &[(Subscribe, "orders.*")]).await;
    let rest = start(&host, "rest", &[(Subscribe, "orders.>")]).await;
    let both = start(
        &host,
        "both",
        &[(Subscribe, "orders.*"), (Subscribe, "orders.>")],
    )
    .await;
    let other = start(&host, "other", &[(Subscribe, "billing.*")]).await;
    let mut eu = host.subscribe("orders.eu").unwrap();
    // Declared `>`, granted narrower: the grant is what it subscribes to.
    assert_eq!(star.capabilities().effective().get(Subscribe), ["orders.*"]);

    let publish = |topic: &str, n: u32| json!({ "op": "publish", "topic": topic, "body": { "n": n }, "timeout_ms": 1000 });
    let before = now_ms();
    let reply = ask(&publisher, publish("orders.eu", 1)).await;
    assert_eq!(
        reply,
        json!({ "delivered": 4, "missed": 0 }),
        "star, rest, both, host"
    );
    let reply = ask(&publisher, publish("orders.eu.de", 2)).await;
    assert_eq!(reply, json!({ "delivered": 2, "missed": 0 }), "rest, both");
    let reply = ask(&publisher, publish("orders", 3)).await;
    assert_eq!(
        reply,
        json!({ "delivered": 0, "missed": 0 }),
        "`>` needs one token more"
    );

    let bodies = |received: &Value| -> Vec<(String, u64)> {
        received
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m["source"], "publisher", "{m}");
                assert!(m["timestamp_ms"].as_u64().unwrap() >= before, "{m}");
                assert_eq!(m["content_type"], "application/json", "{m}");
                (
                    m["topic"].as_str().unwrap().to_owned(),
                    m["body"]["n"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let eu1 = ("orders.eu".to_owned(), 1);
    let de2 = ("orders.eu.de".to_owned(), 2);
    assert_eq!(
        bodies(&ask(&star, json!({ "op": "received" })).await),
        std::slice::from_ref(&eu1)
    );
    assert_eq!(
        bodies(&ask(&rest, json!({ "op": "received" })).await),
        [eu1.clone(), de2.clone()]
    );
    assert_eq!(
        bodies(&ask(&both, json!({ "op": "received" })).await),
        [eu1, de2],
        "overlapping patterns deliver once"
    );
    assert_eq!(ask(&other, json!({ "op": "received" })).await, json!([]));
    let message = eu.try_recv().expect("the host subscription got it");
    assert_eq!(
        (message.source(), message.topic()),
        (Some("publisher"), Some("orders.eu"))
    );
    assert_eq!(message.json::<Value>().unwrap(), json!({ "n": 1 }));
    assert!(eu.try_recv().is_none());
    assert_eq!(publisher.stats().published, 3);
    assert_eq!(both.stats().messages, 2);
}

#[tokio::test]
async fn each_denial_is_a_typed_error_and_an_audit_line() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let host = builder().audit_log(&audit).build().unwrap();
    let a = start(&host, "a", &[(Message, "b"), (Publish, "orders.*")]).await;
    let _b = start(&host, "b", &[]).await;
    let c = start(&host, "c", &[]).await;
    // Subscribing needs a grant too: `c` declares `>` but is granted nothing.
    assert!(c.capabilities().effective().get(Subscribe).is_empty());

    let reply = ask(
        &a,
        json!({ "op": "request", "to": "c", "body": {}, "timeout_ms": 1000 }),
    )
    .await;
    let (variant, kind, message) = failure(&reply);
    assert_eq!((variant.as_str(), kind.as_str()), ("denied", "denied"));
    assert_eq!(
        message,
        "message `c` is not allowed for a (messenger@0.1.0): it must be declared in capabilities(...) and granted by the operator"
    );
    let reply = ask(
        &a,
        json!({ "op": "send_text", "to": "c", "text": "psst", "timeout_ms": 1000 }),
    )
    .await;
    assert_eq!(failure(&reply).0, "denied");
    let reply = ask(
        &a,
        json!({ "op": "publish", "topic": "billing.paid", "body": {}, "timeout_ms": 1000 }),
    )
    .await;
    let (variant, _, message) = failure(&reply);
    assert_eq!(variant, "denied");
    assert!(
        message.starts_with("publish `billing.paid` is not allowed"),
        "{message}"
    );
    // Allowed: to `b`, and on `orders.eu` (which reaches nobody, as `c` is not subscribed).
    let reply = ask(
        &a,
        json!({ "op": "publish", "topic": "orders.eu", "body": {}, "timeout_ms": 1000 }),
    )
    .await;
    assert_eq!(reply, json!({ "delivered": 0, "missed": 0 }));
    ask(
        &a,
        json!({ "op": "send_text", "to": "b", "text": "hi", "timeout_ms": 1000 }),
    )
    .await;

    assert_eq!(a.stats().denials, 3);
    assert_eq!(ask(&c, json!({ "op": "received" })).await, json!([]));
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["capability"].as_str().unwrap(),
                l["resource"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("message", "c", "denied"),
            ("message", "c", "denied"),
            ("publish", "billing.paid", "denied"),
            ("publish", "orders.eu", "allowed"),
            ("message", "b", "allowed"),
        ]
    );
    assert!(lines.iter().all(|l| l["address"] == "a"));

    // In strict mode a declaration that is not granted refuses the start, naming it.
    let strict = Host::new().unwrap();
    let err = strict
        .load_with(
            guest(MESSENGER),
            LoadOptions::new().grants(grants(&[(Message, "*"), (Publish, ">")])),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotGranted { missing, .. } if missing == &[(Subscribe, ">".to_owned())]),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_addresses_and_topics_are_refused_saying_why() {
    let host = host();
    let a = start(&host, "a", &[(Message, "*"), (Publish, ">")]).await;
    let publish =
        |topic: &str| json!({ "op": "publish", "topic": topic, "body": {}, "timeout_ms": 100 });
    for (topic, why) in [
        (
            "orders.*",
            "`*` is a wildcard, for subscriptions and grants",
        ),
        ("orders.>", "`>` is a wildcard"),
        ("orders..eu", "empty token"),
        ("orders.eu*", "`eu*` is not a valid token"),
        ("", "it is empty"),
    ] {
        let (variant, kind, message) = failure(&ask(&a, publish(topic)).await);
        assert_eq!(
            (variant.as_str(), kind.as_str()),
            ("invalid", "invalid-input")
        );
        assert!(
            message.starts_with(&format!("invalid topic `{topic}`: ")) && message.contains(why),
            "{topic}: {message}"
        );
    }
    let long = "a".repeat(256);
    let (_, _, message) = failure(&ask(&a, publish(&long)).await);
    assert!(message.contains("use at most 255"), "{message}");
    let (variant, _, message) = failure(
        &ask(
            &a,
            json!({ "op": "request", "to": "Not_An\u{7}Address", "body": {}, "timeout_ms": 100 }),
        )
        .await,
    );
    assert_eq!(variant, "invalid");
    assert!(
        message.starts_with("`Not_An\\u{7}Address` is not an address: addresses are kebab-case"),
        "{message}"
    );
    assert_eq!(
        a.stats().denials,
        0,
        "malformed input is refused before the gate"
    );

    // The host's verbs refuse the same mistakes.
    let err = host
        .publish("orders.*", Payload::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTopic { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("`orders.*` cannot be published on: `*` is a wildcard")
    );
    let err = host.subscribe("orders.>.eu").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`orders.>.eu` cannot be subscribed to: `>` matches the rest, so it must be the last token (`events.>`)"
    );
    let err = host
        .send("Bad Address", Payload::text("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidAddress { .. }), "{err}");

    // Grants are checked at load: in code, and in the operator's file (naming the line).
    let err = Capabilities::default()
        .add(Subscribe, "orders..eu")
        .unwrap_err();
    assert!(err.to_string().contains("empty token"), "{err}");
    let toml = "[components.a]\nsource = \"a.wasm\"\ngrants = { message = [\"Billing\"] }\n";
    let err = airssys_host::AppManifest::from_toml(toml, ".".as_ref()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("line 3") && text.contains("`Billing` is not an address"),
        "{text}"
    );
}

#[tokio::test]
async fn waits_end_at_the_timeout_and_at_the_callers_deadline() {
    let host = host();
    let a = start(&host, "a", &[(Message, "b")]).await;
    let b = start(&host, "b", &[]).await;
    let busy = {
        let b = b.clone();
        tokio::spawn(async move { ask(&b, json!({ "op": "busy", "ms": 1500 })).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "body": { "op": "echo" }, "timeout_ms": 200 }),
    )
    .await;
    let (variant, kind, message) = failure(&reply);
    assert_eq!((variant.as_str(), kind.as_str()), ("timeout", "timeout"));
    assert!(
        message.starts_with("no reply from b (messenger@0.1.0) within"),
        "{message}"
    );
    let waited = reply["waited_ms"].as_u64().unwrap();
    assert!((180..1000).contains(&waited), "waited {waited} ms");
    busy.await.unwrap();
    // The request that timed out was still queued; nobody waits for it, so it never runs.
    ask(&b, json!({ "op": "echo" })).await;
    assert_eq!(
        b.stats().requests,
        2,
        "busy and this echo, not the abandoned one"
    );

    // A wait counts against the caller's own call deadline: a 10 s timeout still ends at
    // the 400 ms deadline, which then ends the call.
    let short = start_with(
        &host,
        "short",
        LoadOptions::new()
            .grants(grants(&[(Message, "b")]))
            .limits(Limits::new().call_timeout(Duration::from_millis(400))),
    )
    .await;
    let busy = {
        let b = b.clone();
        tokio::spawn(async move { ask(&b, json!({ "op": "busy", "ms": 2000 })).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let err = short
        .request_json::<_, Value>(
            &json!({ "op": "request", "to": "b", "body": { "op": "echo" }, "timeout_ms": 10000 }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Trap { trap, .. } if matches!(trap.kind, TrapKind::Deadline(_))),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    busy.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_waits_for_room_then_fails_and_host_memory_stays_bounded() {
    const CAPACITY: usize = 8;
    let host = builder().mailbox_capacity(CAPACITY).build().unwrap();
    let sink = start(&host, "sink", &[]).await;
    // Floods get a long call deadline: the machine may be slow, and only bounds matter here.
    let floods: Vec<ComponentHandle> = futures((0..5).map(|i| {
        let host = host.clone();
        async move {
            let options = LoadOptions::new()
                .grants(grants(&[(Message, "sink")]))
                .limits(Limits::new().call_timeout(Duration::from_secs(60)));
            start_with(&host, &format!("flood-{i}"), options).await
        }
    }))
    .await;

    // While the sink is busy, its mailbox fills; each send then waits its 20 ms and fails.
    host.send("sink", Payload::text("busy:1000")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let one = ask(
        &floods[4],
        json!({ "op": "send", "to": "sink", "count": 1000, "timeout_ms": 20 }),
    )
    .await;
    assert_eq!(one["sent"].as_u64().unwrap() as usize, CAPACITY, "{one}");
    let (variant, kind, message) = failure(&one);
    assert_eq!(
        (variant.as_str(), kind.as_str()),
        ("mailbox_full", "unavailable")
    );
    assert!(
        message.starts_with("sink (messenger@0.1.0)'s mailbox stayed full (8 calls waiting)"),
        "{message}"
    );

    // Four floods of 1 MiB messages that keep going past failures: if anything queued them
    // without bound, 100 each would take 400 MiB.
    ask(&sink, json!({ "op": "tally" })).await;
    host.send("sink", Payload::text("busy:1500")).await.unwrap();
    let before = rss();
    let watcher = {
        let sink = sink.clone();
        tokio::spawn(async move {
            let mut most = 0;
            let until = Instant::now() + Duration::from_millis(1500);
            while Instant::now() < until {
                most = most.max(sink.info().queued);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            most
        })
    };
    let results = futures(floods[..4].iter().cloned().map(|flood| async move {
        ask(
            &flood,
            json!({ "op": "send", "to": "sink", "count": 100, "timeout_ms": 1,
                    "pad": 1 << 20, "keep_going": true }),
        )
        .await
    }))
    .await;
    let grown = rss().saturating_sub(before);
    let most = watcher.await.unwrap();
    assert!(most <= CAPACITY, "{most} calls queued");
    assert!(grown < 64 << 20, "RSS grew by {grown} bytes");
    let sent: u64 = results.iter().map(|r| r["sent"].as_u64().unwrap()).sum();
    let failed: u64 = results.iter().map(|r| r["failed"].as_u64().unwrap()).sum();
    assert_eq!(sent + failed, 400);
    assert!(failed > 0, "{results:?}");
    // Whatever was accepted arrives, in order per sender.
    let tally = ask(&sink, json!({ "op": "tally" })).await;
    let per_source = tally["per_source"].as_object().unwrap();
    let received: u64 = (0..4)
        .map(|i| per_source[&format!("flood-{i}")].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(received, sent, "{tally}");
    assert_eq!(per_source["flood-4"], CAPACITY as u64, "{tally}");
    assert_eq!(tally["out_of_order"], 0, "{tally}");
}

/// Waits until `component` is in `state`.
async fn reach(component: &ComponentHandle, state: State) {
    let until = Instant::now() + Duration::from_secs(10);
    while component.state() != state {
        assert!(
            Instant::now() < until,
            "{component:?} never reached {state}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Awaits every future, concurrently, in order.
async fn futures<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// On a single-threaded runtime: if any wait blocked a thread, nothing would ever finish.
#[tokio::test]
async fn request_cycles_and_self_requests_end_in_timeouts() {
    let host = host();
    let a = start(&host, "a", &[(Message, "*")]).await;
    let b = start(&host, "b", &[(Message, "*")]).await;
    let c = start(&host, "c", &[(Message, "*")]).await;
    let echo = json!({ "op": "echo" });

    // a waits on b, which waits on a: b's shorter wait ends first, and a gets b's answer.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "timeout_ms": 3000,
                "body": { "op": "request", "to": "a", "body": echo, "timeout_ms": 300 } }),
    )
    .await;
    let inner = &reply["reply"];
    assert_eq!(failure(inner).0, "timeout", "{reply}");
    let waited = inner["waited_ms"].as_u64().unwrap();
    assert!((280..2000).contains(&waited), "{reply}");

    // Through a third: a -> b -> c -> a.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "timeout_ms": 4000,
                "body": { "op": "request", "to": "c", "timeout_ms": 3000,
                          "body": { "op": "request", "to": "a", "body": echo, "timeout_ms": 300 } } }),
    )
    .await;
    assert_eq!(failure(&reply["reply"]["reply"]).0, "timeout", "{reply}");

    // Both sides give up: each gets a timeout, neither hangs.
    let (x, y) = tokio::join!(
        ask(
            &a,
            json!({ "op": "request", "to": "b", "timeout_ms": 300,
                        "body": { "op": "busy", "ms": 50 } })
        ),
        ask(
            &b,
            json!({ "op": "request", "to": "a", "timeout_ms": 300,
                        "body": { "op": "busy", "ms": 50 } })
        ),
    );
    assert!(
        x.get("error").is_some() || y.get("error").is_some(),
        "one of them waited on the other: {x} {y}"
    );

    // A request to itself can never be served while it waits.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "a", "body": echo, "timeout_ms": 200 }),
    )
    .await;
    assert_eq!(failure(&reply).0, "timeout", "{reply}");

    // Everyone still serves, and the abandoned requests were skipped, not run late.
    let served = a.stats().requests;
    for component in [&a, &b, &c] {
        assert_eq!(ask(component, echo.clone()).await["source"], Value::Null);
    }
    assert_eq!(a.stats().requests, served + 1);
}

#[tokio::test]
async fn a_target_that_traps_during_a_request_is_reported_and_restarted() {
    let host = host();
    let mut events = host.events();
    let a = start(&host, "a", &[(Message, "b")]).await;
    let b = start(&host, "b", &[]).await;
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "body": { "op": "panic" }, "timeout_ms": 5000 }),
    )
    .await;
    let (variant, kind, message) = failure(&reply);
    assert_eq!((variant.as_str(), kind.as_str()), ("trapped", "internal"));
    assert!(
        message.contains("b (messenger@0.1.0) panicked at") && message.contains("told to panic"),
        "{message}"
    );
    // The default supervision restarts it; the next request reaches the fresh instance.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "b", "body": { "op": "echo" }, "timeout_ms": 5000 }),
    )
    .await;
    assert_eq!(reply["reply"]["source"], "a", "{reply}");
    assert_eq!((b.stats().traps, b.stats().restarts), (1, 1));
    let kinds: Vec<EventKind> = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| e.component.address == "b")
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::Restarted { restarts: 1 })),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_restarting_target_refuses_or_keeps_deliveries_as_its_policy_says() {
    let host = host();
    let a = start(&host, "a", &[(Message, "*")]).await;
    let restart = |pending| {
        Supervision::Restart(
            Restart::new()
                .backoff(Duration::from_millis(600), Duration::from_millis(600))
                .pending(pending),
        )
    };
    let failing = start_with(
        &host,
        "failing",
        LoadOptions::new().supervision(restart(Pending::Fail)),
    )
    .await;
    let waiting = start_with(
        &host,
        "waiting",
        LoadOptions::new().supervision(restart(Pending::Wait)),
    )
    .await;
    for target in [&failing, &waiting] {
        target
            .request_json::<_, Value>(&json!({ "op": "panic" }))
            .await
            .unwrap_err();
        reach(target, State::Restarting).await;
    }

    // Under `Pending::Fail`: requests are refused as restarting, messages kept for later.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "failing", "body": { "op": "echo" }, "timeout_ms": 5000 }),
    )
    .await;
    let (variant, kind, _) = failure(&reply);
    assert_eq!(
        (variant.as_str(), kind.as_str()),
        ("restarting", "unavailable")
    );
    ask(
        &a,
        json!({ "op": "send_text", "to": "failing", "text": "kept", "timeout_ms": 1000 }),
    )
    .await;
    // Under `Pending::Wait`: the request waits in the mailbox and the fresh instance serves it.
    let reply = ask(
        &a,
        json!({ "op": "request", "to": "waiting", "body": { "op": "echo" }, "timeout_ms": 5000 }),
    )
    .await;
    assert_eq!(reply["reply"]["source"], "a", "{reply}");
    assert!(reply["waited_ms"].as_u64().unwrap() >= 300, "{reply}");

    reach(&failing, State::Running).await;
    let received = ask(&failing, json!({ "op": "received" })).await;
    assert_eq!(received[0]["body"], "kept", "{received}");
}

#[tokio::test]
async fn stopped_and_missing_targets_and_what_was_queued() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    let host = host();
    let a = start(&host, "a", &[(Message, "*")]).await;
    let reply = ask(
        &a,
        json!({ "op": "send_text", "to": "ghost", "text": "x", "timeout_ms": 100 }),
    )
    .await;
    assert_eq!(failure(&reply).0, "no_such_component");

    // A stop serves what was queued before it, then refuses what comes after.
    let b = start(&host, "b", &[(Subscribe, "news")]).await;
    host.send("b", Payload::text("busy:300")).await.unwrap();
    for text in ["one", "two", "three"] {
        let reply = ask(
            &a,
            json!({ "op": "send_text", "to": "b", "text": text, "timeout_ms": 100 }),
        )
        .await;
        assert_eq!(reply, json!({}));
    }
    host.stop("b").await.unwrap();
    assert_eq!(b.stats().messages, 4, "queued before the stop: served");
    for op in [
        json!({ "op": "send_text", "to": "b", "text": "late", "timeout_ms": 100 }),
        json!({ "op": "request", "to": "b", "body": {}, "timeout_ms": 100 }),
    ] {
        let (variant, kind, message) = failure(&ask(&a, op).await);
        assert_eq!(
            (variant.as_str(), kind.as_str()),
            ("stopped", "unavailable")
        );
        assert!(
            message.contains("b (messenger@0.1.0) is not running (it was shut down)"),
            "{message}"
        );
    }
    // Its subscriptions ended with it.
    let published = host.publish("news", Payload::text("x")).await.unwrap();
    assert_eq!((published.delivered, published.missed), (0, 0));

    // A trap that stops it for good: queued requests fail, queued messages are reported.
    let c = start_with(
        &host,
        "c",
        LoadOptions::new().supervision(Supervision::Stop),
    )
    .await;
    host.send("c", Payload::text("busy:300")).await.unwrap();
    host.send("c", Payload::text("panic")).await.unwrap();
    host.send("c", Payload::text("lost")).await.unwrap();
    host.send("c", Payload::text("lost too")).await.unwrap();
    let queued = host.request(
        "c",
        Payload::json(&json!({ "op": "echo" })).unwrap(),
        Duration::from_secs(5),
    );
    let err = queued.await.unwrap_err();
    assert!(matches!(err, Error::Stopped { .. }), "{err}");
    assert_eq!(c.state(), State::Failed);
    assert!(
        logs.text().contains("2 message(s) not delivered")
            || logs.text().matches("1 message(s) not delivered").count() == 2,
        "{}",
        logs.text()
    );
}

#[tokio::test]
async fn the_host_sends_requests_publishes_and_subscribes() {
    let host = builder()
        .mailbox_capacity(4)
        .send_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let b = start(&host, "b", &[(Subscribe, "orders.*")]).await;

    host.send("b", Payload::text("from the host"))
        .await
        .unwrap();
    let echo: Value = host
        .request_json("b", &json!({ "op": "echo" }), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(echo["source"], Value::Null);
    assert!(echo["correlation_id"].as_u64().unwrap() > 0);
    let received = ask(&b, json!({ "op": "received" })).await;
    assert_eq!(
        (&received[0]["source"], &received[0]["body"]),
        (&Value::Null, &json!("from the host"))
    );

    let mut orders = host.subscribe("orders.>").unwrap();
    assert_eq!(orders.pattern(), "orders.>");
    let published = host
        .publish("orders.eu", Payload::json(&json!({ "n": 1 })).unwrap())
        .await
        .unwrap();
    assert_eq!((published.delivered, published.missed), (2, 0));
    let message = orders.recv().await.unwrap();
    assert_eq!(
        (message.source(), message.topic()),
        (None, Some("orders.eu"))
    );
    let received = ask(&b, json!({ "op": "received" })).await;
    assert_eq!(received[0]["topic"], "orders.eu");

    // A host subscriber that does not read holds publishers up to their timeout, then
    // misses what does not fit; what it holds arrives in order.
    let started = Instant::now();
    let mut missed = 0;
    for n in 0..6u64 {
        let published = host.publish("orders.us", seq(n)).await.unwrap();
        missed += published.missed;
    }
    assert_eq!(missed, 2, "4 fit in its buffer");
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "waited for room"
    );
    assert_eq!(orders.len(), 4);
    let read: Vec<Payload> = std::iter::from_fn(|| orders.try_recv())
        .map(|m| m.into_payload())
        .collect();
    assert_eq!(read, (0..4).map(seq).collect::<Vec<_>>());
    // It is a stream, too.
    host.publish("orders.us", seq(9)).await.unwrap();
    let next = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut orders), cx)
    })
    .await;
    assert_eq!(next.unwrap().into_payload(), seq(9));
    drop(orders);
    let published = host.publish("orders.us", seq(10)).await.unwrap();
    assert_eq!(published.delivered, 1, "only b now");

    // Timeouts, full mailboxes and unknown addresses, from the host's side.
    let err = host
        .request("ghost", Payload::text("x"), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownAddress { .. }), "{err}");
    host.send("b", Payload::text("busy:600")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = host
        .request(
            "b",
            Payload::json(&json!({ "op": "echo" })).unwrap(),
            Duration::from_millis(100),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let mut sends = 0;
    let err = loop {
        match host.send("b", Payload::text("x")).await {
            Ok(()) => sends += 1,
            Err(err) => break err,
        }
    };
    assert!(
        matches!(err, Error::MailboxFull { capacity: 4, .. }),
        "{err}"
    );
    assert!(sends <= 4, "{sends}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_from_many_senders_arrive_in_order_and_all() {
    let host = host();
    let receiver = start(&host, "receiver", &[]).await;
    let mut senders = Vec::new();
    for i in 0..10 {
        senders.push(start(&host, &format!("sender-{i}"), &[(Message, "receiver")]).await);
    }
    let from_components = futures(senders.iter().cloned().map(|sender| async move {
        ask(
            &sender,
            json!({ "op": "send", "to": "receiver", "count": 1000, "timeout_ms": 10000 }),
        )
        .await
    }));
    let from_host = {
        let host = host.clone();
        async move {
            for n in 0..1000 {
                host.send("receiver", seq(n)).await.unwrap();
            }
        }
    };
    let (replies, ()) = tokio::join!(from_components, from_host);
    for reply in &replies {
        assert_eq!(reply["sent"], 1000, "{reply}");
    }
    let tally = ask(&receiver, json!({ "op": "tally" })).await;
    assert_eq!(tally["out_of_order"], 0, "{tally}");
    let per_source = tally["per_source"].as_object().unwrap();
    assert_eq!(per_source.len(), 11, "{tally}");
    assert!(per_source.values().all(|n| n == 1000), "{tally}");
    assert_eq!(receiver.stats().messages, 11_000);
}

#[tokio::test]
async fn bodies_over_the_size_limit_are_refused() {
    let host = host();
    let small = |bytes| LoadOptions::new().limits(Limits::new().max_payload(bytes));
    let a = start_with(
        &host,
        "a",
        small(1000).grants(grants(&[(Message, "*"), (Publish, ">")])),
    )
    .await;
    let _tiny = start_with(
        &host,
        "tiny",
        small(100).grants(grants(&[(Subscribe, ">")])),
    )
    .await;
    let request = |len: usize| {
        json!({ "op": "request_bytes", "to": "tiny", "content_type": "application/octet-stream",
                "len": len, "timeout_ms": 1000 })
    };
    let (variant, _, message) = failure(&ask(&a, request(500)).await);
    assert_eq!(variant, "invalid");
    assert!(
        message.contains("the request body is 500 bytes, over the limit of 100"),
        "{message}"
    );
    let (variant, _, message) = failure(&ask(&a, request(2000)).await);
    assert_eq!(variant, "invalid");
    assert!(
        message.contains("over this component's limit of 1000"),
        "{message}"
    );
    // A subscriber misses a publish its limit refuses.
    let big = "x".repeat(500);
    let reply = ask(
        &a,
        json!({ "op": "publish", "topic": "t", "body": big, "timeout_ms": 100 }),
    )
    .await;
    assert_eq!(reply, json!({ "delivered": 0, "missed": 1 }));
}
