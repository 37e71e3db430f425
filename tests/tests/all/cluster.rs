//! Several hosts, one application, over a real nats-server: sends, requests and publishes
//! between components on different hosts, load-balancing, the receiving host's say, limits,
//! a host that goes away and a NATS server that restarts. Guests see the same payloads,
//! metadata and errors as in process.

use std::time::{Duration, Instant};

use airssys_host::{
    CapabilityKind, Cluster, ClusterConfig, ComponentHandle, Error, Host, Limits, LoadOptions,
    Mode, Outcome, Payload,
};
use airssys_tests::nats::NatsServer;
use airssys_tests::{grants, guest};
use serde_json::{Value, json};

use CapabilityKind::{Message, Publish, Subscribe};

const MESSENGER: &str = "tests/fixtures/messenger";

/// A host named `name` of application `shop` on `nats`, letting the listed remote senders
/// reach what their grants say.
async fn host(nats: &NatsServer, name: &str, remote: &[(&str, &[(CapabilityKind, &str)])]) -> Host {
    let mut config = ClusterConfig::new([nats.url()], "shop")
        .unwrap()
        .host_name(name);
    for (sender, granted) in remote {
        config = config.remote(*sender, grants(granted)).unwrap();
    }
    Host::builder()
        .mode(Mode::Permissive)
        .cluster(Cluster::connect(config).await.unwrap())
        .build()
        .unwrap()
}

async fn start(host: &Host, address: &str, granted: &[(CapabilityKind, &str)]) -> ComponentHandle {
    host.load_with(
        guest(MESSENGER),
        LoadOptions::new().address(address).grants(grants(granted)),
    )
    .await
    .unwrap()
}

async fn ask(component: &ComponentHandle, op: Value) -> Value {
    component.request_json(&op).await.unwrap()
}

/// Waits until `host` has heard that `peer` runs every one of `addresses`.
async fn sees(host: &Host, peer: &str, addresses: &[&str]) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let peers = host.peers();
        let runs = |address: &&str| {
            peers
                .iter()
                .any(|p| p.host == peer && p.components.iter().any(|c| c.address == *address))
        };
        if addresses.iter().all(runs) {
            return;
        }
        assert!(
            Instant::now() < until,
            "{peer} never announced {addresses:?}: {peers:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The error a messenger reported, as `(variant, message)`.
fn failure(reply: &Value) -> (String, String) {
    let error = reply
        .get("error")
        .unwrap_or_else(|| panic!("no error in {reply}"));
    let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
    (text("variant"), text("message"))
}

fn request(to: &str, body: Value, timeout_ms: u64) -> Value {
    json!({ "op": "request", "to": to, "body": body, "timeout_ms": timeout_ms })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_cannot_tell_a_remote_target_from_a_local_one() {
    let nats = NatsServer::start();
    let a = host(&nats, "host-a", &[]).await;
    let b = host(&nats, "host-b", &[("alice", &[(Message, "bob")])]).await;
    let alice = start(&a, "alice", &[(Message, "*")]).await;
    let bob = start(&b, "bob", &[]).await;
    // `carol` asks `bob` from bob's own host: the in-process answer to compare with.
    let carol = start(&b, "carol", &[(Message, "*")]).await;
    sees(&a, "host-b", &["bob"]).await;

    // Same reply, same metadata: source, content type, body, a correlation id.
    let remote = ask(&alice, request("bob", json!({ "op": "echo" }), 2000)).await;
    let local = ask(&carol, request("bob", json!({ "op": "echo" }), 2000)).await;
    for (reply, source) in [(&remote, "alice"), (&local, "carol")] {
        let echo = &reply["reply"];
        assert_eq!(echo["source"], source, "{reply}");
        assert_eq!(echo["content_type"], "application/json");
        assert_eq!(echo["body"], json!({ "op": "echo" }));
        assert!(echo["correlation_id"].as_u64().unwrap() > 0);
    }

    // A send arrives with its source and no topic, as a local one does.
    let sent = json!({ "op": "send_text", "to": "bob", "text": "hello", "timeout_ms": 2000 });
    assert_eq!(ask(&alice, sent).await, json!({}));
    let until = Instant::now() + Duration::from_secs(5);
    let kept = loop {
        let kept = ask(&bob, json!({ "op": "received" })).await;
        if kept.as_array().is_some_and(|k| !k.is_empty()) || Instant::now() > until {
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(kept[0]["source"], "alice");
    assert_eq!(kept[0]["topic"], Value::Null);
    assert_eq!(kept[0]["body"], "hello");

    // The target's own error, with its kind and message.
    let fail = json!({ "op": "fail", "kind": "not-found", "message": "no such order" });
    for asker in [&alice, &carol] {
        let reply = ask(asker, request("bob", fail.clone(), 2000)).await;
        assert_eq!(reply["error"]["variant"], "target", "{reply}");
        assert_eq!(reply["error"]["kind"], "not-found");
        assert_eq!(reply["error"]["message"], "no such order");
    }

    // No component anywhere: the same error, word for word.
    let remote = ask(&alice, request("nobody", json!({}), 2000)).await;
    let local = ask(&carol, request("nobody", json!({}), 2000)).await;
    assert_eq!(failure(&remote).0, "no_such_component");
    assert_eq!(failure(&remote), failure(&local));

    // A slow target: a timeout at the caller's timeout, not later.
    let busy = json!({ "op": "busy", "ms": 1500 });
    let reply = ask(&alice, request("bob", busy, 300)).await;
    assert_eq!(failure(&reply).0, "timeout", "{reply}");
    let waited = reply["waited_ms"].as_u64().unwrap();
    assert!((250..1000).contains(&waited), "waited {waited} ms");

    // The host's own verbs go across too, as the `@host` sender, which host-b does not list.
    let err = a
        .request("bob", Payload::text("hi"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "denied", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiving_host_decides_who_reaches_its_components() {
    let nats = NatsServer::start();
    let a = host(&nats, "host-a", &[]).await;
    let b = host(
        &nats,
        "host-b",
        &[
            ("alice", &[(Message, "bob")]),
            ("@host", &[(Message, "carol")]),
        ],
    )
    .await;
    let mut audit = b.audit_events();
    let alice = start(&a, "alice", &[(Message, "*")]).await;
    let mallory = start(&a, "mallory", &[(Message, "*")]).await;
    start(&b, "bob", &[]).await;
    start(&b, "carol", &[]).await;
    sees(&a, "host-b", &["bob", "carol"]).await;

    let echo = json!({ "op": "echo" });
    let reply = ask(&alice, request("bob", echo.clone(), 2000)).await;
    assert_eq!(reply["reply"]["source"], "alice");

    // Listed, but not for this address.
    let reply = ask(&alice, request("carol", echo.clone(), 2000)).await;
    let (variant, message) = failure(&reply);
    assert_eq!(variant, "denied", "{reply}");
    assert!(message.contains("host `host-b` refused it"), "{message}");
    assert!(message.contains("carol"), "{message}");

    // Not listed at all.
    let reply = ask(&mallory, request("bob", echo.clone(), 2000)).await;
    let (variant, message) = failure(&reply);
    assert_eq!(variant, "denied", "{reply}");
    assert!(
        message.contains("`mallory` on host `host-a` may reach nothing here"),
        "{message}"
    );

    // The sending host's own gate still comes first: alice may message `*` here, but a
    // component granted nothing is refused before anything leaves host-a.
    let quiet = start(&a, "quiet", &[]).await;
    let reply = ask(&quiet, request("bob", echo.clone(), 2000)).await;
    let (variant, message) = failure(&reply);
    assert_eq!(variant, "denied");
    assert!(!message.contains("host-b"), "{message}");

    // The hosts themselves (embedder, ingress) are the `@host` sender.
    let reply: Value = a
        .request_json("carol", &echo, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(reply["source"], Value::Null);
    let err = a
        .request_json::<_, Value>("bob", &echo, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Denied { .. }), "{err:?}");

    // Each refusal is in host-b's audit, as a denied `message` of the resource.
    let mut denied = Vec::new();
    while let Ok(event) = audit.try_recv() {
        if event.outcome == Outcome::Denied {
            denied.push((event.address.clone(), event.resource.clone()));
        }
    }
    assert!(
        denied.contains(&("alice".into(), "carol".into())),
        "{denied:?}"
    );
    assert!(
        denied.contains(&("unlisted".into(), "bob".into())),
        "{denied:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_reach_subscribers_on_every_host_once() {
    let nats = NatsServer::start();
    let publish_ok = [("alice", &[(Publish, "prices.>")][..])];
    let a = host(&nats, "host-a", &[]).await;
    let b = host(&nats, "host-b", &publish_ok).await;
    let c = host(&nats, "host-c", &publish_ok).await;
    let alice = start(&a, "alice", &[(Publish, "prices.>")]).await;
    let here = start(&a, "here", &[(Subscribe, "prices.>")]).await;
    let every = start(&b, "every", &[(Subscribe, "prices.>")]).await;
    let one_level = start(&c, "one-level", &[(Subscribe, "prices.*")]).await;
    let other = start(&c, "other", &[(Subscribe, "billing.>")]).await;
    let mut embedder = b.subscribe("prices.*").unwrap();
    sees(&a, "host-b", &["every"]).await;
    sees(&a, "host-c", &["one-level"]).await;

    let publish = |topic: &str, n: u32| json!({ "op": "publish", "topic": topic, "body": { "n": n }, "timeout_ms": 2000 });
    let reply = ask(&alice, publish("prices.quoted", 1)).await;
    // The count is this host's subscribers: the others are not waited for.
    assert_eq!(reply, json!({ "delivered": 1, "missed": 0 }));
    ask(&alice, publish("prices.quoted.eu", 2)).await;

    let received = |component: &ComponentHandle, want: usize| {
        let component = component.clone();
        async move {
            let until = Instant::now() + Duration::from_secs(5);
            let mut all = Vec::new();
            loop {
                let kept = ask(&component, json!({ "op": "received" })).await;
                all.extend(kept.as_array().unwrap().iter().cloned());
                if all.len() >= want || Instant::now() > until {
                    // Anything more would be a duplicate: give it a moment to show.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let kept = ask(&component, json!({ "op": "received" })).await;
                    all.extend(kept.as_array().unwrap().iter().cloned());
                    return all;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let topics = |kept: &[Value]| kept.iter().map(|k| k["topic"].clone()).collect::<Vec<_>>();
    let at_a = received(&here, 2).await;
    assert_eq!(
        topics(&at_a),
        [json!("prices.quoted"), json!("prices.quoted.eu")]
    );
    let at_b = received(&every, 2).await;
    assert_eq!(
        topics(&at_b),
        [json!("prices.quoted"), json!("prices.quoted.eu")]
    );
    assert_eq!(at_b[0]["source"], "alice");
    assert_eq!(at_b[0]["body"], json!({ "n": 1 }));
    assert_eq!(
        topics(&received(&one_level, 1).await),
        [json!("prices.quoted")]
    );
    assert!(received(&other, 0).await.is_empty());
    let message = tokio::time::timeout(Duration::from_secs(5), embedder.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (message.source(), message.topic()),
        (Some("alice"), Some("prices.quoted"))
    );
    assert!(embedder.try_recv().is_none());

    // host-c does not list `alice-billing`: its publish on `billing.x` reaches nothing there.
    let alice_billing = start(&a, "alice-billing", &[(Publish, "billing.>")]).await;
    ask(&alice_billing, publish("billing.x", 3)).await;
    assert!(received(&other, 0).await.is_empty());

    // One sender's publishes reach another host in the order they were sent.
    for n in 0..30 {
        ask(&alice, publish("prices.quoted", n)).await;
    }
    let order: Vec<Value> = received(&every, 30)
        .await
        .iter()
        .map(|kept| kept["body"]["n"].clone())
        .collect();
    assert_eq!(order, (0..30).map(|n| json!(n)).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_served_on_several_hosts_is_balanced_across_them() {
    let nats = NatsServer::start();
    let senders = [("alice", &[(Message, "worker")][..])];
    let a = host(&nats, "host-a", &[]).await;
    let b = host(&nats, "host-b", &senders).await;
    let c = host(&nats, "host-c", &senders).await;
    let alice = start(&a, "alice", &[(Message, "worker")]).await;
    let on_b = start(&b, "worker", &[]).await;
    let on_c = start(&c, "worker", &[]).await;
    sees(&a, "host-b", &["worker"]).await;
    sees(&a, "host-c", &["worker"]).await;

    let reply = ask(
        &alice,
        json!({ "op": "send", "to": "worker", "count": 200, "timeout_ms": 2000 }),
    )
    .await;
    assert_eq!(reply["sent"], 200, "{reply}");
    let count = |tally: &Value| tally["per_source"]["alice"].as_u64().unwrap_or(0);
    let until = Instant::now() + Duration::from_secs(5);
    let (b_got, c_got) = loop {
        let b_got = count(&ask(&on_b, json!({ "op": "tally" })).await);
        let c_got = count(&ask(&on_c, json!({ "op": "tally" })).await);
        if b_got + c_got >= 200 || Instant::now() > until {
            break (b_got, c_got);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(b_got + c_got, 200, "every send acknowledged arrived once");
    assert!(
        b_got > 20 && c_got > 20,
        "spread: host-b {b_got}, host-c {c_got}"
    );

    // A host that runs the address itself keeps it in process.
    let local = start(&b, "local-asker", &[(Message, "worker")]).await;
    ask(
        &local,
        json!({ "op": "send", "to": "worker", "count": 50, "timeout_ms": 2000 }),
    )
    .await;
    let tally = ask(&on_b, json!({ "op": "tally" })).await;
    assert_eq!(tally["per_source"]["local-asker"], 50, "{tally}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_hold_across_hosts() {
    let nats = NatsServer::start();
    let senders = [
        ("alice", &[(Message, "small")][..]),
        ("@host", &[(Message, "small")][..]),
    ];
    let a = host(&nats, "host-a", &[]).await;
    let b = host(&nats, "host-b", &senders).await;
    let alice = start(&a, "alice", &[(Message, "*")]).await;
    b.load_with(
        guest(MESSENGER),
        LoadOptions::new()
            .address("small")
            .limits(Limits::default().max_payload(1024)),
    )
    .await
    .unwrap();
    // The same target, asked in process on host-b, for the wording to compare.
    let carol = start(&b, "carol", &[(Message, "*")]).await;
    sees(&a, "host-b", &["small"]).await;

    let big = json!({ "op": "request_bytes", "to": "small", "content_type": "application/octet-stream", "len": 2048, "timeout_ms": 2000 });
    let remote = ask(&alice, big.clone()).await;
    let local = ask(&carol, big).await;
    assert_eq!(failure(&remote).0, "invalid", "{remote}");
    assert_eq!(failure(&remote), failure(&local));
    assert!(
        failure(&remote).1.contains("over the limit of 1024"),
        "{remote}"
    );

    // Past NATS's own max_payload (1 MiB by default), refused before it leaves.
    let err = a
        .request(
            "small",
            Payload::bytes(vec![0; 2 << 20]),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    match err {
        Error::PayloadTooLarge { limit, .. } => assert_eq!(limit, 1 << 20),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_goes_away_fails_its_components_cleanly() {
    let nats = NatsServer::start();
    let senders = [("alice", &[(Message, "*")][..])];
    let a = host(&nats, "host-a", &[]).await;
    let b = host(&nats, "host-b", &senders).await;
    let c = host(&nats, "host-c", &senders).await;
    let alice = start(&a, "alice", &[(Message, "*")]).await;
    start(&b, "only-on-b", &[]).await;
    start(&c, "on-c", &[]).await;
    sees(&a, "host-b", &["only-on-b"]).await;
    sees(&a, "host-c", &["on-c"]).await;

    // Traffic under way while host-b goes.
    let echo = json!({ "op": "echo" });
    let traffic = {
        let alice = alice.clone();
        let echo = echo.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                let started = Instant::now();
                let reply = ask(&alice, request("only-on-b", echo.clone(), 500)).await;
                outcomes.push((reply, started.elapsed()));
            }
            outcomes
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(b);
    let outcomes = traffic.await.unwrap();
    assert!(
        outcomes.iter().any(|(r, _)| r.get("reply").is_some()),
        "served before"
    );
    let last = &outcomes.last().unwrap().0;
    assert_eq!(failure(last).0, "no_such_component", "{last}");
    for (reply, took) in &outcomes {
        assert!(*took < Duration::from_millis(1500), "{reply} took {took:?}");
        if let Some(error) = reply.get("error") {
            let variant = error["variant"].as_str().unwrap();
            assert!(
                ["no_such_component", "timeout"].contains(&variant),
                "{reply}"
            );
        }
    }

    // The survivors keep serving, and host-b drops out of host-a's view.
    let reply = ask(&alice, request("on-c", echo, 2000)).await;
    assert_eq!(reply["reply"]["source"], "alice", "{reply}");
    let until = Instant::now() + Duration::from_secs(10);
    while a.peers().iter().any(|p| p.host == "host-b") {
        assert!(Instant::now() < until, "host-b is still listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_fails_requests_cleanly_then_serves_again() {
    let mut nats = NatsServer::start();
    let a = host(&nats, "host-a", &[]).await;
    let b = host(&nats, "host-b", &[("alice", &[(Message, "bob")])]).await;
    let alice = start(&a, "alice", &[(Message, "bob")]).await;
    start(&b, "bob", &[]).await;
    sees(&a, "host-b", &["bob"]).await;
    let echo = json!({ "op": "echo" });
    assert_eq!(
        ask(&alice, request("bob", echo.clone(), 2000)).await["reply"]["source"],
        "alice"
    );

    // In flight while the server dies: a typed error by the timeout, never later.
    let in_flight = {
        let alice = alice.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let reply = ask(
                &alice,
                request("bob", json!({ "op": "busy", "ms": 400 }), 1000),
            )
            .await;
            (reply, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    nats.kill();
    let (reply, took) = in_flight.await.unwrap();
    assert!(reply.get("error").is_some(), "{reply}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    let down = ask(&alice, request("bob", echo.clone(), 500)).await;
    assert!(down.get("error").is_some(), "{down}");

    nats.start_again();
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = ask(&alice, request("bob", echo.clone(), 500)).await;
        if reply["reply"]["source"] == "alice" {
            break;
        }
        assert!(Instant::now() < until, "never served again: {reply}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
