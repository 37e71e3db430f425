//! Attacks on the file capabilities through a real guest (`tests/fixtures/files`, which declares
//! `/**` for reading and writing, so the grants decide): symlinks, renames and hard links made
//! to reach what the effective patterns do not allow, and reads and listings that try to
//! outgrow the payload limit or hold the instance. Each refusal is a typed error and an audit
//! line naming the operator's address and the real target.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, ErrorKind, Host, Limits, LoadOptions, Mode,
};
use airssys_tests::{guest, guest_failure};
use serde_json::{Value, json};

const FILES: &str = "tests/fixtures/files";
const ADDRESS: &str = "tenant-a";

/// A directory tree for one test, the audit file beside it, and the files fixture started at
/// [`ADDRESS`] with grants in it.
struct Tree {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    audit: PathBuf,
}

impl Tree {
    /// Makes the directories `dirs` and the files `(path, text)` under a fresh base.
    fn new(dirs: &[&str], files: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("tree");
        for dir in dirs {
            std::fs::create_dir_all(base.join(dir)).unwrap();
        }
        for (path, text) in files {
            std::fs::write(base.join(path), text).unwrap();
        }
        let audit = tmp.path().join("audit.jsonl");
        Self {
            _tmp: tmp,
            base,
            audit,
        }
    }

    fn path(&self, rel: &str) -> String {
        self.base.join(rel).display().to_string()
    }

    fn real(&self, rel: &str) -> PathBuf {
        self.base.join(rel)
    }

    /// The fixture on a permissive host writing the audit file, granted `(kind, rel/pattern)`.
    async fn start(&self, grants: &[(CapabilityKind, &str)], limits: Limits) -> ComponentHandle {
        let mut granted = Capabilities::default();
        for (kind, rel) in grants {
            granted.add(*kind, &self.path(rel)).unwrap();
        }
        let host = Host::builder()
            .mode(Mode::Permissive)
            .audit_log(&self.audit)
            .build()
            .unwrap();
        let options = LoadOptions::new()
            .address(ADDRESS)
            .grants(granted)
            .limits(limits);
        host.load_with(guest(FILES), options).await.unwrap()
    }

    /// The audit lines so far, as `(capability, resource, outcome)`; each must carry
    /// [`ADDRESS`].
    fn audit(&self) -> Vec<(String, String, String)> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["address"], ADDRESS, "{line}");
                let s = |k: &str| v[k].as_str().unwrap().to_owned();
                (s("capability"), s("resource"), s("outcome"))
            })
            .collect()
    }

    /// True when the audit has a denial of `capability` on `rel`.
    fn denied(&self, capability: &str, rel: &str) -> bool {
        let resource = self.path(rel);
        self.audit()
            .iter()
            .any(|(c, r, o)| c == capability && *r == resource && o == "denied")
    }
}

async fn call(handle: &ComponentHandle, op: Value) -> airssys_host::Result<Value> {
    handle.request_json(&op).await
}

/// Asserts a `denied` domain error whose message contains `needle`.
fn assert_denied(result: airssys_host::Result<Value>, needle: &str) {
    let (kind, msg) = guest_failure(result);
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    assert!(msg.contains(needle), "expected `{needle}` in: {msg}");
}

use CapabilityKind::{FsRead, FsWrite};

/// The tree of the symlink attacks: this tenant's app dir, another tenant's, and a secret
/// beside them that `srv/*/app/**` does not match.
fn tenants() -> Tree {
    Tree::new(
        &["srv/a/app", "srv/b", "srv/c/app"],
        &[
            ("srv/b/secret.txt", "secret"),
            ("srv/c/app/data.txt", "data of c"),
        ],
    )
}

/// A wildcard grant for every tenant's app dir, plus this tenant's own tree (preopened).
const TENANT_GRANTS: [(CapabilityKind, &str); 4] = [
    (FsRead, "srv/*/app/**"),
    (FsWrite, "srv/*/app/**"),
    (FsRead, "srv/a/app/**"),
    (FsWrite, "srv/a/app/**"),
];

#[tokio::test]
async fn a_guest_cannot_make_symlinks_through_wasi() {
    let tree = tenants();
    let handle = tree.start(&TENANT_GRANTS, Limits::new()).await;
    // The preopen is writable, yet making a link there is refused: a link made now could
    // lead a later reader (another component, a host program) out of what this one may use.
    let (kind, msg) = guest_failure(
        call(
            &handle,
            json!({ "op": "std_symlink", "target": "../../b/secret.txt", "link": tree.path("srv/a/app/l") }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    assert!(!tree.real("srv/a/app/l").is_symlink());
    // Files and directories are still made and renamed there as usual.
    call(
        &handle,
        json!({ "op": "std_write", "path": tree.path("srv/a/app/f.txt"), "text": "x" }),
    )
    .await
    .unwrap();
    call(
        &handle,
        json!({ "op": "std_rename", "from": tree.path("srv/a/app/f.txt"), "to": tree.path("srv/a/app/g.txt") }),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn symlinks_lead_only_where_the_patterns_allow() {
    let tree = tenants();
    let handle = tree.start(&TENANT_GRANTS, Limits::new()).await;
    // Links as a guest could have left them (through WASI, before links were refused there)
    // or another party made them: a file link to the secret, a directory link to `srv`.
    std::os::unix::fs::symlink("../../b/secret.txt", tree.real("srv/a/app/l")).unwrap();
    std::os::unix::fs::symlink("../..", tree.real("srv/a/app/up")).unwrap();

    // Moving the link under another tenant's app dir (a write `srv/*/app/**` allows) puts it
    // where only the wildcard grant matches; reading through it must still be refused, and
    // the audit names the secret, not the link.
    call(
        &handle,
        json!({ "op": "rename", "from": tree.path("srv/a/app/l"), "to": tree.path("srv/c/app/l") }),
    )
    .await
    .unwrap();
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": tree.path("srv/c/app/l") }),
        )
        .await,
        &tree.path("srv/b/secret.txt"),
    );
    assert!(
        tree.denied("fs_read", "srv/b/secret.txt"),
        "{:?}",
        tree.audit()
    );
    // Through the directory link: read, list, write, create, append, metadata, remove.
    let through = |rel: &str| tree.path(&format!("srv/a/app/up/{rel}"));
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": through("b/secret.txt") }),
        )
        .await,
        &tree.path("srv/b/secret.txt"),
    );
    assert_denied(
        call(&handle, json!({ "op": "list", "path": through("b") })).await,
        &tree.path("srv/b"),
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "list", "path": tree.path("srv/a/app/up") }),
        )
        .await,
        &tree.path("srv"),
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "write", "path": through("b/new.txt"), "text": "x" }),
        )
        .await,
        &tree.path("srv/b/new.txt"),
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "append", "path": through("b/secret.txt"), "text": "x" }),
        )
        .await,
        &tree.path("srv/b/secret.txt"),
    );
    assert_denied(
        call(&handle, json!({ "op": "mkdir", "path": through("b/d") })).await,
        &tree.path("srv/b/d"),
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "metadata", "path": through("b/secret.txt") }),
        )
        .await,
        &tree.path("srv/b/secret.txt"),
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "remove", "path": through("b/secret.txt") }),
        )
        .await,
        &tree.path("srv/b/secret.txt"),
    );
    assert!(
        tree.denied("fs_write", "srv/b/new.txt"),
        "{:?}",
        tree.audit()
    );
    assert!(tree.denied("fs_write", "srv/b/d"), "{:?}", tree.audit());
    assert!(!tree.real("srv/b/new.txt").exists() && !tree.real("srv/b/d").exists());
    assert_eq!(
        std::fs::read_to_string(tree.real("srv/b/secret.txt")).unwrap(),
        "secret"
    );
    // WASI resolves links inside the preopen only.
    let (kind, _) = guest_failure(
        call(
            &handle,
            json!({ "op": "std_read", "path": through("b/secret.txt") }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Denied);

    // A link whose target the patterns allow is followed, and both are audited.
    std::os::unix::fs::symlink("../../c/app/data.txt", tree.real("srv/a/app/ok")).unwrap();
    assert_eq!(
        call(
            &handle,
            json!({ "op": "read", "path": tree.path("srv/a/app/ok") })
        )
        .await
        .unwrap(),
        "data of c"
    );
    let audit = tree.audit();
    let last: Vec<_> = audit[audit.len() - 2..]
        .iter()
        .map(|(c, r, o)| (c.as_str(), r.clone(), o.as_str()))
        .collect();
    assert_eq!(
        last,
        [
            ("fs_read", tree.path("srv/a/app/ok"), "allowed"),
            ("fs_read", tree.path("srv/c/app/data.txt"), "allowed")
        ]
    );
    // Metadata describes a final link without following it.
    let meta = call(
        &handle,
        json!({ "op": "metadata", "path": tree.path("srv/a/app/ok") }),
    )
    .await
    .unwrap();
    assert_eq!(meta["kind"], "Symlink");
}

#[tokio::test]
async fn a_granted_path_through_a_symlink_grants_nothing_of_its_target() {
    // Patterns name real paths: `alias/**` granted, `alias -> real`.
    let tree = Tree::new(&["real"], &[("real/x.txt", "x")]);
    std::os::unix::fs::symlink("real", tree.real("alias")).unwrap();
    let handle = tree
        .start(
            &[(FsRead, "alias/**"), (FsWrite, "alias/**")],
            Limits::new(),
        )
        .await;
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": tree.path("alias/x.txt") }),
        )
        .await,
        &tree.path("real/x.txt"),
    );
    assert!(tree.denied("fs_read", "real/x.txt"), "{:?}", tree.audit());
    // Nor is it preopened: WASI would see the target tree whole.
    let (kind, _) = guest_failure(
        call(
            &handle,
            json!({ "op": "std_read", "path": tree.path("alias/x.txt") }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Denied);
    // Granting the real tree too makes both work.
    let handle = tree
        .start(&[(FsRead, "alias/**"), (FsRead, "real/**")], Limits::new())
        .await;
    for op in ["read", "std_read"] {
        let path = if op == "read" {
            "alias/x.txt"
        } else {
            "real/x.txt"
        };
        let text = call(&handle, json!({ "op": op, "path": tree.path(path) }));
        assert_eq!(text.await.unwrap(), "x", "{op}");
    }
}

#[tokio::test]
async fn renaming_cannot_make_unreadable_content_readable() {
    let tree = Tree::new(
        &["inbox/private", "public/d"],
        &[
            ("inbox/private/secret.txt", "secret"),
            ("inbox/note.txt", "unreadable"),
            ("public/a.txt", "a"),
        ],
    );
    let handle = tree
        .start(
            &[
                (FsWrite, "inbox/*"),
                (FsWrite, "public/**"),
                (FsRead, "public/**"),
            ],
            Limits::new(),
        )
        .await;
    // A directory, and a file, from where they cannot be read to where they can.
    assert_denied(
        call(
            &handle,
            json!({ "op": "rename", "from": tree.path("inbox/private"), "to": tree.path("public/private") }),
        )
        .await,
        "whole tree",
    );
    assert_denied(
        call(
            &handle,
            json!({ "op": "rename", "from": tree.path("inbox/note.txt"), "to": tree.path("public/note.txt") }),
        )
        .await,
        "could not be read",
    );
    assert!(tree.real("inbox/private/secret.txt").exists());
    assert!(!tree.real("public/private").exists() && !tree.real("public/note.txt").exists());
    assert!(
        tree.denied("fs_write", "inbox/private"),
        "{:?}",
        tree.audit()
    );
    assert!(
        tree.denied("fs_write", "inbox/note.txt"),
        "{:?}",
        tree.audit()
    );
    // Within the tree it may read and write whole, and from readable to unreadable, renames
    // work, through airssys::fs and WASI alike.
    call(
        &handle,
        json!({ "op": "rename", "from": tree.path("public/d"), "to": tree.path("public/e") }),
    )
    .await
    .unwrap();
    call(
        &handle,
        json!({ "op": "std_rename", "from": tree.path("public/e"), "to": tree.path("public/f") }),
    )
    .await
    .unwrap();
    call(
        &handle,
        json!({ "op": "rename", "from": tree.path("public/a.txt"), "to": tree.path("inbox/a.txt") }),
    )
    .await
    .unwrap();
    assert!(tree.real("public/f").is_dir() && tree.real("inbox/a.txt").is_file());
    // WASI sees only the fully effective tree (`public`), so it cannot reach `inbox` at all.
    let (kind, _) = guest_failure(
        call(
            &handle,
            json!({ "op": "std_rename", "from": tree.path("inbox/private"), "to": tree.path("public/private") }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Denied);
    assert_eq!(handle.stats().denials, 2);
}

#[tokio::test]
async fn wasi_links_and_renames_stay_within_equal_rights() {
    // `ro` is readable only, `rw` readable and writable: each is one preopen.
    let tree = Tree::new(&["ro", "rw"], &[("ro/only.txt", "read me")]);
    let handle = tree
        .start(
            &[(FsRead, "ro/**"), (FsRead, "rw/**"), (FsWrite, "rw/**")],
            Limits::new(),
        )
        .await;
    // A hard link or a rename from the read-only tree into the writable one would let the
    // guest write a file it may only read.
    for op in ["std_hard_link", "std_rename"] {
        let (kind, msg) = guest_failure(
            call(
                &handle,
                json!({ "op": op, "from": tree.path("ro/only.txt"), "to": tree.path("rw/only.txt") }),
            )
            .await,
        );
        assert_eq!(kind, ErrorKind::Denied, "{op}: {msg}");
    }
    assert!(!tree.real("rw/only.txt").exists());
    // A hard link inside the writable tree is made, and airssys::fs then refuses the file.
    call(
        &handle,
        json!({ "op": "std_write", "path": tree.path("rw/x.txt"), "text": "x" }),
    )
    .await
    .unwrap();
    call(
        &handle,
        json!({ "op": "std_hard_link", "from": tree.path("rw/x.txt"), "to": tree.path("rw/y.txt") }),
    )
    .await
    .unwrap();
    assert_denied(
        call(
            &handle,
            json!({ "op": "read", "path": tree.path("rw/y.txt") }),
        )
        .await,
        "hard links",
    );
}

#[tokio::test]
async fn listing_is_bounded_by_the_payload_limit() {
    let tree = Tree::new(&["many"], &[]);
    for i in 0..100 {
        std::fs::write(
            tree.real(&format!("many/entry-with-a-long-name-{i:03}")),
            "",
        )
        .unwrap();
    }
    let handle = tree
        .start(&[(FsRead, "many/**")], Limits::new().max_payload(1024))
        .await;
    let (kind, msg) =
        guest_failure(call(&handle, json!({ "op": "list", "path": tree.path("many") })).await);
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(msg.contains("payload limit of 1024"), "{msg}");
    // A listing within the limit passes.
    std::fs::create_dir(tree.real("few")).unwrap();
    std::fs::write(tree.real("few/one"), "").unwrap();
    let handle = tree
        .start(&[(FsRead, "few/**")], Limits::new().max_payload(1024))
        .await;
    assert_eq!(
        call(&handle, json!({ "op": "list", "path": tree.path("few") }))
            .await
            .unwrap(),
        json!(["one"])
    );
}

/// A FIFO at `path` (made with `mkfifo`, a host program, so the test needs no FFI).
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn reads_are_bounded_whatever_size_the_file_reports() {
    let tree = Tree::new(&["dev"], &[]);
    // A device that never ends and reports size 0.
    let mut grants = Capabilities::default();
    grants.add(FsRead, "/dev/zero").unwrap();
    let host = Host::builder().mode(Mode::Permissive).build().unwrap();
    let options = LoadOptions::new()
        .grants(grants)
        .limits(Limits::new().max_payload(4096));
    let handle = host.load_with(guest(FILES), options).await.unwrap();
    let (kind, msg) =
        guest_failure(call(&handle, json!({ "op": "read", "path": "/dev/zero" })).await);
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(msg.contains("payload limit of 4096"), "{msg}");

    // A FIFO whose writer sends more than the limit.
    let fifo = tree.real("dev/fifo");
    mkfifo(&fifo);
    let handle = tree
        .start(&[(FsRead, "dev/**")], Limits::new().max_payload(4096))
        .await;
    // Opened read-write so it is open (a writer the reader waits for) before the guest reads,
    // and sending less than a pipe holds so it never waits for the reader.
    let mut w = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        for _ in 0..8 {
            w.write_all(&[b'x'; 1024]).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        w
    });
    let (kind, msg) = guest_failure(
        call(
            &handle,
            json!({ "op": "read", "path": tree.path("dev/fifo") }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    drop(writer.join().unwrap());

    // A file that keeps growing while it is read: never more than the limit comes back.
    let growing = tree.real("dev/growing");
    std::fs::write(&growing, [b'y'; 1000]).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let appender = {
        let (growing, stop) = (growing.clone(), stop.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&growing)
                .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_all(&[b'y'; 512]).unwrap();
            }
        })
    };
    for _ in 0..5 {
        match call(
            &handle,
            json!({ "op": "read", "path": tree.path("dev/growing") }),
        )
        .await
        {
            Ok(text) => assert!(text.as_str().unwrap().len() <= 4096),
            Err(err) => {
                let (kind, msg) = guest_failure::<()>(Err(err));
                assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    appender.join().unwrap();
}

#[tokio::test]
async fn a_read_that_waits_forever_ends_at_the_call_deadline() {
    let tree = Tree::new(&["dev"], &[]);
    let fifo = tree.real("dev/fifo");
    mkfifo(&fifo);
    let timeout = Duration::from_millis(500);
    let handle = tree
        .start(&[(FsRead, "dev/**")], Limits::new().call_timeout(timeout))
        .await;
    // No writer at all: the read sees the end at once, nothing waits for one.
    assert_eq!(
        call(
            &handle,
            json!({ "op": "read", "path": tree.path("dev/fifo") })
        )
        .await
        .unwrap(),
        ""
    );
    // A writer that holds the FIFO open and never writes (open before the read starts).
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let started = Instant::now();
    let result = call(
        &handle,
        json!({ "op": "read", "path": tree.path("dev/fifo") }),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(elapsed < timeout + Duration::from_secs(2), "{elapsed:?}");
    let err = result.unwrap_err();
    match err.guest_error() {
        Some(guest) => assert_eq!(guest.kind(), ErrorKind::Timeout, "{err}"),
        None => assert!(err.to_string().contains("deadline"), "{err}"),
    }
    drop(holder);
    // The instance still serves.
    call(&handle, json!({ "op": "list", "path": tree.path("dev") }))
        .await
        .unwrap();
}
