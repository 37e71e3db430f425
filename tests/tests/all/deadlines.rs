//! The call deadline bounds the whole call, waits in the host included: a guest asleep on a
//! WASI clock, blocked on a socket read or on a file that never delivers gets its `Deadline`
//! trap at the deadline (plus one epoch tick), is restarted by its policy, and the host
//! keeps serving the others meanwhile.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, Error, Host, LoadOptions, Mode, Restart,
    Supervision, TrapKind,
};
use airssys_tests::{LoopbackServer, guest};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_millis(400);

/// A permissive host, so each fixture needs only the grants its test gives.
fn host() -> Host {
    Host::builder().mode(Mode::Permissive).build().unwrap()
}

/// `crate_dir` under `grants`, with a short deadline, restarted at once after a trap.
async fn stuck(host: &Host, crate_dir: &str, grants: Capabilities) -> ComponentHandle {
    let policy = Restart::new().backoff(Duration::from_millis(10), Duration::from_millis(10));
    let options = LoadOptions::new()
        .grants(grants)
        .limits(airssys_host::Limits::new().call_timeout(TIMEOUT))
        .supervision(Supervision::Restart(policy));
    host.load_with(guest(crate_dir), options).await.unwrap()
}

fn grant(kind: CapabilityKind, pattern: &str) -> Capabilities {
    let mut grants = Capabilities::default();
    grants.add(kind, pattern).unwrap();
    grants
}

/// Sends `op` to `handle`, which waits in the host and never returns by itself, while ten
/// greeters on the same host are asked in a loop. The call must end with a `Deadline` trap
/// soon after its deadline; the greeters must have kept answering. Prints their latency.
async fn ends_at_its_deadline(host: &Host, handle: &ComponentHandle, op: Value) {
    let prepared = host.prepare(guest("examples/hello")).await.unwrap();
    let mut greeters = Vec::new();
    for i in 0..10 {
        let options = LoadOptions::new().address(format!("greeter-{i}"));
        greeters.push(prepared.start(options).await.unwrap());
    }
    let caller = handle.clone();
    let started = Instant::now();
    let call = tokio::spawn(async move {
        let result: airssys_host::Result<Value> = caller.request_json(&op).await;
        (result, started.elapsed())
    });
    let mut latencies = Vec::new();
    while !call.is_finished() && started.elapsed() < TIMEOUT * 20 {
        for greeter in &greeters {
            let asked = Instant::now();
            let reply: Value = greeter.request_json(&json!({ "name": "x" })).await.unwrap();
            assert_eq!(reply["text"], "Hello, x!");
            latencies.push(asked.elapsed());
        }
    }
    let (result, elapsed) = call.await.unwrap();
    let err = result.expect_err("a call past its deadline fails");
    let Error::Trap { trap, .. } = &err else {
        panic!("expected a deadline trap, got {err:?}")
    };
    assert_eq!(trap.kind, TrapKind::Deadline(TIMEOUT), "{err}");
    assert!(
        err.to_string().contains("exceeded its 400ms call deadline"),
        "{err}"
    );
    assert!(elapsed >= TIMEOUT, "ended early: {elapsed:?}");
    // The deadline plus one 10 ms tick, with generous slack for a loaded machine; without the
    // bound these calls would wait for a minute or forever.
    assert!(
        elapsed < TIMEOUT + Duration::from_secs(3),
        "took {elapsed:?}"
    );
    assert!(!latencies.is_empty(), "the other components kept serving");
    latencies.sort_unstable();
    println!(
        "{} greeter requests while one call waited {elapsed:?}: p50 {:?}, max {:?}",
        latencies.len(),
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
}

/// The trapped instance was retired and a fresh one, started by the policy, serves `op`.
async fn restarted_and_serving(handle: &ComponentHandle, op: Value) -> Value {
    let reply = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match handle.request_json::<_, Value>(&op).await {
                Err(Error::Restarting { .. }) => {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                other => break other,
            }
        }
    })
    .await
    .expect("a fresh instance answers")
    .unwrap();
    let stats = handle.stats();
    assert_eq!((stats.traps, stats.restarts), (1, 1), "{stats:?}");
    assert!(handle.is_running());
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_asleep_in_wasi_is_stopped_at_its_deadline() {
    let host = host();
    let sleeper = stuck(&host, "tests/fixtures/hostile", Capabilities::default()).await;
    ends_at_its_deadline(&host, &sleeper, json!({ "op": "sleep", "ms": 60_000 })).await;
    let reply = restarted_and_serving(&sleeper, json!({ "op": "ok" })).await;
    assert_eq!(reply["calls"], 1, "state starts over: {reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_blocked_on_a_socket_read_is_stopped_at_its_deadline() {
    // Accepts connections and never writes a byte.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().flatten().collect();
        drop(held);
    });
    let answering = LoopbackServer::start("127.0.0.1");
    let host = host();
    let reader = stuck(
        &host,
        "tests/fixtures/netter",
        grant(CapabilityKind::Net, "127.0.0.1:*"),
    )
    .await;
    ends_at_its_deadline(&host, &reader, json!({ "tcp": addr.to_string() })).await;
    let reply = restarted_and_serving(&reader, json!({ "tcp": answering.addr.to_string() })).await;
    assert_eq!(reply["body"], "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_reading_a_file_that_never_delivers_is_stopped_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    // A FIFO with no writer: opening it to read waits for one, so the guest's read waits in
    // the host (on a blocking thread) and never gets a byte. (With a writer, wasmtime-wasi's
    // positional reads would fail at once with ESPIPE.)
    let fifo = root.join("endless");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    std::fs::write(root.join("note.txt"), "inside").unwrap();
    let host = host();
    let tree = format!("{}/**", root.display());
    let reader = stuck(
        &host,
        "tests/fixtures/files",
        grant(CapabilityKind::FsRead, &tree),
    )
    .await;
    let path = |name: &str| root.join(name).display().to_string();
    ends_at_its_deadline(
        &host,
        &reader,
        json!({ "op": "std_read", "path": path("endless") }),
    )
    .await;
    let reply = restarted_and_serving(
        &reader,
        json!({ "op": "std_read", "path": path("note.txt") }),
    )
    .await;
    assert_eq!(reply, "inside");
    // A writer at last lets the host's blocked thread finish.
    drop(
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .unwrap(),
    );
}
