//! Capabilities: declared by the component, granted by the operator, enforced and audited at
//! every host call. The `files` fixture declares `fs_read("/**")` and `fs_write("/**")`, so
//! the grants in each test decide what it reaches.

use std::path::{Path, PathBuf};

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, Error, ErrorKind, Host, LoadOptions, Mode,
};
use airssys_tests::guest;
use serde_json::{Value, json};

const FILES: &str = "tests/fixtures/files";

/// A granted root with a file in it, and a sibling directory outside every grant.
struct Sandbox {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("granted");
        let outside = tmp.path().join("secret");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(root.join("note.txt"), "inside").unwrap();
        std::fs::write(outside.join("key.txt"), "outside").unwrap();
        Self {
            _tmp: tmp,
            root,
            outside,
        }
    }

    fn path(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }

    fn secret(&self) -> String {
        self.outside.join("key.txt").display().to_string()
    }
}

fn grants(entries: &[(CapabilityKind, &Path)]) -> Capabilities {
    let mut grants = Capabilities::default();
    for (kind, root) in entries {
        grants
            .add(*kind, &format!("{}/**", root.display()))
            .unwrap();
    }
    grants
}

/// The files fixture in permissive mode with `grants`.
async fn files(grants: Capabilities) -> ComponentHandle {
    let host = Host::builder().mode(Mode::Permissive).build().unwrap();
    host.load_with(guest(FILES), LoadOptions::new().grants(grants))
        .await
        .unwrap()
}

async fn call(handle: &ComponentHandle, op: Value) -> airssys_host::Result<Value> {
    handle.request_json(&op).await
}

fn assert_denied(result: airssys_host::Result<Value>, needle: &str) {
    let err = result.expect_err("must be denied");
    let guest = err.guest_error().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(guest.kind(), ErrorKind::Denied, "{err}");
    assert!(err.to_string().contains(needle), "{err}");
}

#[tokio::test]
async fn strict_mode_refuses_to_start_and_lists_what_is_missing() {
    let sandbox = Sandbox::new();
    let err = Host::new()
        .unwrap()
        .load_with(
            guest(FILES),
            LoadOptions::new().grants(grants(&[(CapabilityKind::FsRead, &sandbox.root)])),
        )
        .await
        .unwrap_err();
    let Error::NotGranted { component, missing } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(component, "files@0.1.0");
    assert_eq!(
        missing,
        &[
            (CapabilityKind::FsRead, "/**".to_owned()),
            (CapabilityKind::FsWrite, "/**".to_owned())
        ]
    );
    let msg = err.to_string();
    assert!(msg.contains("fs_read `/**`, fs_write `/**`"), "{msg}");
    assert!(
        msg.contains("`--grant KIND=PATTERN`") && msg.contains("permissive mode"),
        "{msg}"
    );
    // Granting everything it declares lets it start in strict mode.
    let mut all = Capabilities::default();
    all.add(CapabilityKind::FsRead, "/**").unwrap();
    all.add(CapabilityKind::FsWrite, "/**").unwrap();
    Host::new()
        .unwrap()
        .load_with(guest(FILES), LoadOptions::new().grants(all))
        .await
        .unwrap();
}

#[tokio::test]
async fn granted_files_can_be_used() {
    let sandbox = Sandbox::new();
    let handle = files(grants(&[
        (CapabilityKind::FsRead, &sandbox.root),
        (CapabilityKind::FsWrite, &sandbox.root),
    ]))
    .await;
    assert_eq!(
        call(
            &handle,
            json!({ "op": "read", "path": sandbox.path("note.txt") })
        )
        .await
        .unwrap(),
        "inside"
    );
    call(
        &handle,
        json!({ "op": "write", "path": sandbox.path("new.txt"), "text": "a" }),
    )
    .await
    .unwrap();
    call(
        &handle,
        json!({ "op": "append", "path": sandbox.path("new.txt"), "text": "b" }),
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("new.txt")).unwrap(),
        "ab"
    );
    call(
        &handle,
        json!({ "op": "mkdir", "path": sandbox.path("sub") }),
    )
    .await
    .unwrap();
    call(&handle, json!({ "op": "rename", "from": sandbox.path("new.txt"), "to": sandbox.path("sub/moved.txt") })).await.unwrap();
    assert_eq!(
        call(&handle, json!({ "op": "list", "path": sandbox.path("") }))
            .await
            .unwrap(),
        json!(["note.txt", "sub"])
    );
    let meta = call(
        &handle,
        json!({ "op": "metadata", "path": sandbox.path("sub/moved.txt") }),
    )
    .await
    .unwrap();
    assert_eq!(meta, json!({ "kind": "File", "size": 2, "modified": true }));
    call(
        &handle,
        json!({ "op": "remove", "path": sandbox.path("sub/moved.txt") }),
    )
    .await
    .unwrap();
    assert!(!sandbox.root.join("sub/moved.txt").exists());
    let caps = handle.capabilities();
    assert_eq!(caps.mode(), Mode::Permissive);
    // `/**` is declared, only the subtree is granted: the subtree is what it can use.
    let subtree = format!("{}/**", sandbox.root.display());
    assert_eq!(
        caps.effective().get(CapabilityKind::FsRead),
        std::slice::from_ref(&subtree)
    );
    assert_eq!(caps.effective().get(CapabilityKind::FsWrite), [subtree]);
    assert_eq!(caps.declared().get(CapabilityKind::FsRead), ["/**"]);
    assert_eq!(handle.stats().denials, 0);
}

#[tokio::test]
async fn escapes_from_a_granted_root_are_denied() {
    let sandbox = Sandbox::new();
    let handle = files(grants(&[
        (CapabilityKind::FsRead, &sandbox.root),
        (CapabilityKind::FsWrite, &sandbox.root),
    ]))
    .await;
    // An absolute path outside, and `..` traversal to it.
    assert_denied(
        call(&handle, json!({ "op": "read", "path": sandbox.secret() })).await,
        "is not allowed",
    );
    let traversal = format!("{}/../secret/key.txt", sandbox.root.display());
    assert_denied(
        call(&handle, json!({ "op": "read", "path": traversal })).await,
        "is not allowed",
    );
    // A symlink inside the root that points outside it.
    std::os::unix::fs::symlink(sandbox.outside.join("key.txt"), sandbox.root.join("link")).unwrap();
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": sandbox.path("link") }),
        )
        .await,
        "link",
    );
    std::os::unix::fs::symlink(&sandbox.outside, sandbox.root.join("dirlink")).unwrap();
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": sandbox.path("dirlink/key.txt") }),
        )
        .await,
        "dirlink",
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "write", "path": sandbox.path("dirlink/new.txt"), "text": "x" }),
        )
        .await,
        "dirlink",
    );
    // A hard link inside the root to a file outside.
    std::fs::hard_link(
        sandbox.outside.join("key.txt"),
        sandbox.root.join("hard.txt"),
    )
    .unwrap();
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": sandbox.path("hard.txt") }),
        )
        .await,
        "hard links",
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "append", "path": sandbox.path("hard.txt"), "text": "x" }),
        )
        .await,
        "hard links",
    );
    // Renaming out of the root, or an outside file in.
    let out = sandbox.outside.join("stolen.txt").display().to_string();
    assert_denied(
        call(
            &handle,
            json!({ "op": "rename", "from": sandbox.path("note.txt"), "to": out }),
        )
        .await,
        "stolen.txt",
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "rename", "from": sandbox.secret(), "to": sandbox.path("in.txt") }),
        )
        .await,
        "key.txt",
    );
    // Nothing outside changed, and every denial was counted.
    assert_eq!(
        std::fs::read_to_string(sandbox.outside.join("key.txt")).unwrap(),
        "outside"
    );
    assert!(!sandbox.outside.join("stolen.txt").exists());
    assert!(sandbox.root.join("note.txt").exists());
    // Four capability checks failed (outside, `..`, rename out, rename in) and five escapes
    // were stopped by root confinement (three symlinks) and the hard-link check (two): all
    // are audited and counted as denials.
    assert_eq!(handle.stats().denials, 9);
}

#[tokio::test]
async fn read_only_grants_refuse_writes() {
    let sandbox = Sandbox::new();
    let handle = files(grants(&[(CapabilityKind::FsRead, &sandbox.root)])).await;
    call(
        &handle,
        json!({ "op": "read", "path": sandbox.path("note.txt") }),
    )
    .await
    .unwrap();
    assert_denied(
        call(
            &handle,
            json!({ "op": "write", "path": sandbox.path("note.txt"), "text": "x" }),
        )
        .await,
        "fs_write",
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "remove", "path": sandbox.path("note.txt") }),
        )
        .await,
        "fs_write",
    );
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("note.txt")).unwrap(),
        "inside"
    );
}

#[tokio::test]
async fn std_fs_sees_granted_trees_with_the_same_rights() {
    let sandbox = Sandbox::new();
    let handle = files(grants(&[(CapabilityKind::FsRead, &sandbox.root)])).await;
    let read = call(
        &handle,
        json!({ "op": "std_read", "path": sandbox.path("note.txt") }),
    )
    .await;
    assert_eq!(read.unwrap(), "inside");
    let write = call(
        &handle,
        json!({ "op": "std_write", "path": sandbox.path("x.txt"), "text": "x" }),
    )
    .await;
    assert!(write.is_err(), "read-only preopen");
    assert!(!sandbox.root.join("x.txt").exists());
    let outside = call(
        &handle,
        json!({ "op": "std_read", "path": sandbox.secret() }),
    )
    .await;
    assert!(outside.is_err(), "not preopened");

    let writer = files(grants(&[
        (CapabilityKind::FsRead, &sandbox.root),
        (CapabilityKind::FsWrite, &sandbox.root),
    ]))
    .await;
    call(
        &writer,
        json!({ "op": "std_write", "path": sandbox.path("x.txt"), "text": "x" }),
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("x.txt")).unwrap(),
        "x"
    );
}

#[tokio::test]
async fn development_mode_grants_what_is_declared() {
    let sandbox = Sandbox::new();
    let host = Host::builder().mode(Mode::Development).build().unwrap();
    let handle = host.load(guest(FILES)).await.unwrap();
    assert_eq!(
        handle
            .capabilities()
            .effective()
            .get(CapabilityKind::FsRead),
        ["/**"]
    );
    assert_eq!(
        call(&handle, json!({ "op": "read", "path": sandbox.secret() }))
            .await
            .unwrap(),
        "outside"
    );
}

#[tokio::test]
async fn every_decision_is_audited_to_the_file() {
    let sandbox = Sandbox::new();
    let audit = sandbox.root.parent().unwrap().join("audit.jsonl");
    let host = Host::builder()
        .mode(Mode::Permissive)
        .audit_log(&audit)
        .build()
        .unwrap();
    let options = LoadOptions::new().grants(grants(&[(CapabilityKind::FsRead, &sandbox.root)]));
    let handle = host.load_with(guest(FILES), options).await.unwrap();
    call(
        &handle,
        json!({ "op": "read", "path": sandbox.path("note.txt") }),
    )
    .await
    .unwrap();
    call(&handle, json!({ "op": "read", "path": sandbox.secret() }))
        .await
        .unwrap_err();
    let lines: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["component"], "files");
    assert_eq!(lines[0]["version"], "0.1.0");
    assert_eq!(lines[0]["capability"], "fs_read");
    assert_eq!(lines[0]["resource"], sandbox.path("note.txt"));
    assert_eq!(lines[0]["outcome"], "allowed");
    assert_eq!(lines[1]["resource"], sandbox.secret());
    assert_eq!(lines[1]["outcome"], "denied");
    assert!(lines[1]["time_ms"].as_u64().unwrap() > 0);
}
