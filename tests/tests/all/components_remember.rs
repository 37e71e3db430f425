//! Storage through real components: `tests/fixtures/keeper` (the SDK's `airssys::storage`,
//! declaring every namespace, so the grants decide) and `tests/fixtures/wasi-kv` (plain
//! wit-bindgen and `wasi:keyvalue`, no SDK), on one store, under the same gate, quotas and
//! limits. Killing the host process is in the CLI's tests (`cli/tests/all/storage.rs`).

use std::path::Path;

use airssys_host::storage::{Quota, Storage};
use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, Host, Limits, LoadOptions, Mode,
};
use airssys_tests::{guest, workspace_root};
use serde_json::{Value, json};

const KEEPER: &str = "tests/fixtures/keeper";
const WASI_KV: &str = "tests/fixtures/wasi-kv";

fn storage_grants(patterns: &[&str]) -> Capabilities {
    let mut grants = Capabilities::default();
    for pattern in patterns {
        grants.add(CapabilityKind::Storage, pattern).unwrap();
    }
    grants
}

/// A permissive host on `storage`: the grants decide what each component reaches.
fn host(storage: Storage) -> Host {
    Host::builder()
        .mode(Mode::Permissive)
        .storage(storage)
        .build()
        .unwrap()
}

async fn start(
    host: &Host,
    fixture: &str,
    address: &str,
    grants: &[&str],
    limits: Option<Limits>,
) -> ComponentHandle {
    let mut options = LoadOptions::new()
        .address(address)
        .grants(storage_grants(grants));
    if let Some(limits) = limits {
        options = options.limits(limits);
    }
    host.load_with(guest(fixture), options).await.unwrap()
}

/// One keeper request on namespace `ns`: `op` with `"ns"` added.
async fn keep(keeper: &ComponentHandle, ns: &str, mut op: Value) -> Value {
    op["ns"] = json!(ns);
    keeper.request_json(&op).await.unwrap()
}

/// One wasi-kv request on bucket `bucket`.
async fn wasi(component: &ComponentHandle, bucket: &str, mut op: Value) -> Value {
    op["bucket"] = json!(bucket);
    component.request_json(&op).await.unwrap()
}

fn error_kind(reply: &Value) -> &str {
    reply["error"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a storage error, got {reply}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_through_a_component() {
    let host = host(Storage::in_memory());
    let keeper = start(&host, KEEPER, "keeper", &["app.>"], None).await;
    let ns = "app.cart";

    assert_eq!(
        keep(&keeper, ns, json!({"op": "get", "key": "k"})).await,
        Value::Null
    );
    assert_eq!(
        keep(&keeper, ns, json!({"op": "exists", "key": "k"})).await,
        json!(false)
    );
    let first = keep(&keeper, ns, json!({"op": "set", "key": "k", "value": "v1"})).await;
    let got = keep(&keeper, ns, json!({"op": "get", "key": "k"})).await;
    assert_eq!(got, json!({"value": "v1", "revision": first}));
    assert_eq!(
        keep(&keeper, ns, json!({"op": "exists", "key": "k"})).await,
        json!(true)
    );
    keep(&keeper, ns, json!({"op": "delete", "key": "k"})).await;
    keep(&keeper, ns, json!({"op": "delete", "key": "k"})).await; // absent: not an error
    assert_eq!(
        keep(&keeper, ns, json!({"op": "get", "key": "k"})).await,
        Value::Null
    );

    // Compare-and-swap: on absence, on the revision read, on the value; a conflict carries
    // what the key holds now.
    let cas = |expect: Value, value: Value| json!({"op": "cas", "key": "c", "expect": expect, "value": value});
    let created = keep(&keeper, ns, cas(json!("absent"), json!("1"))).await;
    assert!(created.is_u64(), "{created}");
    let conflict = keep(&keeper, ns, cas(json!("absent"), json!("x"))).await;
    assert_eq!(error_kind(&conflict), "conflict");
    assert_eq!(
        conflict["error"]["current"],
        json!({"value": "1", "revision": created})
    );
    let swapped = keep(&keeper, ns, cas(json!({"revision": created}), json!("2"))).await;
    let stale = keep(&keeper, ns, cas(json!({"revision": created}), json!("3"))).await;
    assert_eq!(error_kind(&stale), "conflict", "a stale revision");
    assert_eq!(stale["error"]["current"]["revision"], swapped);
    keep(&keeper, ns, cas(json!({"value": "2"}), json!("4"))).await;
    keep(&keeper, ns, cas(json!({"value": "4"}), Value::Null)).await; // swap to nothing: delete
    assert_eq!(
        keep(&keeper, ns, json!({"op": "get", "key": "c"})).await,
        Value::Null
    );

    // Increments, stored as decimal text.
    let inc = |by: i64| json!({"op": "increment", "key": "n", "by": by});
    assert_eq!(keep(&keeper, ns, inc(41)).await, json!(41));
    assert_eq!(keep(&keeper, ns, inc(1)).await, json!(42));
    assert_eq!(
        keep(&keeper, ns, json!({"op": "get", "key": "n"})).await["value"],
        "42"
    );
    let overflow = keep(&keeper, ns, inc(i64::MAX)).await;
    assert_eq!(error_kind(&overflow), "invalid");
    assert!(
        overflow["error"]["message"]
            .as_str()
            .unwrap()
            .contains("overflows"),
        "{overflow}"
    );
    keep(
        &keeper,
        ns,
        json!({"op": "set", "key": "word", "value": "apple"}),
    )
    .await;
    let word = keep(
        &keeper,
        ns,
        json!({"op": "increment", "key": "word", "by": 1}),
    )
    .await;
    assert_eq!(error_kind(&word), "not_an_integer");

    // Empty keys and bad namespace names are invalid, not denied.
    let empty = keep(&keeper, ns, json!({"op": "set", "key": "", "value": "x"})).await;
    assert_eq!(error_kind(&empty), "invalid");
    let bad = keep(&keeper, "app..x", json!({"op": "open"})).await;
    assert_eq!(error_kind(&bad), "invalid");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty token"),
        "{bad}"
    );
    assert_eq!(keeper.stats().denials, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_key_once_in_order() {
    let host = host(Storage::in_memory());
    let keeper = start(&host, KEEPER, "keeper", &["pages"], None).await;
    let writes: Vec<Value> = (0..25)
        .map(|i| json!({"set": [format!("p/{i:02}"), "x"]}))
        .chain([json!({"set": ["o/0", "x"]}), json!({"set": ["q/0", "x"]})])
        .collect();
    keep(&keeper, "pages", json!({"op": "batch", "writes": writes})).await;

    let mut keys = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let page = keep(
            &keeper,
            "pages",
            json!({"op": "list", "prefix": "p/", "cursor": cursor, "limit": 10}),
        )
        .await;
        keys.extend(page["keys"].as_array().unwrap().iter().cloned());
        pages += 1;
        cursor = page["cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<Value> = (0..25)
        .map(|i| json!(format!("p/{i:02}").into_bytes()))
        .collect();
    assert_eq!(keys, expected, "keys are bytes, in order, each once");
    let iterated = keep(&keeper, "pages", json!({"op": "keys", "prefix": "p/"})).await;
    assert_eq!(
        iterated,
        json!(expected),
        "the SDK's paging iterator agrees"
    );
    let junk = keep(
        &keeper,
        "pages",
        json!({"op": "list", "prefix": "", "cursor": "zz", "limit": 10}),
    )
    .await;
    assert_eq!(error_kind(&junk), "invalid");
}

/// Four SDK components and two wasi:keyvalue components add one to the same counter with
/// compare-and-swap, all at once: every addition lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_compare_and_swap_loses_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(Storage::open(dir.path().join("store.redb")).unwrap());
    let mut calls = Vec::new();
    for i in 0..4 {
        let keeper = start(&host, KEEPER, &format!("keeper-{i}"), &["shared"], None).await;
        calls.push(tokio::spawn(async move {
            keep(
                &keeper,
                "shared",
                json!({"op": "add_one", "key": "count", "times": 25}),
            )
            .await
        }));
    }
    for i in 0..2 {
        let wasi_kv = start(&host, WASI_KV, &format!("wasi-{i}"), &["shared"], None).await;
        calls.push(tokio::spawn(async move {
            wasi(
                &wasi_kv,
                "shared",
                json!({"op": "cas_add", "key": "count", "times": 25}),
            )
            .await
        }));
    }
    for call in calls {
        let reply = call.await.unwrap();
        assert!(reply.get("error").is_none(), "{reply}");
    }
    let keeper = start(&host, KEEPER, "reader", &["shared"], None).await;
    let count = keep(&keeper, "shared", json!({"op": "get", "key": "count"})).await;
    assert_eq!(count["value"], "150", "6 components x 25 additions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_commits_all_or_nothing() {
    let limits = Limits::new().storage(Quota::new().max_keys(3));
    let host = host(Storage::in_memory());
    let keeper = start(&host, KEEPER, "keeper", &["b"], Some(limits)).await;
    keep(&keeper, "b", json!({"op": "set", "key": "a", "value": "1"})).await;

    let too_many = json!({"op": "batch", "writes": [
        {"set": ["x", "1"]}, {"delete": "a"}, {"set": ["y", "1"]}, {"set": ["z", "1"]}, {"set": ["w", "1"]},
    ]});
    let refused = keep(&keeper, "b", too_many).await;
    assert_eq!(error_kind(&refused), "quota_exceeded");
    assert_eq!(refused["error"]["limit"], "Keys");
    let keys = keep(&keeper, "b", json!({"op": "keys", "prefix": ""})).await;
    assert_eq!(
        keys,
        json!([b"a"]),
        "nothing of the refused batch was written"
    );

    let fits = json!({"op": "batch", "writes": [{"set": ["x", "1"]}, {"delete": "a"}, {"set": ["y", "2"]}]});
    assert_eq!(keep(&keeper, "b", fits).await, Value::Null);
    let keys = keep(&keeper, "b", json!({"op": "keys", "prefix": ""})).await;
    assert_eq!(keys, json!([b"x", b"y"]));
}

/// Keys with separators, NUL, bytes that are not UTF-8 and the longest allowed length never
/// reach another namespace, whichever name could be spliced from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_stay_in_their_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let host = host(Storage::open(dir.path().join("store.redb")).unwrap());
    let keeper = start(&host, KEEPER, "keeper", &["app.>"], None).await;
    let hostile: Vec<Value> = vec![
        json!(".b\u{0}k"),
        json!("b.k"),
        json!("\u{0}"),
        json!("kv:app.a.b"),
        json!("meta:namespaces"),
        json!([0xff, 0x00, 0x2e, 0xfe]),
        json!("x".repeat(1024)),
    ];
    for key in &hostile {
        let seen = keep(
            &keeper,
            "app.a",
            json!({"op": "isolation", "key": key, "value": "secret", "others": ["app.a.b", "app.b", "app.ab"]}),
        )
        .await;
        assert_eq!(
            seen,
            json!([{"get": null, "keys": []}, {"get": null, "keys": []}, {"get": null, "keys": []}]),
            "key {key}"
        );
    }
    let mine = keep(&keeper, "app.a", json!({"op": "keys", "prefix": ""})).await;
    assert_eq!(mine.as_array().unwrap().len(), hostile.len());
    let too_long = keep(
        &keeper,
        "app.a",
        json!({"op": "set", "key": "x".repeat(1025), "value": "v"}),
    )
    .await;
    assert_eq!(error_kind(&too_long), "quota_exceeded");
    assert_eq!(too_long["error"]["limit"], "KeySize");

    // Another component granted other namespaces cannot open these at all.
    let other = start(&host, KEEPER, "other", &["other.>"], None).await;
    let denied = keep(&other, "app.a", json!({"op": "keys", "prefix": ""})).await;
    assert_eq!(error_kind(&denied), "denied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_and_the_namespace_count_are_typed() {
    let storage = Storage::in_memory()
        .namespace_quota("q.small", Quota::new().max_bytes(16))
        .unwrap();
    let limits = Limits::new()
        .storage(Quota::new().max_value_size(8))
        .namespaces(3);
    let host = host(storage);
    let keeper = start(&host, KEEPER, "keeper", &["q.>"], Some(limits)).await;

    let big = keep(
        &keeper,
        "q.a",
        json!({"op": "set", "key": "k", "value": "123456789"}),
    )
    .await;
    assert_eq!(error_kind(&big), "quota_exceeded");
    assert_eq!(
        (
            big["error"]["limit"].clone(),
            big["error"]["max"].clone(),
            big["error"]["actual"].clone()
        ),
        (json!("ValueSize"), json!(8), json!(9))
    );
    let message = big["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("namespace `q.a`") && message.contains("max_value_size"),
        "{message}"
    );

    // The namespace's own quota (set by the embedder) holds too: the lower limit wins.
    keep(
        &keeper,
        "q.small",
        json!({"op": "set", "key": "k1", "value": "12345678"}),
    )
    .await;
    let full = keep(
        &keeper,
        "q.small",
        json!({"op": "set", "key": "k2", "value": "12345678"}),
    )
    .await;
    assert_eq!(full["error"]["limit"], "Bytes", "{full}");

    // Three namespaces so far (q.a, q.small, and this one); a fourth is refused, and
    // reopening one already counted is not.
    keep(&keeper, "q.c", json!({"op": "open"})).await;
    let fourth = keep(&keeper, "q.d", json!({"op": "open"})).await;
    assert_eq!(error_kind(&fourth), "quota_exceeded");
    assert_eq!(fourth["error"]["limit"], "Namespaces");
    assert!(
        fourth["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`namespaces` limit"),
        "{fourth}"
    );
    assert_eq!(
        keep(&keeper, "q.a", json!({"op": "open"})).await,
        json!("q.a")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_hold_handles_without_end() {
    let host = host(Storage::in_memory());
    let limits = Limits::new().namespaces(2000);
    let keeper = start(&host, KEEPER, "keeper", &["h.>"], Some(limits)).await;
    let reply = keep(
        &keeper,
        "-",
        json!({"op": "open_many", "prefix": "h", "count": 1100}),
    )
    .await;
    assert_eq!(error_kind(&reply), "unavailable");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024 storage handles"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denials_are_typed_audited_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let host = Host::builder()
        .mode(Mode::Permissive)
        .storage(Storage::in_memory())
        .audit_log(&audit)
        .build()
        .unwrap();
    let keeper = start(&host, KEEPER, "keeper", &["app.x"], None).await;
    keep(
        &keeper,
        "app.x",
        json!({"op": "set", "key": "k", "value": "v"}),
    )
    .await;
    let denied = keep(&keeper, "app.y", json!({"op": "get", "key": "k"})).await;
    assert_eq!(error_kind(&denied), "denied");
    let message = denied["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("storage `app.y` is not allowed for keeper@0.1.0"),
        "{message}"
    );
    assert_eq!(keeper.stats().denials, 1);

    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let decisions: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["resource"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    // The open and the set were each decided; so was the refused open.
    assert_eq!(
        decisions,
        [
            ("app.x", "allowed"),
            ("app.x", "allowed"),
            ("app.y", "denied")
        ]
    );
    assert!(lines.iter().all(|l| l["capability"] == "storage"));

    // Without a store, the guest is told what the operator must do.
    let bare = Host::builder().mode(Mode::Permissive).build().unwrap();
    let keeper = start(&bare, KEEPER, "keeper", &["app.x"], None).await;
    let none = keep(&keeper, "app.x", json!({"op": "open"})).await;
    assert_eq!(error_kind(&none), "unavailable");
    assert!(
        none["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`[storage]` in airssys.toml"),
        "{none}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_new_instance_and_a_new_host_on_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let storage = Storage::open(&path).unwrap();
        let host = host(storage.clone());
        let keeper = start(&host, KEEPER, "keeper", &["kept"], None).await;
        keep(
            &keeper,
            "kept",
            json!({"op": "set", "key": "a", "value": "1"}),
        )
        .await;
        keep(
            &keeper,
            "kept",
            json!({"op": "increment", "key": "n", "by": 41}),
        )
        .await;
        keeper.shutdown().await.unwrap();
        // A fresh instance at the same address sees the data.
        let again = start(&host, KEEPER, "keeper", &["kept"], None).await;
        assert_eq!(
            keep(&again, "kept", json!({"op": "get", "key": "a"})).await["value"],
            "1"
        );
        again.shutdown().await.unwrap();
        storage.close().await.unwrap();
    }
    let storage = Storage::open(&path).unwrap();
    let host = host(storage);
    let keeper = start(&host, KEEPER, "keeper", &["kept"], None).await;
    assert_eq!(
        keep(
            &keeper,
            "kept",
            json!({"op": "increment", "key": "n", "by": 1})
        )
        .await,
        json!(42)
    );
    // The embedder reads the same namespace host-side.
    let kept = host.storage().unwrap().namespace("kept").unwrap();
    assert_eq!(kept.get("n").await.unwrap().as_deref(), Some(&b"42"[..]));
}

/// The component built without the SDK, through `wasi:keyvalue`, sharing a namespace with an
/// SDK component, under its own grants and limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_keyvalue_component_without_the_sdk_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let limits = Limits::new().storage(Quota::new().max_value_size(16));
    {
        let host = host(Storage::open(&path).unwrap());
        // Strict mode would refuse it: it declares `wasi.*`, and only `wasi.a` is granted.
        let kv = start(
            &host,
            WASI_KV,
            "wasi-kv",
            &["shared", "wasi.a"],
            Some(limits.clone()),
        )
        .await;
        let keeper = start(&host, KEEPER, "keeper", &["shared"], None).await;

        assert_eq!(
            wasi(&kv, "wasi.a", json!({"op": "get", "key": "k"})).await,
            Value::Null
        );
        wasi(
            &kv,
            "wasi.a",
            json!({"op": "set", "key": "k", "value": "v"}),
        )
        .await;
        assert_eq!(
            wasi(&kv, "wasi.a", json!({"op": "get", "key": "k"})).await,
            json!("v")
        );
        assert_eq!(
            wasi(&kv, "wasi.a", json!({"op": "exists", "key": "k"})).await,
            json!(true)
        );
        wasi(&kv, "wasi.a", json!({"op": "delete", "key": "k"})).await;
        assert_eq!(
            wasi(&kv, "wasi.a", json!({"op": "exists", "key": "k"})).await,
            json!(false)
        );

        // Batches, and paging through more keys than one page holds.
        let pairs: Vec<(String, String)> = (0..1500)
            .map(|i| (format!("k{i:04}"), "v".to_owned()))
            .collect();
        wasi(&kv, "wasi.a", json!({"op": "set_many", "pairs": pairs})).await;
        let listed = wasi(&kv, "wasi.a", json!({"op": "list"})).await;
        let expected: Vec<String> = (0..1500).map(|i| format!("k{i:04}")).collect();
        assert_eq!(listed, json!(expected));
        let many = wasi(
            &kv,
            "wasi.a",
            json!({"op": "get_many", "keys": ["k0001", "nope"]}),
        )
        .await;
        assert_eq!(many, json!([["k0001", "v"], ["nope", null]]));
        wasi(
            &kv,
            "wasi.a",
            json!({"op": "delete_many", "keys": expected}),
        )
        .await;
        assert_eq!(wasi(&kv, "wasi.a", json!({"op": "list"})).await, json!([]));

        // A counter shared with the SDK component: both store decimal text.
        wasi(
            &kv,
            "shared",
            json!({"op": "increment", "key": "hits", "by": 2}),
        )
        .await;
        keep(
            &keeper,
            "shared",
            json!({"op": "increment", "key": "hits", "by": 3}),
        )
        .await;
        assert_eq!(
            wasi(
                &kv,
                "shared",
                json!({"op": "increment", "key": "hits", "by": 0})
            )
            .await,
            json!(5)
        );
        // A key the SDK wrote that is not UTF-8 cannot be named by a string, so it is not listed.
        keep(
            &keeper,
            "shared",
            json!({"op": "set", "key": [0xff], "value": "x"}),
        )
        .await;
        assert_eq!(
            wasi(&kv, "shared", json!({"op": "list"})).await,
            json!(["hits"])
        );

        // A swap through a handle made before another write fails, handing back a fresh one.
        wasi(
            &kv,
            "shared",
            json!({"op": "set", "key": "c", "value": "7"}),
        )
        .await;
        let stale = wasi(
            &kv,
            "shared",
            json!({"op": "stale_swap", "key": "c", "value": "8"}),
        )
        .await;
        assert_eq!(stale, json!({"cas_failed": "7"}));
        let added = wasi(
            &kv,
            "shared",
            json!({"op": "cas_add", "key": "c", "times": 3}),
        )
        .await;
        assert_eq!(added, json!({"last": 10, "retries": 0}));

        // Its own grants and limits.
        assert_eq!(
            wasi(&kv, "wasi.b", json!({"op": "open"})).await,
            json!({"error": "access-denied"})
        );
        assert_eq!(
            wasi(&kv, "wasi..b", json!({"op": "open"})).await,
            json!({"error": "no-such-store"})
        );
        assert_eq!(kv.stats().denials, 1);
        let big = wasi(
            &kv,
            "wasi.a",
            json!({"op": "set", "key": "k", "value": "x".repeat(17)}),
        )
        .await;
        let big = big["error"].as_str().unwrap();
        assert!(
            big.starts_with("other: ") && big.contains("max_value_size"),
            "{big}"
        );
        host.storage().unwrap().close().await.unwrap();
    }
    // A new host on the file: the data is there for both kinds of component.
    let host = host(Storage::open(&path).unwrap());
    let kv = start(&host, WASI_KV, "wasi-kv", &["shared"], None).await;
    assert_eq!(
        wasi(&kv, "shared", json!({"op": "get", "key": "c"})).await,
        json!("10")
    );
    let keeper = start(&host, KEEPER, "keeper", &["shared"], None).await;
    assert_eq!(
        keep(&keeper, "shared", json!({"op": "get", "key": "hits"})).await["value"],
        "5"
    );
}

/// What `examples/visits` promises: its operator file works, and the count continues on a new
/// host on the same file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_visits_example_counts_across_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let app = format!(
        "[storage]\npath = \"visits.redb\"\n[components.visits]\nsource = \"{}\"\ngrants = {{ storage = [\"visits\"] }}\n",
        guest("examples/visits").display()
    );
    let file = dir.path().join("airssys.toml");
    std::fs::write(&file, app).unwrap();
    for expected in [1, 2] {
        let app = airssys_host::AppManifest::from_file(&file).unwrap();
        let host = app.host_builder().unwrap().build().unwrap();
        let running = app.start(&host).await.unwrap();
        let reply: Value = running[0]
            .1
            .request_json(&json!({"page": "/home"}))
            .await
            .unwrap();
        assert_eq!(reply, json!({"page": "/home", "visits": expected}));
        running[0].1.shutdown().await.unwrap();
        host.storage().unwrap().close().await.unwrap();
    }
    assert!(Path::new(&dir.path().join("visits.redb")).exists());

    // The example's own operator file says what the README shows.
    let shipped = workspace_root().join("examples/visits/airssys.toml");
    let app = airssys_host::AppManifest::from_file(&shipped).unwrap();
    assert!(matches!(
        app.storage(),
        Some(airssys_host::StorageConfig::File { path, .. }) if path.ends_with("examples/visits/data/visits.redb")
    ));
    let (name, visits) = app.components().next().unwrap();
    assert_eq!(name, "visits");
    assert_eq!(
        visits.options.grants.get(CapabilityKind::Storage),
        ["visits"]
    );
    let quota = visits.options.limits.as_ref().unwrap().storage;
    assert_eq!(quota, Quota::new().max_keys(10_000).max_value_size(64));
}
