//! Identity in what operators read: two operator entries of one binary are told apart by
//! address (and the hash) in audit lines, events and errors; guest text that could disguise a
//! line is escaped in logs and audit lines.

use airssys_host::{Capabilities, CapabilityKind, EventKind, Host, LoadOptions, Mode};
use airssys_tests::{CapturedLogs, guest};
use serde_json::{Value, json};

const FILES: &str = "tests/fixtures/files";

fn read_grant(root: &std::path::Path) -> Capabilities {
    let mut grants = Capabilities::default();
    grants
        .add(CapabilityKind::FsRead, &format!("{}/**", root.display()))
        .unwrap();
    grants
}

#[tokio::test]
async fn two_entries_of_one_binary_are_told_apart_in_audit_events_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("note.txt"), "hi").unwrap();
    }
    let audit = tmp.path().join("audit.jsonl");
    let host = Host::builder()
        .mode(Mode::Permissive)
        .audit_log(&audit)
        .build()
        .unwrap();
    let mut events = host.events();
    let start = |address: &'static str, root: &std::path::Path| {
        let options = LoadOptions::new().address(address).grants(read_grant(root));
        host.load_with(guest(FILES), options)
    };
    let tenant_a = start("tenant-a", &a).await.unwrap();
    let tenant_b = start("tenant-b", &b).await.unwrap();
    let read =
        |path: std::path::PathBuf| json!({ "op": "read", "path": path.display().to_string() });
    tenant_a
        .request_json::<_, Value>(&read(a.join("note.txt")))
        .await
        .unwrap();
    // Tenant b may not read tenant a's file: its error names it by address.
    let err = tenant_b
        .request_json::<_, Value>(&read(a.join("note.txt")))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("tenant-b (files@0.1.0) returned an error: denied:"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("is not allowed for tenant-b (files@0.1.0)"),
        "{err}"
    );

    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, address, outcome) in [
        (&lines[0], "tenant-a", "allowed"),
        (&lines[1], "tenant-b", "denied"),
    ] {
        assert_eq!(line["address"], address);
        assert_eq!(line["component"], "files");
        assert_eq!(line["version"], "0.1.0");
        assert_eq!(line["outcome"], outcome);
        assert_eq!(line["hash"], tenant_a.identity().hash);
    }
    assert_eq!(tenant_a.identity().hash.len(), 64);

    let started: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e.kind, EventKind::Started))
        .map(|e| e.component.to_string())
        .collect();
    assert_eq!(
        started,
        ["tenant-a (files@0.1.0)", "tenant-b (files@0.1.0)"]
    );
}

#[tokio::test]
async fn text_that_could_disguise_a_line_is_escaped_in_logs_and_audit() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    // Right-to-left override, line separator, zero-width space and a newline.
    let sneaky = "paid\u{202e}diap\u{2028}ok\u{200b}\nFORGED";
    let faults = {
        let mut grants = Capabilities::default();
        grants.add(CapabilityKind::FsRead, "/data/**").unwrap();
        grants
            .add(CapabilityKind::Net, "api.example.com:443")
            .unwrap();
        grants.add(CapabilityKind::Publish, "faults.>").unwrap();
        Host::new()
            .unwrap()
            .load_with(
                guest("tests/fixtures/faults"),
                LoadOptions::new().grants(grants),
            )
            .await
            .unwrap()
    };
    faults
        .request_json::<_, Value>(&json!({ "op": "print", "text": sneaky }))
        .await
        .unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let name = "invoice\u{202e}fdp.exe";
    std::fs::write(tmp.path().join(name), "x").unwrap();
    let audit = tmp.path().join("audit.jsonl");
    let host = Host::builder()
        .mode(Mode::Permissive)
        .audit_log(&audit)
        .build()
        .unwrap();
    let files = host
        .load_with(
            guest(FILES),
            LoadOptions::new().grants(read_grant(tmp.path())),
        )
        .await
        .unwrap();
    let path = tmp.path().join(name).display().to_string();
    files
        .request_json::<_, Value>(&json!({ "op": "read", "path": path }))
        .await
        .unwrap();

    let text = logs.text();
    for raw in ['\u{202e}', '\u{2028}', '\u{200b}'] {
        assert!(!text.contains(raw), "{raw:?} reached the log:\n{text}");
    }
    assert!(!text.contains("\nFORGED"), "a forged line:\n{text}");
    let line = |needle: &str| {
        // Each word of the needle, in a line that may carry a call's span between the
        // level and the target (`WARN call{address=…}: airssys::guest: …`).
        text.lines()
            .find(|l| needle.split(' ').all(|word| l.contains(word)))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
    };
    // Output lines end at newlines; what is inside a line is escaped.
    let stdout = line("stream=\"stdout\"");
    assert!(
        stdout.contains("paid\\u{202e}diap\\u{2028}ok\\u{200b}"),
        "{stdout}"
    );
    // A log message is one line, its newline escaped too.
    let log = line("WARN airssys::guest");
    assert!(
        log.contains("paid\\u{202e}diap\\u{2028}ok\\u{200b}\\nFORGED"),
        "{log}"
    );

    let file = std::fs::read_to_string(&audit).unwrap();
    assert!(!file.contains('\u{202e}'), "{file}");
    let line: Value = serde_json::from_str(file.lines().next().unwrap()).unwrap();
    assert_eq!(
        line["resource"],
        path.replace('\u{202e}', "\\u{202e}"),
        "the audit file shows the escape"
    );
}
