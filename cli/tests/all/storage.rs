//! Durable storage through the real binary: `airssys up --stdin` serving a visit counter is
//! killed with SIGKILL in the middle of a stream of requests, and after `airssys up` again the
//! count goes on from the last acknowledged visit; another component cannot see the
//! namespace; `airssys storage` reads the file once the host is stopped.

use std::io::{BufReader, Write};
use std::os::unix::process::ExitStatusExt;

use serde_json::Value;

use crate::common::*;

fn visits(reply: &Value) -> u64 {
    reply["reply"]["visits"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {reply}"))
}

#[test]
fn the_count_continues_after_sigkill_and_airssys_up_again() {
    let counter = guest("examples/visits");
    let snoop = guest("tests/fixtures/keeper");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("airssys.toml"),
        format!(
            r#"
[host]
mode = "permissive"

[storage]
path = "data/visits.redb"

[components.visits]
source = "{}"
grants = {{ storage = ["visits"] }}

[components.snoop]
source = "{}"
grants = {{ storage = ["snoop.>"] }}
"#,
            counter.display(),
            snoop.display()
        ),
    )
    .unwrap();

    // A stream of visits, written as fast as the pipe takes them; replies read meanwhile.
    let mut child = up_stdin(tmp.path());
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut sent = 0u64;
        while sent < 100_000 && writeln!(stdin, r#"visits {{"page": "/k"}}"#).is_ok() {
            sent += 1;
        }
        sent
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut acked = 0;
    while let Some(reply) = next_reply(&mut out) {
        let count = visits(&reply);
        assert_eq!(count, acked + 1, "replies count one by one");
        acked = count;
        if acked == 200 {
            child.kill().expect("SIGKILL");
            break;
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
    assert_eq!(acked, 200, "the host stopped early");
    let sent = writer.join().unwrap();

    // `airssys up` again: the count goes on from the last acknowledged visit (a visit that
    // was committed but whose reply the kill cut off may also have counted).
    let mut child = up_stdin(tmp.path());
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, r#"visits {{"page": "/k"}}"#).unwrap();
    writeln!(
        stdin,
        r#"snoop {{"ns": "visits", "op": "get", "key": "/k"}}"#
    )
    .unwrap();
    drop(stdin); // the end of stdin stops the host
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let count = visits(&next_reply(&mut out).unwrap());
    assert!(
        count > acked && count <= sent + 1,
        "after {acked} acknowledged of {sent} sent, the next visit counted {count}"
    );
    let snooped = next_reply(&mut out).unwrap();
    assert_eq!(snooped["reply"]["error"]["kind"], "denied", "{snooped}");
    assert!(child.wait().unwrap().success());

    // With the host stopped, the operator reads the file.
    let listed = airssys(tmp.path(), &["storage", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let rows: Vec<Vec<String>> = stdout(&listed)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows[0], ["NAMESPACE", "KEYS", "BYTES"]);
    assert_eq!(rows[1][..2], ["visits".to_owned(), "1".to_owned()]);
    let got = airssys(tmp.path(), &["storage", "get", "visits", "/k"]);
    assert_eq!(stdout(&got), count.to_string());
    let exported = airssys(tmp.path(), &["storage", "export", "visits"]);
    let line: Value = serde_json::from_str(stdout(&exported).trim()).unwrap();
    assert_eq!(line["key"], "/k");
    assert_eq!(line["value"], count.to_string());
}

#[test]
fn airssys_storage_names_each_mistake() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("airssys.toml");
    std::fs::write(&file, "[components.a]\nsource = \"a.wasm\"\n").unwrap();
    let out = airssys(tmp.path(), &["storage", "list"]);
    assert_fails_with(&out, &["has no `[storage]` table"]);

    std::fs::write(
        &file,
        "[storage]\nmemory = true\n[components.a]\nsource = \"a.wasm\"\n",
    )
    .unwrap();
    let out = airssys(tmp.path(), &["storage", "list"]);
    assert_fails_with(&out, &["in memory"]);

    std::fs::write(
        &file,
        "[storage]\npath = \"kv.redb\"\n[components.a]\nsource = \"a.wasm\"\n",
    )
    .unwrap();
    let out = airssys(tmp.path(), &["storage", "export", "nothing.here"]);
    assert_fails_with(
        &out,
        &[
            "namespace `nothing.here` holds no keys",
            "airssys storage list",
        ],
    );
    let out = airssys(tmp.path(), &["storage", "get", "ns", "k"]);
    assert_fails_with(&out, &["namespace `ns` has no key `k`"]);

    // While a host has the file open, the command says so instead of waiting or guessing.
    let _open = airssys_host::storage::Storage::open(tmp.path().join("kv.redb")).unwrap();
    let out = airssys(tmp.path(), &["storage", "list"]);
    assert_fails_with(
        &out,
        &["is open in another process", "stop that host first"],
    );
}
