//! `airssys inspect` and `airssys run`, driven through the real binary as a person would.

use crate::common::*;

#[test]
fn inspect_shows_identity_capabilities_and_exports() {
    let wasm = guest("tests/fixtures/faults");
    let out = airssys(workspace(), &["inspect", wasm.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("faults 0.3.1\n"), "{text}");
    for line in [
        "  world      airssys:core/component@1.0.0",
        "  fs_read    /data/**",
        "  net        api.example.com:443",
        "  publish    faults.>",
        "  airssys:core/lifecycle@1.0.0",
        "  airssys:core/host@1.0.0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
}

#[test]
fn inspect_json_is_machine_readable() {
    let wasm = guest("examples/hello");
    let out = airssys(workspace(), &["inspect", "--json", wasm.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["manifest"]["name"], "greeter");
    assert_eq!(json["manifest"]["version"], "0.1.0");
    assert_eq!(json["manifest"]["contract_version"], "1.0.0");
    assert_eq!(json["world"], "airssys:core/component@1.0.0");
    assert!(json["size"].as_u64().unwrap() > 0);
}

#[test]
fn inspect_explains_a_file_that_is_not_a_component() {
    let out = airssys(workspace(), &["inspect", "Cargo.toml"]);
    assert_fails_with(
        &out,
        &["Cargo.toml is not a WebAssembly binary", "airssys build"],
    );
    let out = airssys(workspace(), &["inspect", "no-such.wasm"]);
    assert_fails_with(&out, &["cannot read no-such.wasm"]);
}

#[test]
fn run_builds_a_crate_and_prints_the_reply() {
    guest("examples/hello");
    let out = airssys(
        workspace(),
        &["run", "examples/hello", "--request", r#"{"name":"World"}"#],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({ "text": "Hello, World!", "count": 1 })
    );
}

#[test]
fn run_passes_configuration_and_messages() {
    let wasm = guest("examples/counter");
    let out = airssys(
        workspace(),
        &[
            "run",
            wasm.to_str().unwrap(),
            "--config",
            "start=40",
            "--send",
            "{}",
            "--send",
            "{}",
            "--request",
            r#"{"op":"get"}"#,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["value"], 42);
    // The component's own log lines reach the person running it.
    assert!(
        stderr(&out).contains("counter starting at 40"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_without_a_request_reports_health() {
    let wasm = guest("examples/counter");
    let out = airssys(workspace(), &["run", wasm.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "counter@0.1.0 is healthy\n");
}

#[test]
fn run_reports_guest_errors_and_bad_input() {
    let wasm = guest("examples/counter");
    let wasm = wasm.to_str().unwrap();
    let out = airssys(
        workspace(),
        &["run", wasm, "--request", r#"{"op":"launch"}"#],
    );
    assert_fails_with(&out, &["counter@0.1.0 returned an error: invalid input"]);
    let out = airssys(workspace(), &["run", wasm, "--request", "not json"]);
    assert_fails_with(
        &out,
        &["--request is not valid JSON", "--content-type text/plain"],
    );
    let out = airssys(
        workspace(),
        &["run", wasm, "--config", "start=x", "--request", "{}"],
    );
    assert_fails_with(
        &out,
        &[
            "counter@0.1.0 failed to initialise",
            "configuration `start`",
        ],
    );
    let out = airssys(workspace(), &["run", wasm, "--config", "oops"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap rejects it: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("is not KEY=VALUE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_grants_what_a_component_declares() {
    let wasm = guest("tests/fixtures/procs");
    let wasm = wasm.to_str().unwrap();
    let request = r#"{"program":"echo","args":["granted"]}"#;
    // Strict by default: declared but not granted, so it does not start.
    let out = airssys(workspace(), &["run", wasm, "--request", request]);
    assert_fails_with(&out, &["procs@0.1.0 was not started", "process `echo **`"]);
    // Granting everything it declares lets it start and run the command.
    let processes = [
        "echo **",
        "sleep *",
        "sh -c *",
        "cat",
        "git status *",
        "git log **",
        "git log -n * **",
        "airssys-no-such-program",
    ];
    let grants: Vec<String> = processes
        .iter()
        .map(|pattern| format!("process={pattern}"))
        .chain(["FOO", "LANG", "TZ", "PATH"].map(|name| format!("env={name}")))
        .collect();
    let mut args = vec!["run", wasm, "--request", request];
    for grant in &grants {
        args.extend(["--grant", grant.as_str()]);
    }
    let out = airssys(workspace(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(r#""stdout": "granted\n""#),
        "{}",
        stdout(&out)
    );
    // Permissive: starts with a narrower grant, which is what it may use.
    let out = airssys(
        workspace(),
        &[
            "run",
            wasm,
            "--mode",
            "permissive",
            "--grant",
            "process=echo granted",
            "--request",
            request,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = airssys(
        workspace(),
        &["run", wasm, "--grant", "files=/x", "--request", request],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown capability `files`"),
        "{}",
        stderr(&out)
    );
}
