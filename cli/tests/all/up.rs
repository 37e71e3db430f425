//! `airssys up` reads the operator's file and starts what it lists, with its configuration.

use crate::common::*;

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
    let text = stdout(&out);
    let (table, health) = text.split_at(text.find("greeter (").expect(&text));
    assert_eq!(
        health,
        "greeter (greeter@0.1.0) is healthy\ntally (counter@0.1.0) is degraded: value 20 is above 10\n"
    );
    // The status table, once everything is up: one row per address, in address order.
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "ADDRESS",
            "COMPONENT",
            "VERSION",
            "STATE",
            "REQUESTS",
            "MEMORY"
        ],
        "{table}"
    );
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(
        rows[1][..5],
        ["greeter", "greeter", "0.1.0", "running", "0"]
    );
    assert_eq!(rows[2][..5], ["tally", "counter", "0.1.0", "running", "0"]);
    for row in &rows[1..] {
        assert!(
            ["KiB", "MiB"].contains(&row[6]) && row[5].parse::<f64>().unwrap() > 0.0,
            "memory in use: {table}"
        );
    }
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
