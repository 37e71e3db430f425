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

#[test]
fn up_requests_after_start_and_components_talk() {
    let [checkout, pricing, ledger] =
        ["checkout", "pricing", "ledger"].map(|c| guest(&format!("examples/shop/{c}")));
    let tmp = tempfile::tempdir().unwrap();
    let file = write_app(
        tmp.path(),
        &format!(
            r#"
[components.checkout]
source = "{}"
grants = {{ message = ["pricing"] }}

[components.pricing]
source = "{}"
config = {{ pear = "55" }}
grants = {{ publish = ["prices.quoted"] }}

[components.ledger]
source = "{}"
grants = {{ subscribe = ["prices.>"] }}
"#,
            checkout.display(),
            pricing.display(),
            ledger.display()
        ),
    );
    let file = file.to_str().unwrap();
    let out = airssys(
        tmp.path(),
        &[
            "up",
            file,
            "--check",
            "--request",
            r#"checkout={"item":"pear","qty":2}"#,
            "-r",
            r#"ledger={"op":"list"}"#,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let replies: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("checkout: ") || l.starts_with("ledger: "))
        .collect();
    assert_eq!(
        replies,
        [
            r#"checkout: {"item":"pear","qty":2,"total_cents":110}"#,
            r#"ledger: [{"from":"pricing","quote":{"asked_by":"checkout","cents":110,"item":"pear","qty":2},"topic":"prices.quoted"}]"#,
        ],
        "{text}"
    );
    assert!(text.contains("ledger (ledger@0.1.0) is healthy"), "{text}");

    // A request that is not JSON is refused before anything starts.
    let out = airssys(tmp.path(), &["up", file, "--request", "checkout={"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the request to `checkout` is not valid JSON"),
        "{}",
        stderr(&out)
    );
    // Strict mode: without its grant, checkout does not start, naming what is missing.
    let strict = std::fs::read_to_string(file)
        .unwrap()
        .replace(r#"grants = { message = ["pricing"] }"#, "");
    std::fs::write(file, strict).unwrap();
    let out = airssys(tmp.path(), &["up", file, "--check"]);
    assert_fails_with(
        &out,
        &["checkout@0.1.0 was not started", "message `pricing`"],
    );
}
