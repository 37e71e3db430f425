//! The adversarial suite: hostile components against the real host. Each case checks the
//! exact typed error and that the host and other components are unaffected.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use airssys_host::{
    AppManifest, ComponentHandle, Error, EventKind, Host, HostBuilder, Limits, LoadOptions,
    Payload, Pending, Restart, Source, Supervision, TrapKind,
};
use airssys_tests::{CapturedLogs, guest, wat};
use serde_json::{Value, json};

const HOSTILE: &str = "tests/fixtures/hostile";

async fn call(handle: &ComponentHandle, op: Value) -> airssys_host::Result<Value> {
    handle.request_json(&op).await
}

/// The hostile fixture with `limits`, stopped (not restarted) by a trap.
async fn hostile(host: &Host, limits: Limits) -> ComponentHandle {
    let options = LoadOptions::new()
        .limits(limits)
        .supervision(Supervision::Stop);
    host.load_with(guest(HOSTILE), options).await.unwrap()
}

fn trap_kind(err: &Error) -> &TrapKind {
    match err {
        Error::Trap { trap, .. } => &trap.kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// A healthy greeter on the same host answers after whatever happened.
async fn host_is_fine(host: &Host) {
    let greeter = host.load(guest("examples/hello")).await.unwrap();
    let reply: Value = greeter
        .request_json(&json!({ "name": "still here" }))
        .await
        .unwrap();
    assert_eq!(reply["text"], "Hello, still here!");
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_at_its_deadline() {
    let host = Host::new().unwrap();
    let timeout = Duration::from_millis(300);
    let spinner = hostile(&host, Limits::new().call_timeout(timeout)).await;
    let started = Instant::now();
    let err = call(&spinner, json!({ "op": "spin" })).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(trap_kind(&err), &TrapKind::Deadline(timeout));
    assert!(
        err.to_string().contains("exceeded its 300ms call deadline"),
        "{err}"
    );
    // Deadline plus one 10 ms tick, with slack for a loaded CI machine.
    assert!(
        elapsed < timeout + Duration::from_millis(500),
        "took {elapsed:?}"
    );
    assert!(elapsed >= timeout, "stopped early: {elapsed:?}");
    host_is_fine(&host).await;
}

#[tokio::test]
async fn fuel_budgets_are_deterministic() {
    let host = HostBuilder::default().fuel_metering(true).build().unwrap();
    let spinner = hostile(&host, Limits::new().fuel(5_000_000)).await;
    assert_eq!(
        call(&spinner, json!({ "op": "ok" })).await.unwrap()["calls"],
        1
    );
    let err = call(&spinner, json!({ "op": "spin" })).await.unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::OutOfFuel);
    host_is_fine(&host).await;
}

#[tokio::test]
async fn deep_recursion_overflows_the_wasm_stack() {
    let host = Host::new().unwrap();
    let recurser = hostile(&host, Limits::new()).await;
    let err = call(&recurser, json!({ "op": "recurse" }))
        .await
        .unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::StackOverflow, "{err}");
    host_is_fine(&host).await;
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_limit() {
    let host = Host::new().unwrap();
    let limit = 16 << 20;
    let bomb = hostile(&host, Limits::new().memory(limit)).await;
    let before = bomb.memory();
    assert!(before.current > 0 && before.current <= limit, "{before:?}");
    let err = call(&bomb, json!({ "op": "allocate" })).await.unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::MemoryLimit(limit), "{err}");
    let after = bomb.memory();
    assert!(
        after.peak <= limit && after.peak > before.current,
        "{after:?}"
    );
    host_is_fine(&host).await;
}

#[tokio::test]
async fn table_and_memory_bombs_fail_at_instantiation() {
    let host = Host::new().unwrap();
    let err = host
        .load(Source::bytes("table-bomb.wasm", wat("table_bomb")))
        .await
        .unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::TableLimit(100_000), "{err}");
    let err = host
        .load(Source::bytes("memory-bomb.wasm", wat("memory_bomb")))
        .await
        .unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::MemoryLimit(64 << 20), "{err}");
    host_is_fine(&host).await;
}

#[tokio::test]
async fn huge_payloads_are_refused_both_ways() {
    let host = Host::new().unwrap();
    let limits = Limits::new().max_payload(1 << 20);
    let handle = hostile(&host, limits).await;
    let err = call(&handle, json!({ "op": "reply", "bytes": 4 << 20 }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::PayloadTooLarge { direction: "reply", size, limit, .. } if size == 4 << 20 && limit == 1 << 20),
        "{err:?}"
    );
    let err = handle
        .request(Payload::bytes(vec![0u8; 2 << 20]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PayloadTooLarge {
                direction: "request",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Limits::max_payload"), "{err}");
    // Neither was a trap: the instance still serves, and the refused request never arrived.
    assert_eq!(
        call(&handle, json!({ "op": "ok" })).await.unwrap()["calls"],
        2
    );
}

#[tokio::test]
async fn abort_is_reported_as_unreachable() {
    let host = Host::new().unwrap();
    let handle = hostile(&host, Limits::new()).await;
    let err = call(&handle, json!({ "op": "abort" })).await.unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::Unreachable);
}

#[tokio::test]
async fn a_log_flood_is_bounded_and_stopped() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    let host = Host::new().unwrap();
    let timeout = Duration::from_millis(300);
    let handle = hostile(&host, Limits::new().call_timeout(timeout)).await;
    let err = call(&handle, json!({ "op": "log_flood" }))
        .await
        .unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::Deadline(timeout));
    let flood = logs
        .text()
        .lines()
        .filter(|l| l.contains("airssys::guest: flood "))
        .count();
    assert_eq!(flood, 1000, "one call logs at most 1000 lines");

    let options = LoadOptions::new()
        .address("printer")
        .supervision(Supervision::Stop);
    let printer = host.load_with(guest(HOSTILE), options).await.unwrap();
    call(&printer, json!({ "op": "print", "lines": 3000 }))
        .await
        .unwrap();
    call(&printer, json!({ "op": "ok" })).await.unwrap();
    let text = logs.text();
    assert!(
        text.contains("2000 log line(s) suppressed"),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
}

#[tokio::test]
async fn a_panic_restarts_a_fresh_instance_that_then_succeeds() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    let policy = Restart::new().backoff(Duration::from_millis(10), Duration::from_millis(50));
    let options = LoadOptions::new().supervision(Supervision::Restart(policy));
    let handle = host.load_with(guest(HOSTILE), options).await.unwrap();
    call(&handle, json!({ "op": "ok" })).await.unwrap();
    let err = call(&handle, json!({ "op": "panic" })).await.unwrap_err();
    assert!(
        matches!(trap_kind(&err), TrapKind::Panic(p) if p.message == "asked to panic"),
        "{err:?}"
    );
    // The next call runs on a fresh instance: state starts over.
    assert_eq!(
        call(&handle, json!({ "op": "ok" })).await.unwrap()["calls"],
        1
    );
    let stats = handle.stats();
    assert_eq!((stats.traps, stats.restarts, stats.requests), (1, 1, 3));
    assert!(handle.is_running());
    let kinds: Vec<EventKind> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.kind)
        .collect();
    assert!(matches!(kinds[0], EventKind::Starting), "{kinds:?}");
    assert!(matches!(kinds[1], EventKind::Started), "{kinds:?}");
    assert!(matches!(kinds[2], EventKind::Trapped(_)), "{kinds:?}");
    assert!(
        matches!(kinds[3], EventKind::Restarted { restarts: 1 }),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_component_that_traps_on_every_start_is_stopped_at_the_restart_limit() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    // Built and compiled before the clock starts, so a busy machine cannot make the first
    // init late enough to panic too.
    let prepared = host.prepare(guest(HOSTILE)).await.unwrap();
    let panic_after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let policy = Restart::new()
        .max_restarts(2)
        .backoff(Duration::from_millis(10), Duration::from_millis(20));
    let options = LoadOptions::new()
        .config("panic_after", panic_after.to_string())
        .supervision(Supervision::Restart(policy));
    let handle = prepared.start(options).await.unwrap();
    // From now on every init panics.
    let wait = Duration::from_secs(panic_after) + Duration::from_millis(100);
    tokio::time::sleep(wait.saturating_sub(SystemTime::now().duration_since(UNIX_EPOCH).unwrap()))
        .await;
    call(&handle, json!({ "op": "panic" })).await.unwrap_err();
    let err = call(&handle, json!({ "op": "ok" })).await.unwrap_err();
    let Error::Stopped { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        reason.starts_with("restart limit reached: 2 restarts within 60s"),
        "{reason}"
    );
    assert!(reason.contains("init panics after"), "{reason}");
    assert!(!handle.is_running());
    assert_eq!(handle.stats().traps, 3);
    let kinds: Vec<EventKind> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| matches!(k, EventKind::Trapped(_)))
            .count(),
        3,
        "{kinds:?}"
    );
    assert!(
        matches!(kinds.last(), Some(EventKind::Stopped { .. })),
        "{kinds:?}"
    );
    host_is_fine(&host).await;
}

#[tokio::test]
async fn calls_during_a_restart_fail_fast_under_pending_fail() {
    let host = Host::new().unwrap();
    let policy = Restart::new()
        .backoff(Duration::from_millis(400), Duration::from_millis(400))
        .pending(Pending::Fail);
    let options = LoadOptions::new().supervision(Supervision::Restart(policy));
    let handle = host.load_with(guest(HOSTILE), options).await.unwrap();
    call(&handle, json!({ "op": "panic" })).await.unwrap_err();
    let err = call(&handle, json!({ "op": "ok" })).await.unwrap_err();
    assert!(matches!(err, Error::Restarting { .. }), "{err:?}");
    assert!(err.to_string().contains("is restarting"), "{err}");
    // A message sent meanwhile is kept and reaches the fresh instance.
    handle.send(Payload::text("kept")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        call(&handle, json!({ "op": "ok" })).await.unwrap()["calls"],
        2
    );
}

#[tokio::test]
async fn escalation_stops_and_tells_the_embedder() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    let options = LoadOptions::new().supervision(Supervision::Escalate);
    let handle = host.load_with(guest(HOSTILE), options).await.unwrap();
    call(&handle, json!({ "op": "abort" })).await.unwrap_err();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("an escalation event")
            .unwrap();
        if let EventKind::Escalated(trap) = event.kind {
            assert_eq!(event.component.to_string(), "hostile@0.1.0");
            assert_eq!(trap.kind, TrapKind::Unreachable);
            break;
        }
    }
    assert!(matches!(
        call(&handle, json!({ "op": "ok" })).await,
        Err(Error::Stopped { .. })
    ));
}

#[tokio::test]
async fn impossible_limits_are_refused_at_configuration() {
    let cases: [(Limits, &str); 5] = [
        (Limits::new().memory(1024), "below one wasm page"),
        (
            Limits::new().call_timeout(Duration::ZERO),
            "call_timeout is zero",
        ),
        (
            Limits::new().call_timeout(Duration::MAX),
            "call_timeout 18446744073709551615.999999999s is over the accepted 86400s (one day)",
        ),
        (Limits::new().max_payload(0), "max_payload is 0"),
        (Limits::new().fuel(10), "needs fuel metering"),
    ];
    for (limits, message) in cases {
        let err = Host::builder()
            .limits(limits.clone())
            .build()
            .err()
            .unwrap();
        assert!(err.to_string().contains(message), "{err}");
        // The same check applies per load.
        let err = Host::new()
            .unwrap()
            .load_with(guest("examples/hello"), LoadOptions::new().limits(limits))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
    }
    let err = Host::builder()
        .epoch_tick(Duration::ZERO)
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("epoch_tick"), "{err}");
    let err = Host::builder().max_wasm_stack(1024).build().err().unwrap();
    assert!(err.to_string().contains("max_wasm_stack"), "{err}");
}

/// Fifty healthy components keep answering while one spins at 100% CPU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_healthy_components_keep_serving_next_to_a_spinning_one() {
    let host = Host::new().unwrap();
    let deadline = Duration::from_secs(2);
    let prepared = host.prepare(guest("examples/hello")).await.unwrap();
    let mut healthy = Vec::new();
    for i in 0..50 {
        let options = LoadOptions::new().address(format!("greeter-{i}"));
        healthy.push(prepared.start(options).await.unwrap());
    }
    let spinner = hostile(&host, Limits::new().call_timeout(deadline)).await;
    let spin = tokio::spawn(async move { call(&spinner, json!({ "op": "spin" })).await });
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        for greeter in &healthy {
            let started = Instant::now();
            let reply: Value = greeter.request_json(&json!({ "name": "x" })).await.unwrap();
            assert_eq!(reply["text"], "Hello, x!");
            latencies.push(started.elapsed());
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "healthy components next to a spinner: {} requests, p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        pct(0.50),
        pct(0.99),
        latencies.last().unwrap()
    );
    assert!(
        pct(0.99) < deadline,
        "p99 {:?} is not bounded by the deadline",
        pct(0.99)
    );
    let err = spin.await.unwrap().unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::Deadline(deadline));
}

#[tokio::test]
async fn limits_and_supervision_from_the_operator_file_apply() {
    let toml = format!(
        r#"
[host]
fuel_metering = true

[components.bomb]
source = "{}"
limits = {{ memory = "16MiB" }}
supervision = {{ policy = "stop" }}

[components.burner]
source = "{}"
limits = {{ fuel = 5_000_000 }}
supervision = {{ policy = "stop" }}
"#,
        guest(HOSTILE).display(),
        guest(HOSTILE).display()
    );
    let app = AppManifest::from_toml(&toml, std::path::Path::new("/")).unwrap();
    let host = app.host_builder().unwrap().build().unwrap();
    let running = app.start(&host).await.unwrap();
    let [(_, bomb), (_, burner)] = &running[..] else {
        panic!()
    };
    let err = call(bomb, json!({ "op": "allocate" })).await.unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::MemoryLimit(16 << 20));
    assert!(!bomb.is_running(), "policy stop");
    let err = call(burner, json!({ "op": "spin" })).await.unwrap_err();
    assert_eq!(trap_kind(&err), &TrapKind::OutOfFuel);
}
