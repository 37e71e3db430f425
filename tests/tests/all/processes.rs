//! The process interface: only granted commands with granted arguments run, with only the
//! environment the guest passes, within a timeout, with capped output.

use std::time::{Duration, Instant};

use airssys_host::{CapabilityKind, ComponentHandle, ErrorKind};
use airssys_tests::{guest_failure, start_granted};
use serde_json::{Value, json};

const PROCS: &str = "tests/fixtures/procs";

/// The fixture in permissive mode, granted `patterns`.
async fn procs(patterns: &[&str]) -> ComponentHandle {
    start_granted(PROCS, CapabilityKind::Process, patterns).await
}

async fn run(handle: &ComponentHandle, request: Value) -> airssys_host::Result<Value> {
    handle.request_json(&request).await
}

#[tokio::test]
async fn a_granted_command_runs_and_returns_its_output() {
    let handle = procs(&["echo **", "cat"]).await;
    let out = run(
        &handle,
        json!({ "program": "echo", "args": ["hello", "world"] }),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({ "status": 0, "stdout": "hello world\n", "stderr": "", "truncated": false })
    );
    let out = run(&handle, json!({ "program": "cat", "stdin": "piped in" }))
        .await
        .unwrap();
    assert_eq!(out["stdout"], "piped in");
}

#[tokio::test]
async fn a_command_or_argument_outside_the_grants_is_denied() {
    // Declared: `echo **`, `sleep *`, `sh -c *`, `cat`, `git status *`; granted: narrower.
    let handle = procs(&["echo hello", "git status *"]).await;
    run(&handle, json!({ "program": "echo", "args": ["hello"] }))
        .await
        .unwrap();
    let (kind, msg) =
        guest_failure(run(&handle, json!({ "program": "echo", "args": ["bye"] })).await);
    assert_eq!(kind, ErrorKind::Denied);
    assert!(msg.contains("process `echo bye` is not allowed"), "{msg}");
    let (kind, msg) =
        guest_failure(run(&handle, json!({ "program": "sh", "args": ["-c", "id"] })).await);
    assert_eq!(kind, ErrorKind::Denied, "declared but not granted: {msg}");
    let (kind, _) = guest_failure(run(&handle, json!({ "program": "ls", "args": ["/"] })).await);
    assert_eq!(kind, ErrorKind::Denied, "neither declared nor granted");
    let (kind, _) = guest_failure(
        run(
            &handle,
            json!({ "program": "git", "args": ["push", "origin"] }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Denied, "argument pattern");
    assert_eq!(handle.stats().denials, 4);
}

#[tokio::test]
async fn the_child_gets_only_the_environment_the_guest_passes() {
    let handle = procs(&["sh -c *"]).await;
    let out = run(&handle, json!({ "program": "sh", "args": ["-c", "echo \"[$HOME][$FOO]\""], "env": [["FOO", "bar"]] }))
        .await
        .unwrap();
    assert_eq!(out["stdout"], "[][bar]\n", "the host's HOME must not leak");
}

#[tokio::test]
async fn the_guest_cannot_choose_the_executable_or_inject_code() {
    // A `cat` of the guest's choosing on a PATH it passes: the host's own PATH decides.
    let tmp = tempfile::tempdir().unwrap();
    let fake = tmp.path().join("cat");
    std::fs::write(&fake, "#!/bin/sh\necho hijacked\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let handle = procs(&["cat", "echo **"]).await;
    let out = run(
        &handle,
        json!({ "program": "cat", "stdin": "real cat", "env": [["PATH", tmp.path()]] }),
    )
    .await
    .unwrap();
    assert_eq!(out["stdout"], "real cat");
    let (kind, msg) = guest_failure(
        run(
            &handle,
            json!({ "program": "echo", "env": [["LD_PRELOAD", "/tmp/evil.so"]] }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Denied);
    assert!(msg.contains("`LD_PRELOAD`"), "{msg}");
}

#[tokio::test]
async fn a_slow_command_is_killed_at_its_timeout() {
    let handle = procs(&["sleep *"]).await;
    let started = Instant::now();
    let (kind, msg) = guest_failure(
        run(
            &handle,
            json!({ "program": "sleep", "args": ["5"], "timeout_ms": 200 }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(msg.contains("was killed after 200ms"), "{msg}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn output_is_capped() {
    let handle = procs(&["sh -c *"]).await;
    let out = run(
        &handle,
        json!({ "program": "sh", "args": ["-c", "head -c 100000 /dev/zero | tr '\\\\0' x"], "max_output": 1000 }),
    )
    .await
    .unwrap();
    assert_eq!(out["stdout"].as_str().unwrap().len(), 1000);
    assert_eq!(out["truncated"], true);
    assert_eq!(out["status"], 0, "the child ran to completion");
}

#[tokio::test]
async fn a_missing_program_is_not_found() {
    let handle = procs(&["airssys-no-such-program"]).await;
    let (kind, msg) =
        guest_failure(run(&handle, json!({ "program": "airssys-no-such-program" })).await);
    assert_eq!(kind, ErrorKind::NotFound);
    assert!(
        msg.contains("cannot start `airssys-no-such-program`"),
        "{msg}"
    );
}
