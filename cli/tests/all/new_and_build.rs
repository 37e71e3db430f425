//! `airssys new` and `airssys build`, driven through the real binary as a person would.
//!
//! Builds share `<workspace>/target/guests` (where the test suite builds every guest) and the
//! workspace's Cargo.lock, so the SDK and its dependencies compile once, not per test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// `airssys new NAME` in a fresh temporary directory; returns it and the crate's path.
fn new_crate(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = airssys(tmp.path(), &["new", name]);
    assert!(
        out.status.success(),
        "airssys new failed:\n{}",
        stderr(&out)
    );
    let dir = tmp.path().join(name);
    // Pin the same dependency versions as the workspace so target/guests is reused.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    (tmp, dir)
}

/// Runs `airssys build DIR` into target/guests and returns the path it printed.
fn build(dir: &Path) -> PathBuf {
    let target_dir = guests_target_dir();
    let out = airssys(
        Path::new("."),
        &[
            "build",
            dir.to_str().unwrap(),
            "--target-dir",
            target_dir.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "airssys build failed:\n{}",
        stderr(&out)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "stdout is only the path: {stdout:?}"
    );
    PathBuf::from(stdout.trim_end())
}

fn assert_is_component(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes.get(..8),
        Some(&COMPONENT_MAGIC[..]),
        "{}",
        path.display()
    );
}

#[test]
fn new_then_build_yields_a_component() {
    let (_tmp, dir) = new_crate("demo-app");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "rust-toolchain.toml",
        ".gitignore",
        "README.md",
    ] {
        assert!(dir.join(file).is_file(), "{file} was not created");
    }
    let wasm = build(&dir);
    assert_eq!(wasm.file_name().unwrap(), "demo_app.wasm");
    assert_is_component(&wasm);

    // The rendered component runs as is and answers its documented request.
    let wasm = wasm.to_str().unwrap();
    let out = airssys(&dir, &["run", wasm, "--request", r#"{"word": "apple"}"#]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({ "word": "apple", "count": 1, "distinct": 1 })
    );
    let out = airssys(&dir, &["inspect", wasm]);
    assert!(
        stdout(&out).starts_with("demo-app 0.1.0\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn builds_a_crate_inside_the_workspace() {
    let wasm = build(&workspace().join("examples/hello"));
    assert_eq!(wasm.file_name().unwrap(), "hello.wasm");
    assert!(wasm.starts_with(guests_target_dir()), "{}", wasm.display());
    assert_is_component(&wasm);
}

#[test]
fn new_refuses_a_name_that_is_not_kebab_case() {
    let tmp = tempfile::tempdir().unwrap();
    let out = airssys(tmp.path(), &["new", "Demo_App"]);
    assert_fails_with(
        &out,
        &[
            "cannot create a component named `Demo_App`",
            "not kebab-case",
        ],
    );
    assert!(!tmp.path().join("Demo_App").exists());
}

#[test]
fn new_refuses_a_non_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("demo-app")).unwrap();
    std::fs::write(tmp.path().join("demo-app/notes.txt"), "mine").unwrap();
    let out = airssys(tmp.path(), &["new", "demo-app"]);
    assert_fails_with(
        &out,
        &["already exists and is not an empty directory", "--path"],
    );
    assert!(!tmp.path().join("demo-app/Cargo.toml").exists());
}

#[test]
fn build_refuses_a_directory_without_cargo_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let out = airssys(tmp.path(), &["build"]);
    assert_fails_with(&out, &["no Cargo.toml in .", "airssys new NAME"]);
}

#[test]
fn build_refuses_a_crate_that_is_not_a_cdylib() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest =
        "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n";
    std::fs::write(tmp.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir(tmp.path().join("src")).unwrap();
    std::fs::write(tmp.path().join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let out = airssys(tmp.path(), &["build", "--quiet"]);
    assert_fails_with(
        &out,
        &["is not a cdylib", r#"add [lib] crate-type = ["cdylib"]"#],
    );
}

#[test]
fn cargo_component_builds_the_template() {
    let has_cargo_component = Command::new("cargo")
        .args(["component", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_component {
        eprintln!(
            "skipped: `cargo component --version` failed, so cargo-component is not installed"
        );
        return;
    }
    // Its own name: cargo-component writes to the same target dir as the other tests.
    let (_tmp, dir) = new_crate("demo-component");
    let out = Command::new("cargo")
        .args(["component", "build", "--release", "--target-dir"])
        .arg(guests_target_dir())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo component build failed:\n{}",
        stderr(&out)
    );
    // cargo-component builds for wasm32-wasip1 and adapts the module into a component.
    let built = ["wasm32-wasip1", "wasm32-wasip2"].map(|t| {
        guests_target_dir()
            .join(t)
            .join("release/demo_component.wasm")
    });
    let wasm = built.iter().find(|p| p.is_file());
    assert_is_component(wasm.expect("cargo component build wrote demo_component.wasm"));
}
