//! Storage in NATS JetStream key-value buckets (`Storage::nats`), against a real nats-server
//! on loopback: the conformance suite of `storage.rs` runs on it too (its `nats` cases); here,
//! what only several hosts on one NATS can show: namespaces shared by hosts and isolated from
//! each other and from other applications, compare-and-swap and increments across hosts,
//! quotas on shared counts, a server restart, and `[storage] backend = "nats"`.

use std::path::Path;
use std::time::Duration;

use airssys_host::storage::{Expect, Quota, QuotaLimit, Storage, StorageError, Usage};
use airssys_host::{
    AppManifest, Capabilities, CapabilityKind, ClusterConfig, ComponentHandle, Host, LoadOptions,
    Mode,
};
use airssys_tests::guest;
use airssys_tests::nats::NatsServer;
use serde_json::{Value, json};

const KEEPER: &str = "tests/fixtures/keeper";

/// A store of application `app` on `server`, on a connection of its own (as each host has).
pub(crate) async fn nats_storage(server: &NatsServer, app: &str) -> Storage {
    let client = ClusterConfig::new([server.url()], app)
        .expect("cluster settings")
        .connect()
        .await
        .expect("connecting to nats-server");
    Storage::nats(client, app).await.expect("JetStream answers")
}

/// A host on `storage` running the keeper fixture, granted every `app.` namespace.
async fn keeper_host(storage: Storage) -> (Host, ComponentHandle) {
    let host = Host::builder()
        .mode(Mode::Permissive)
        .storage(storage)
        .build()
        .unwrap();
    let mut grants = Capabilities::default();
    grants.add(CapabilityKind::Storage, "app.>").unwrap();
    let keeper = host
        .load_with(
            guest(KEEPER),
            LoadOptions::new().address("keeper").grants(grants),
        )
        .await
        .unwrap();
    (host, keeper)
}

async fn keep(keeper: &ComponentHandle, ns: &str, mut op: Value) -> Value {
    op["ns"] = json!(ns);
    keeper.request_json(&op).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_on_one_host_reads_what_a_guest_on_another_wrote() {
    let server = NatsServer::start();
    let (_a, keeper_a) = keeper_host(nats_storage(&server, "shop").await).await;
    let (_b, keeper_b) = keeper_host(nats_storage(&server, "shop").await).await;
    let ns = "app.cart";

    let revision = keep(
        &keeper_a,
        ns,
        json!({"op": "set", "key": "alice", "value": "3 apples"}),
    )
    .await;
    assert_eq!(
        keep(&keeper_b, ns, json!({"op": "get", "key": "alice"})).await,
        json!({"value": "3 apples", "revision": revision})
    );
    // And back: B's compare-and-swap on A's revision, seen by A.
    let swapped = keep(
        &keeper_b,
        ns,
        json!({"op": "cas", "key": "alice", "expect": {"revision": revision}, "value": "4 apples"}),
    )
    .await;
    assert!(
        swapped.as_u64() > revision.as_u64(),
        "{swapped} after {revision}"
    );
    let stale = keep(
        &keeper_a,
        ns,
        json!({"op": "cas", "key": "alice", "expect": {"revision": revision}, "value": "5 apples"}),
    )
    .await;
    assert_eq!(stale["error"]["kind"], "conflict", "{stale}");
    assert_eq!(stale["error"]["current"]["value"], "4 apples", "{stale}");

    keep(
        &keeper_b,
        ns,
        json!({"op": "batch", "writes": [{"set": ["bob", "1 pear"]}, {"delete": "alice"}]}),
    )
    .await;
    assert_eq!(
        keep(&keeper_a, ns, json!({"op": "keys", "prefix": ""})).await,
        json!([b"bob".to_vec()])
    );
}

/// The same key in two namespaces, keys that a naive encoding would merge (separators, NUL,
/// 0xFF, text that spells another namespace), and the same namespace in another application:
/// each sees only its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_and_applications_stay_apart() {
    let server = NatsServer::start();
    let (_a, keeper_a) = keeper_host(nats_storage(&server, "shop").await).await;
    let (_b, keeper_b) = keeper_host(nats_storage(&server, "shop").await).await;
    let (_other, keeper_other) = keeper_host(nats_storage(&server, "other").await).await;

    // `app.a` + key `b.k` against `app.a.b` + key `k`, `app.a-b`, `app.a_b`...
    let spaces = ["app.a", "app.a.b", "app.a-b", "app.a_b", "app.a_hb"];
    let keys: [&[u8]; 6] = [b"k", b"b.k", b".", b"\0", b"\xff\xfe", b"usage"];
    for ns in spaces {
        for key in keys {
            keep(
                &keeper_a,
                ns,
                json!({"op": "set", "key": key, "value": format!("{ns} owns this")}),
            )
            .await;
        }
    }
    for ns in spaces {
        let mut sorted: Vec<Vec<u8>> = keys.iter().map(|key| key.to_vec()).collect();
        sorted.sort();
        assert_eq!(
            keep(&keeper_b, ns, json!({"op": "keys", "prefix": ""})).await,
            json!(sorted),
            "{ns}"
        );
        for key in keys {
            assert_eq!(
                keep(&keeper_b, ns, json!({"op": "get", "key": key})).await["value"],
                format!("{ns} owns this"),
                "{ns} {key:?}"
            );
        }
    }
    // Another application on the same NATS sees none of it, and its writes stay its own.
    let seen = keep(
        &keeper_other,
        "app.a",
        json!({"op": "isolation", "key": "k", "value": "other's", "others": ["app.a.b"]}),
    )
    .await;
    assert_eq!(seen, json!([{"get": null, "keys": []}]));
    assert_eq!(
        keep(&keeper_a, "app.a", json!({"op": "get", "key": "k"})).await["value"],
        "app.a owns this"
    );
}

/// Increments and compare-and-swap loops from two hosts at once, on one key: every one counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_and_cas_from_two_hosts_sum_exactly() {
    let server = NatsServer::start();
    let (_a, keeper_a) = keeper_host(nats_storage(&server, "shop").await).await;
    let (_b, keeper_b) = keeper_host(nats_storage(&server, "shop").await).await;
    let ns = "app.counters";
    let increments = |keeper: ComponentHandle| async move {
        keep(
            &keeper,
            ns,
            json!({"op": "repeat", "times": 40, "of": {"op": "increment", "key": "hits", "by": 1}}),
        )
        .await
    };
    let add_ones = |keeper: ComponentHandle| async move {
        keep(
            &keeper,
            ns,
            json!({"op": "add_one", "key": "json", "times": 25}),
        )
        .await
    };
    let (a, b, c, d) = tokio::join!(
        tokio::spawn(increments(keeper_a.clone())),
        tokio::spawn(increments(keeper_b.clone())),
        tokio::spawn(add_ones(keeper_a.clone())),
        tokio::spawn(add_ones(keeper_b.clone())),
    );
    for reply in [a, b, c, d] {
        let reply = reply.unwrap();
        assert!(reply.is_i64(), "{reply}");
    }
    assert_eq!(
        keep(&keeper_a, ns, json!({"op": "get", "key": "hits"})).await["value"],
        "80"
    );
    assert_eq!(
        keep(&keeper_b, ns, json!({"op": "get", "key": "json"})).await["value"],
        "50"
    );

    // The embedder's compare-and-swap on one host sees the other host's writes.
    let one = nats_storage(&server, "shop").await.namespace(ns).unwrap();
    let entry = one.entry("hits").await.unwrap().unwrap();
    keep(
        &keeper_b,
        ns,
        json!({"op": "increment", "key": "hits", "by": 1}),
    )
    .await;
    let err = one
        .compare_and_swap("hits", Expect::Revision(entry.revision), Some("0".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::Conflict { current: Some(now), .. } if now.value == "81"),
        "{err:?}"
    );
}

/// Each host checks its own quota against the namespace's shared counts: what one host wrote
/// counts against the other's limit, and the refusal is the typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_count_what_every_host_wrote() {
    let server = NatsServer::start();
    let tight = Quota::new().max_keys(2).max_value_size(16);
    let a = nats_storage(&server, "shop")
        .await
        .namespace_quota("app.small", tight)
        .unwrap();
    let b = nats_storage(&server, "shop").await;
    b.namespace("app.small")
        .unwrap()
        .set("from-b", "1")
        .await
        .unwrap();

    let (_host, keeper) = keeper_host(a.clone()).await;
    keep(
        &keeper,
        "app.small",
        json!({"op": "set", "key": "from-a", "value": "2"}),
    )
    .await;
    let refused = keep(
        &keeper,
        "app.small",
        json!({"op": "set", "key": "third", "value": "3"}),
    )
    .await;
    assert_eq!(refused["error"]["kind"], "quota_exceeded", "{refused}");
    assert_eq!(refused["error"]["limit"], "Keys", "{refused}");
    assert_eq!(
        (
            refused["error"]["max"].as_u64(),
            refused["error"]["actual"].as_u64()
        ),
        (Some(2), Some(3))
    );

    let ns = a.namespace("app.small").unwrap();
    let err = ns.set("big", vec![0u8; 17]).await.unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::QuotaExceeded {
                limit: QuotaLimit::ValueSize,
                max: 16,
                actual: 17,
                ..
            }
        ),
        "{err:?}"
    );
    // Host B's default quota lets it grow the namespace; the counts stay exact for both.
    b.namespace("app.small")
        .unwrap()
        .set("from-b-2", "22")
        .await
        .unwrap();
    assert_eq!(ns.usage().await.unwrap(), Usage { keys: 3, bytes: 24 });
    assert_eq!(b.namespaces().await.unwrap(), ["app.small"]);
}

/// While the server is down every call fails with a typed error (nothing hangs); once it is
/// back, the same store reconnects, with everything written before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_fails_calls_cleanly_then_serves_again() {
    let mut server = NatsServer::start();
    let storage = nats_storage(&server, "shop").await;
    let (_host, keeper) = keeper_host(storage.clone()).await;
    let ns = storage.namespace("app.kept").unwrap();
    ns.set("before", "1").await.unwrap();

    server.kill();
    let bound = Duration::from_secs(30);
    let err = tokio::time::timeout(bound, ns.set("during", "x"))
        .await
        .expect("a write while the server is down fails within the request timeout")
        .unwrap_err();
    assert!(matches!(err, StorageError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("nats bucket"), "{err}");
    let err = tokio::time::timeout(bound, ns.get("before"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, StorageError::Unavailable { .. }), "{err:?}");
    let reply = tokio::time::timeout(
        bound,
        keep(&keeper, "app.kept", json!({"op": "get", "key": "before"})),
    )
    .await
    .unwrap();
    assert_eq!(reply["error"]["kind"], "unavailable", "{reply}");

    server.start_again();
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match ns.set("after", "2").await {
            Ok(_) => break,
            Err(err) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no reconnect: {err}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(ns.get("before").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(ns.get("during").await.unwrap(), None);
    assert_eq!(
        keep(&keeper, "app.kept", json!({"op": "get", "key": "after"})).await["value"],
        "2"
    );
    assert_eq!(ns.usage().await.unwrap().keys, 2);
}

/// `[storage] backend = "nats"` opens the store through `[cluster]`, whose hosts the
/// manifest's host joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_puts_storage_in_nats() {
    let server = NatsServer::start();
    let manifest = format!(
        "[storage]\nbackend = \"nats\"\n[cluster]\nservers = [\"{}\"]\napp = \"shop\"\n[components.a]\nsource = \"a.wasm\"\n",
        server.url()
    );
    let app = AppManifest::from_toml(&manifest, Path::new("/app")).unwrap();
    let host = app.host_builder_async().await.unwrap().build().unwrap();
    let storage = host.storage().expect("a store").clone();
    storage
        .namespace("app.m")
        .unwrap()
        .set("k", "v")
        .await
        .unwrap();
    let other = nats_storage(&server, "shop").await;
    assert_eq!(
        other
            .namespace("app.m")
            .unwrap()
            .get("k")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"v"[..])
    );

    // The same host joined the application: a second host of it sees the first.
    let second = AppManifest::from_toml(
        &manifest.replace("app = \"shop\"", "app = \"shop\"\nhost = \"second\""),
        Path::new("/app"),
    )
    .unwrap();
    let second = second.host_builder_async().await.unwrap().build().unwrap();
    let joined = async {
        while !second.peers().iter().any(|peer| peer.host != "second") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), joined)
        .await
        .expect("the manifest's host announces itself to the application's other hosts");
    drop((host, second));

    let err = Storage::nats(
        ClusterConfig::new([server.url()], "shop")
            .unwrap()
            .connect()
            .await
            .unwrap(),
        "not.a.token",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("application name `not.a.token`"),
        "{err}"
    );
}
