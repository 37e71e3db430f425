//! `airssys keygen`, `sign`, `inspect`, and deploys through a running `airssys up` and its
//! admin API: `status`, `deploy`, `rollback`, refusals, the token.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{airssys, assert_fails_with, guest, stderr, stdout};

/// `airssys up` running in the background; killed when dropped.
struct Up(Child);

impl Up {
    fn start(dir: &Path) -> Self {
        Self::start_with(dir, &["up"])
    }

    fn start_with(dir: &Path, args: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_airssys"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("airssys up starts");
        let address = dir.join(".airssys/admin.addr");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !address.exists() {
            assert!(
                Instant::now() < deadline,
                "airssys up never served its admin API"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The server answers before the first component has started (so the dashboard sees
        // every lifecycle event): the application is up once a component is listed.
        while status(dir)["components"]
            .as_array()
            .is_none_or(|components| components.is_empty())
        {
            assert!(
                Instant::now() < deadline,
                "airssys up never listed a component"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status(dir: &Path) -> Value {
    let out = airssys(dir, &["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each version of `tally`: (number, semver, state).
fn versions(dir: &Path) -> Vec<(u64, String, String)> {
    let status = status(dir);
    status["components"][0]["versions"]
        .as_array()
        .unwrap_or_else(|| panic!("no versions of the first component in {status:#}"))
        .iter()
        .map(|v| {
            (
                v["id"].as_u64().unwrap(),
                v["version"].as_str().unwrap().to_owned(),
                v["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn signed_versions_deploy_and_roll_back_through_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::copy(guest("tests/fixtures/tally"), dir.join("v1.wasm")).unwrap();
    std::fs::copy(guest("tests/fixtures/tally-v2"), dir.join("v2.wasm")).unwrap();

    let out = airssys(dir, &["keygen", "ops", "--dir", "keys"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("airssys-ed25519 ops "));
    for file in ["v1.wasm", "v2.wasm"] {
        let out = airssys(dir, &["sign", "--key", "keys/ops.key", file]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = airssys(dir, &["inspect", "v1.wasm"]);
    assert!(
        stdout(&out).contains("ops ed25519 ") && stdout(&out).contains("(valid)"),
        "{}",
        stdout(&out)
    );
    std::fs::copy(guest("tests/fixtures/tally-v2"), dir.join("unsigned.wasm")).unwrap();

    std::fs::write(
        dir.join("airssys.toml"),
        r#"
[signatures]
trusted = ["keys/ops.pub"]
require = true

[components.tally]
source = "v1.wasm"
grants = { subscribe = ["ticks.>"] }
"#,
    )
    .unwrap();
    let _up = Up::start(dir);
    assert_eq!(versions(dir), [(1, "1.0.0".into(), "serving".into())]);
    let table = stdout(&airssys(dir, &["status"]));
    assert!(
        table.contains("1 tally@1.0.0") && table.contains("trusted"),
        "{table}"
    );

    let out = airssys(dir, &["deploy", "tally", "v2.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let progress = stderr(&out);
    for stage in [
        "Compiling",
        "Starting",
        "Checking the health of tally@2.0.0",
        "Switching traffic to tally@2.0.0",
        "Deployed",
    ] {
        assert!(progress.contains(stage), "no {stage} in:\n{progress}");
    }
    assert_eq!(
        versions(dir),
        [
            (1, "1.0.0".into(), "standby".into()),
            (2, "2.0.0".into(), "serving".into())
        ]
    );

    let out = airssys(dir, &["rollback", "tally", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["outcome"]["to"], "tally@1.0.0");
    assert_eq!(versions(dir)[0].2, "serving");

    let out = airssys(dir, &["deploy", "tally", "unsigned.wasm"]);
    assert_fails_with(&out, &["is not signed, and this host requires signatures"]);
    assert_eq!(
        versions(dir)[0].2,
        "serving",
        "the old version still serves"
    );

    let out = airssys(dir, &["promote", "tally"]);
    assert_fails_with(&out, &["no deploy is under way at `tally`"]);

    // Without the token the admin API refuses.
    let address = std::fs::read_to_string(dir.join(".airssys/admin.addr")).unwrap();
    let mut stream = std::net::TcpStream::connect(address.trim()).unwrap();
    stream
        .write_all(b"GET /v1/components HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

#[test]
fn the_admin_api_listens_on_loopback_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guest("tests/fixtures/tally"), dir.path().join("v1.wasm")).unwrap();
    std::fs::write(
        dir.path().join("airssys.toml"),
        "[admin]\nlisten = \"0.0.0.0:7070\"\n\n[components.tally]\nsource = \"v1.wasm\"\n",
    )
    .unwrap();
    let out = airssys(dir.path(), &["up", "--check"]);
    assert_fails_with(&out, &["is not a loopback address"]);
}

#[test]
fn up_watch_swaps_in_a_changed_component() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::copy(guest("tests/fixtures/tally"), dir.join("tally.wasm")).unwrap();
    std::fs::write(
        dir.join("airssys.toml"),
        "[components.tally]\nsource = \"tally.wasm\"\ngrants = { subscribe = [\"ticks.>\"] }\n",
    )
    .unwrap();
    let _up = Up::start_with(dir, &["up", "--watch"]);
    assert_eq!(versions(dir)[0].1, "1.0.0");
    // Written aside and renamed, as a build would leave it.
    std::fs::copy(guest("tests/fixtures/tally-v2"), dir.join("next.wasm")).unwrap();
    std::fs::rename(dir.join("next.wasm"), dir.join("tally.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let serving = versions(dir)
            .into_iter()
            .find(|(_, _, state)| state == "serving")
            .map(|(_, version, _)| version);
        if serving.as_deref() == Some("2.0.0") {
            break;
        }
        assert!(Instant::now() < deadline, "never swapped: {serving:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
