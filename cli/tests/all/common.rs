//! Helpers shared by the CLI integration tests: run the real binary, check its errors.

#![allow(unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use serde_json::Value;

/// The start of every WebAssembly component: `\0asm`, then the component-model version/layer.
pub const COMPONENT_MAGIC: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

pub fn guests_target_dir() -> PathBuf {
    workspace().join("target/guests")
}

/// Runs `airssys ARGS` in `cwd`.
pub fn airssys(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the airssys binary runs")
}

/// `airssys up airssys.toml --stdin` in `dir`, its stdin and stdout piped to the test.
pub fn up_stdin(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_airssys"))
        .args(["up", "airssys.toml", "--stdin"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the airssys binary runs")
}

/// The next reply line of `airssys up --stdin` (`{"address": .., ...}`), skipping the status
/// table; `None` at the end of its output or on a line a kill cut short.
pub fn next_reply(out: &mut BufReader<ChildStdout>) -> Option<Value> {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).ok()? == 0 || !line.ends_with('\n') {
            return None;
        }
        if line.starts_with('{') {
            return Some(serde_json::from_str(&line).expect("a JSON reply line"));
        }
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts `out` is a failure whose error message contains each of `needles`.
pub fn assert_fails_with(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit code 1; stderr:\n{err}"
    );
    // Component log lines may come first; the error is reported on its own line.
    assert!(
        err.lines().any(|l| l.starts_with("error: ")),
        "stderr:\n{err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

/// Builds the guest crate at `crate_dir` (relative to the workspace) into target/guests, once
/// per test process.
pub fn guest(crate_dir: &str) -> PathBuf {
    let options = airssys_cli::build::BuildOptions {
        release: true,
        target_dir: Some(guests_target_dir()),
        quiet: true,
    };
    airssys_host::testing::build_with(workspace().join(crate_dir), &options)
        .unwrap_or_else(|err| panic!("building {crate_dir}: {err}"))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
