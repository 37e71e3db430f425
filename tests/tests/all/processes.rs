//! The process interface: only granted commands with granted arguments run, with only the
//! environment variables the guest passes and `env` allows, within a timeout, with capped
//! output. The `procs` fixture declares `echo **`, `sleep *`, `sh -c *`, `cat`,
//! `git status *`, `git log **`, `git log -n * **` and `env` `FOO`, `LANG`, `TZ`, `PATH`.

use std::path::Path;
use std::time::{Duration, Instant};

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, ErrorKind, Host, LoadOptions, Mode,
};
use airssys_tests::{guest, guest_failure, start_granted};
use serde_json::{Value, json};

const PROCS: &str = "tests/fixtures/procs";

/// The fixture in permissive mode, granted `patterns`.
async fn procs(patterns: &[&str]) -> ComponentHandle {
    start_granted(PROCS, CapabilityKind::Process, patterns).await
}

/// The fixture in permissive mode at the address `runner`, granted `process` and `env`
/// patterns, auditing to `audit`.
async fn procs_with(process: &[&str], env: &[&str], audit: &Path) -> ComponentHandle {
    let mut grants = Capabilities::default();
    for pattern in process {
        grants.add(CapabilityKind::Process, pattern).unwrap();
    }
    for name in env {
        grants.add(CapabilityKind::Env, name).unwrap();
    }
    let host = Host::builder()
        .mode(Mode::Permissive)
        .audit_log(audit)
        .build()
        .unwrap();
    let options = LoadOptions::new().address("runner").grants(grants);
    host.load_with(guest(PROCS), options).await.unwrap()
}

/// The audit file's lines as `(capability, resource, outcome)`, each checked to name the
/// operator's address.
fn audit_lines(audit: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(audit)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["address"], "runner", "{line}");
            let s = |k: &str| v[k].as_str().unwrap().to_owned();
            (s("capability"), s("resource"), s("outcome"))
        })
        .collect()
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
    let tmp = tempfile::tempdir().unwrap();
    let handle = procs_with(&["sh -c *"], &["FOO"], &tmp.path().join("audit.jsonl")).await;
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
    let handle = procs_with(&["cat", "echo **"], &["PATH"], &tmp.path().join("audit")).await;
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
    assert!(msg.contains("can never be granted"), "{msg}");
}

#[tokio::test]
async fn the_environment_is_an_allow_list() {
    let tmp = tempfile::tempdir().unwrap();
    let audit = tmp.path().join("audit.jsonl");
    // The grammar's own example grant, and a shell to print what the child gets.
    let handle = procs_with(&["git status *", "sh -c *"], &["LANG"], &audit).await;
    // Variables that make git or the shell run a command of the guest's choosing. Had the
    // first reached git, it would have run the fsmonitor hook and made the marker.
    let marker = tmp.path().join("pwned");
    let hook = format!("'core.fsmonitor'='touch {} #'", marker.display());
    let attacks = [
        (
            "git",
            vec!["status", "."],
            "GIT_CONFIG_PARAMETERS",
            hook.as_str(),
        ),
        (
            "git",
            vec!["status", "."],
            "GIT_SSH_COMMAND",
            "touch /tmp/x #",
        ),
        ("git", vec!["status", "."], "GIT_EXTERNAL_DIFF", "sh"),
        ("sh", vec!["-c", "true"], "BASH_ENV", "/tmp/evil.sh"),
        ("sh", vec!["-c", "true"], "ENV", "/tmp/evil.sh"),
        // Declared by the component, not granted by the operator.
        ("sh", vec!["-c", "true"], "TZ", "UTC"),
        ("sh", vec!["-c", "true"], "LD_PRELOAD", "/tmp/evil.so"),
    ];
    for (program, args, key, value) in &attacks {
        let request =
            json!({ "program": program, "args": args, "env": [[key, value], ["LANG", "C"]] });
        let (kind, msg) = guest_failure(run(&handle, request).await);
        assert_eq!(kind, ErrorKind::Denied, "{key}: {msg}");
        assert!(
            msg.contains(&format!("env `{key}` is not allowed")),
            "{msg}"
        );
    }
    assert!(!marker.exists(), "git must never have run");
    // A granted variable passes, and only it (the shell adds `PWD` itself).
    let out = run(
        &handle,
        json!({ "program": "sh", "args": ["-c", "printenv"], "env": [["LANG", "C.UTF-8"]] }),
    )
    .await
    .unwrap();
    let mut names: Vec<&str> = out["stdout"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("PWD="))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["LANG=C.UTF-8"], "{out}");
    // Every refusal is audited under the operator's address, naming the variable.
    let lines = audit_lines(&audit);
    for (_, _, key, _) in &attacks {
        let line = ("env".to_owned(), (*key).to_owned(), "denied".to_owned());
        assert!(lines.contains(&line), "{key}: {lines:?}");
    }
    assert!(lines.contains(&("env".to_owned(), "LANG".to_owned(), "allowed".to_owned())));
    assert_eq!(handle.stats().denials, attacks.len() as u64);
}

#[tokio::test]
async fn wildcards_never_pass_options() {
    let tmp = tempfile::tempdir().unwrap();
    let audit = tmp.path().join("audit.jsonl");
    let handle = procs_with(&["git log **", "git log -n * **"], &[], &audit).await;
    let out = tmp.path().join("written").display().to_string();
    let output = format!("--output={out}");
    // `--opt=value`, `--opt value`, `-c key=value` (before and after the subcommand).
    let refused: [Vec<&str>; 5] = [
        vec!["log", &output],
        vec!["log", "--output", &out],
        vec!["-c", "core.pager=sh", "log"],
        vec!["log", "-c", "core.pager=sh"],
        vec!["log", "-n", "1", "-p"],
    ];
    for args in &refused {
        let (kind, msg) =
            guest_failure(run(&handle, json!({ "program": "git", "args": args })).await);
        assert_eq!(kind, ErrorKind::Denied, "{args:?}: {msg}");
        let line = format!("git {}", args.join(" "));
        assert!(
            msg.contains(&format!("process `{line}` is not allowed")),
            "{msg}"
        );
        let audited = ("process".to_owned(), line, "denied".to_owned());
        assert!(audit_lines(&audit).contains(&audited), "{args:?}");
    }
    assert!(!Path::new(&out).exists());
    // Where the pattern spells the option, it passes: `-n 1`, and no option at all.
    for args in [vec!["log", "-n", "1"], vec!["log"]] {
        let request = json!({ "program": "git", "args": args, "max_output": 100 });
        run(&handle, request).await.unwrap();
    }
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
