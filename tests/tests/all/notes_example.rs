//! examples/notes end to end: files, a host program and HTTP, each exactly as granted, in
//! strict mode; and its operator file parses as documented.

use airssys_host::{AppManifest, Capabilities, CapabilityKind, Host, LoadOptions};
use airssys_tests::{LoopbackServer, guest, workspace_root};
use serde_json::{Value, json};

#[tokio::test]
async fn notes_uses_files_a_program_and_http_as_granted() {
    std::fs::create_dir_all("/tmp/airssys-notes").unwrap();
    let webhook = LoopbackServer::start("127.0.0.1");
    let mut grants = Capabilities::default();
    for (kind, pattern) in [
        (CapabilityKind::FsRead, "/tmp/airssys-notes/**".to_owned()),
        (CapabilityKind::FsWrite, "/tmp/airssys-notes/**".to_owned()),
        // Strict mode: grants must cover what it declares, `127.0.0.1:*`.
        (CapabilityKind::Net, "127.0.0.1:*".to_owned()),
        (CapabilityKind::Process, "wc -w".to_owned()),
    ] {
        grants.add(kind, &pattern).unwrap();
    }
    let options = LoadOptions::new()
        .grants(grants)
        .config("webhook", webhook.url("/echo"));
    let err = Host::new()
        .unwrap()
        .load(guest("examples/notes"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("was not started"),
        "strict mode without grants: {err}"
    );
    let notes = Host::new()
        .unwrap()
        .load_with(guest("examples/notes"), options)
        .await
        .unwrap();

    let title = format!("test-{}", std::process::id());
    let call = |op: Value| {
        let notes = notes.clone();
        async move { notes.request_json::<_, Value>(&op).await }
    };
    call(json!({ "op": "add", "title": title, "text": "buy milk and bread" }))
        .await
        .unwrap();
    let listed = call(json!({ "op": "list" })).await.unwrap();
    assert!(
        listed.as_array().unwrap().contains(&json!(title)),
        "{listed}"
    );
    let note = call(json!({ "op": "get", "title": title })).await.unwrap();
    assert_eq!(note["words"], 4);
    let shared = call(json!({ "op": "share", "title": title }))
        .await
        .unwrap();
    assert_eq!(shared["status"], 200);
    assert_eq!(webhook.hits(), 1);
    let err = call(json!({ "op": "get", "title": "../../etc/passwd" }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a valid title"), "{err}");
    std::fs::remove_file(format!("/tmp/airssys-notes/{title}.txt")).unwrap();
}

#[test]
fn the_example_operator_file_parses() {
    let app = AppManifest::from_file(workspace_root().join("examples/notes/airssys.toml")).unwrap();
    let (name, notes) = app.components().next().unwrap();
    assert_eq!(name, "notes");
    assert!(
        notes
            .source
            .ends_with("target/wasm32-wasip2/release/notes.wasm")
    );
    assert_eq!(notes.options.grants.get(CapabilityKind::Process), ["wc -w"]);
}
