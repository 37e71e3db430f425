//! Limits of the whole host: instances and combined linear memory, each refused with its
//! typed error naming the limit, the use and the fix; and the pooling allocator, sized from
//! them.

use std::time::Duration;

use airssys_host::{
    Allocator, ComponentHandle, Error, Host, HostBuilder, HostLimit, HostUsage, Limits,
    LoadOptions, Mode, Pending, Prepared, Restart, Source, Supervision, TrapKind,
};
use airssys_tests::{guest, wat};
use serde_json::{Value, json};

const HELLO: &str = "examples/hello";
const HOSTILE: &str = "tests/fixtures/hostile";

async fn start(prepared: &Prepared, address: &str) -> airssys_host::Result<ComponentHandle> {
    prepared.start(LoadOptions::new().address(address)).await
}

fn host_limit(err: &Error) -> &HostLimit {
    match err {
        Error::HostLimit { limit, .. } => limit,
        other => panic!("expected a host limit, got {other:?}"),
    }
}

async fn greets(handle: &ComponentHandle) {
    let reply: Value = handle.request_json(&json!({ "name": "x" })).await.unwrap();
    assert_eq!(reply["text"], "Hello, x!");
}

/// Starts past `max_instances` are refused, and succeed again once one stops; a start that
/// fails gives its place back.
async fn instances_are_limited(builder: HostBuilder) {
    let host = builder
        .max_instances(2)
        .mode(Mode::Permissive)
        .build()
        .unwrap();
    let hello = host.prepare(guest(HELLO)).await.unwrap();
    let a = start(&hello, "a").await.unwrap();
    let b = start(&hello, "b").await.unwrap();
    let err = start(&hello, "c").await.unwrap_err();
    assert_eq!(
        host_limit(&err),
        &HostLimit::Instances { running: 2, max: 2 }
    );
    assert_eq!(
        err.to_string(),
        "c (greeter@0.1.0) was not started: the host already runs 2 instances, its maximum of 2; \
         stop one, or raise `HostBuilder::max_instances` (`max_instances` in `[host]`)"
    );
    assert!(
        host.component("c").is_none(),
        "a refused start is not listed"
    );
    greets(&a).await;
    a.shutdown().await.unwrap();
    let c = start(&hello, "c").await.unwrap();
    greets(&c).await;
    greets(&b).await;
    assert_eq!(host.usage().instances, 2);
    // A start whose init fails gives its place back.
    b.shutdown().await.unwrap();
    let faults = host.prepare(guest("tests/fixtures/faults")).await.unwrap();
    let failing = faults
        .start(LoadOptions::new().config("init", "fail"))
        .await;
    assert!(matches!(failing, Err(Error::Init { .. })), "{failing:?}");
    assert_eq!(host.usage().instances, 1);
    c.shutdown().await.unwrap();
    assert_eq!(
        host.usage(),
        HostUsage::default(),
        "stopped instances free everything"
    );
}

#[tokio::test]
async fn starts_past_max_instances_are_refused_until_one_stops() {
    instances_are_limited(Host::builder()).await;
}

#[tokio::test]
async fn a_pooled_host_limits_instances_the_same_way() {
    instances_are_limited(Host::builder().allocator(Allocator::Pooling)).await;
}

#[tokio::test]
async fn a_restarting_instance_keeps_its_place() {
    let host = Host::builder().max_instances(2).build().unwrap();
    let policy = Restart::new()
        .backoff(Duration::from_millis(300), Duration::from_millis(300))
        .pending(Pending::Fail);
    let options = LoadOptions::new().supervision(Supervision::Restart(policy));
    let hostile = host.load_with(guest(HOSTILE), options).await.unwrap();
    let hello = host.prepare(guest(HELLO)).await.unwrap();
    let _a = start(&hello, "a").await.unwrap();
    hostile
        .request_json::<_, Value>(&json!({ "op": "panic" }))
        .await
        .unwrap_err();
    // During the backoff the trapped instance is gone but its place is kept.
    let err = start(&hello, "b").await.unwrap_err();
    assert!(
        matches!(host_limit(&err), HostLimit::Instances { running: 2, .. }),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reply: Value = hostile.request_json(&json!({ "op": "ok" })).await.unwrap();
    assert_eq!(reply["calls"], 1, "a fresh instance serves");
}

#[tokio::test]
async fn combined_memory_is_the_instances_actual_memory() {
    let host = Host::new().unwrap();
    let hello = host.prepare(guest(HELLO)).await.unwrap();
    let a = start(&hello, "a").await.unwrap();
    let b = start(&hello, "b").await.unwrap();
    greets(&a).await;
    let held = a.memory().current + b.memory().current;
    assert!(held > 0);
    let usage = host.usage();
    assert_eq!((usage.instances, usage.memory), (2, held));
    a.shutdown().await.unwrap();
    assert_eq!(host.usage().memory, b.memory().current);
    assert_eq!(a.memory().current, 0, "a stopped instance holds none");
    b.shutdown().await.unwrap();
    assert_eq!(host.usage(), HostUsage::default());
}

#[tokio::test]
async fn a_start_whose_memory_would_pass_max_memory_is_refused() {
    // What one greeter holds once started, measured on a host without a tight limit.
    let probe = Host::new().unwrap();
    let one = probe.load(guest(HELLO)).await.unwrap().memory().current;
    // Room for two, and less than one wasm page (any initial memory) more.
    let max = 2 * one + (32 << 10);
    let host = Host::builder().max_memory(max).build().unwrap();
    let hello = host.prepare(guest(HELLO)).await.unwrap();
    let a = start(&hello, "a").await.unwrap();
    let _b = start(&hello, "b").await.unwrap();
    let err = start(&hello, "c").await.unwrap_err();
    let HostLimit::Memory {
        used,
        requested,
        max: limit,
    } = *host_limit(&err)
    else {
        panic!("{err}")
    };
    assert_eq!((used, limit), (2 * one, max), "{err}");
    assert!(used + requested > max, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("c (greeter@0.1.0) was not started: its ")
            && message.contains("raise `HostBuilder::max_memory` (`max_memory` in `[host]`)"),
        "{message}"
    );
    // The refused start charged nothing; a stop makes room.
    assert_eq!(host.usage().memory, 2 * one);
    a.shutdown().await.unwrap();
    greets(&start(&hello, "c").await.unwrap()).await;
}

#[tokio::test]
async fn growth_past_max_memory_fails_in_the_guest() {
    let max = 16 << 20;
    let host = Host::builder().max_memory(max).build().unwrap();
    let options = LoadOptions::new()
        .limits(Limits::new().memory(64 << 20))
        .supervision(Supervision::Stop);
    let bomb = host.load_with(guest(HOSTILE), options).await.unwrap();
    let err = bomb
        .request_json::<_, Value>(&json!({ "op": "allocate" }))
        .await
        .unwrap_err();
    let Error::Trap { trap, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(trap.kind, TrapKind::HostMemoryLimit(max), "{err}");
    assert!(
        err.to_string()
            .contains("the host's combined memory limit of 16777216 bytes is reached"),
        "{err}"
    );
    assert!(bomb.memory().peak <= max);
    // The policy stops it; by then its memory and place are free.
    tokio::time::timeout(Duration::from_secs(5), async {
        while bomb.is_running() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("stopped by its policy");
    assert_eq!(host.usage(), HostUsage::default());
    greets(&host.load(guest(HELLO)).await.unwrap()).await;
}

#[tokio::test]
async fn an_exhausted_pool_is_a_typed_error() {
    // One instance's worth of pool: two memories; the hog needs three.
    let host = Host::builder()
        .allocator(Allocator::Pooling)
        .max_instances(1)
        .build()
        .unwrap();
    let err = host
        .load(Source::bytes("pool-hog.wasm", wat("pool_hog")))
        .await
        .unwrap_err();
    let HostLimit::Pool { detail } = host_limit(&err) else {
        panic!("{err}")
    };
    assert!(detail.contains("memory"), "{detail}");
    assert!(
        err.to_string().contains("pooling allocator is exhausted")
            && err.to_string().contains("HostBuilder::max_instances"),
        "{err}"
    );
    assert_eq!(host.usage(), HostUsage::default());
    greets(&host.load(guest(HELLO)).await.unwrap()).await;
}

#[tokio::test]
async fn impossible_host_totals_are_refused_at_configuration() {
    let err = Host::builder().max_instances(0).build().err().unwrap();
    assert!(err.to_string().contains("max_instances is 0"), "{err}");
    let err = Host::builder().max_memory(1024).build().err().unwrap();
    assert!(err.to_string().contains("below one wasm page"), "{err}");
    let err = Host::builder()
        .allocator(Allocator::Pooling)
        .max_instances(usize::MAX)
        .build()
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("too many for the pooling allocator"),
        "{err}"
    );
}
