//! `airssys up` reads the operator's file and starts what it lists, with its configuration.

mod common;

use common::*;

fn write_app(dir: &std::path::Path, toml: &str) -> std::path::PathBuf {
    let path = dir.join("airssys.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[test]
fn up_check_starts_every_component_with_its_configuration() {
    let counter = guest("examples/counter");
    let hello = guest("examples/hello");
    let tmp = tempfile::tempdir().unwrap();
    let file = write_app(
        tmp.path(),
        &format!(
            r#"
[limits]
memory = "32MiB"

[components.greeter]
source = "{}"

[components.tally]
source = "{}"
config = {{ start = "20", max = "10" }}
limits = {{ call_timeout = "2s" }}
supervision = {{ policy = "stop" }}
"#,
            hello.display(),
            counter.display()
        ),
    );
    let out = airssys(tmp.path(), &["up", file.to_str().unwrap(), "--check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "greeter (greeter@0.1.0) is healthy\ntally (counter@0.1.0) is degraded: value 20 is above 10\n"
    );
}

#[test]
fn up_names_the_line_of_a_mistake() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_app(
        tmp.path(),
        "[components.greeter]\nsource = \"greeter.wasm\"\nlimits = { memroy = \"1MiB\" }\n",
    );
    let out = airssys(tmp.path(), &["up", file.to_str().unwrap(), "--check"]);
    assert_fails_with(&out, &["airssys.toml", "line 3", "unknown field `memroy`"]);

    let file = write_app(
        tmp.path(),
        "[components.greeter]\nsource = \"missing.wasm\"\n",
    );
    let out = airssys(tmp.path(), &["up", file.to_str().unwrap(), "--check"]);
    assert_fails_with(&out, &["cannot read", "missing.wasm"]);

    let out = airssys(tmp.path(), &["up", "nowhere.toml"]);
    assert_fails_with(&out, &["cannot read nowhere.toml"]);
}
