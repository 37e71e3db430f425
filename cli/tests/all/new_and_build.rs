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

/// What a new user writes in a crate made by `airssys new`: a component that reads its
/// configuration, stores data and requests another component, with a native test of it.
const VISITS: &str = r#"
use airssys::prelude::*;
use airssys::{msg, storage};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Visit { page: String, item: String }

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Reply { greeting: String, visits: i64, cents: u64 }

#[derive(Serialize, Deserialize)]
struct Quote { item: String, qty: u32 }

#[derive(Serialize, Deserialize)]
struct Price { cents: u64 }

struct Visits { greeting: String }

#[airssys::component(name = "visits", capabilities(storage("visits"), message("pricing")))]
impl Component for Visits {
    fn init(config: &Config) -> Result<Self> {
        Ok(Visits { greeting: config.require("greeting")?.to_owned() })
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let Visit { page, item } = req.json()?;
        let visits = storage::open("visits")?.increment(&page, 1)?;
        let qty = u32::try_from(visits).map_err(|_| Error::internal("too many visits"))?;
        let Price { cents } = msg::request_json("pricing", &Quote { item, qty })?;
        Payload::json(&Reply { greeting: self.greeting.clone(), visits, cents })
    }
}

#[cfg(test)]
mod tests {
    use airssys::testing::{CapabilityKind::{Message, Storage}, TestHost};

    use super::*;

    #[test]
    fn greets_counts_and_prices() {
        let host = TestHost::new()
            .config("greeting", "Hi")
            .grant(Storage, "visits")
            .grant(Message, "pricing")
            .reply_json("pricing", |q: Quote| Ok(Price { cents: 40 * u64::from(q.qty) }));
        let mut visits = host.start::<Visits>().unwrap();
        let visit = Visit { page: "/".into(), item: "apple".into() };
        let first: Reply = visits.request_json(&visit).unwrap();
        assert_eq!(first, Reply { greeting: "Hi".into(), visits: 1, cents: 40 });
        let second: Reply = visits.request_json(&visit).unwrap();
        assert_eq!(second, Reply { greeting: "Hi".into(), visits: 2, cents: 80 });
        assert_eq!(host.stored("visits", "/").unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn refuses_without_its_configuration() {
        let err = TestHost::new().mode(airssys::testing::Mode::Development)
            .start::<Visits>().unwrap_err();
        assert!(err.to_string().contains("missing configuration `greeting`"), "{err}");
    }
}
"#;

#[test]
fn a_new_component_is_tested_natively_and_runs_the_same_under_up() {
    let (_tmp, dir) = new_crate("visits");
    std::fs::write(dir.join("src/lib.rs"), VISITS).unwrap();

    // `cargo test` in the crate: native, no wasm build.
    let out = airssys_host::build::cargo_command()
        .args(["test", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", guests_target_dir())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo test failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("2 passed"), "{}", stdout(&out));

    // The same component under `airssys up`, beside the real `pricing`, answers as the test said.
    let visits = build(&dir);
    let pricing = guest("examples/shop/pricing");
    let app = dir.join("airssys.toml");
    std::fs::write(
        &app,
        format!(
            r#"
[storage]
memory = true

[components.visits]
source = "{}"
config = {{ greeting = "Hi" }}
grants = {{ storage = ["visits"], message = ["pricing"] }}

[components.pricing]
source = "{}"
config = {{ apple = "40" }}
grants = {{ publish = ["prices.quoted"] }}
"#,
            visits.display(),
            pricing.display()
        ),
    )
    .unwrap();
    let visit = r#"visits={"page": "/", "item": "apple"}"#;
    let out = airssys(
        &dir,
        &[
            "up",
            app.to_str().unwrap(),
            "--check",
            "--request",
            visit,
            "--request",
            visit,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let replies: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|line| line.strip_prefix("visits: "))
        .map(|reply| serde_json::from_str(reply).unwrap())
        .collect();
    assert_eq!(
        replies,
        [
            serde_json::json!({ "greeting": "Hi", "visits": 1, "cents": 40 }),
            serde_json::json!({ "greeting": "Hi", "visits": 2, "cents": 80 }),
        ],
        "{}",
        stdout(&out)
    );
}
