//! Every way a load can fail gives a typed error that names the file and the fix, and the
//! host keeps working after it.

use airssys_host::{Error, Host, Source};
use airssys_tests::{guest, wat};

async fn load_bytes(label: &str, bytes: impl Into<Vec<u8>>) -> Error {
    Host::new()
        .unwrap()
        .load(Source::bytes(label, bytes))
        .await
        .expect_err("the load must fail")
}

#[tokio::test]
async fn text_is_not_wasm() {
    let err = load_bytes("notes.txt", "hello world").await;
    assert!(
        matches!(err, Error::NotWasm { ref origin } if origin == "notes.txt"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("notes.txt is not a WebAssembly binary"),
        "{msg}"
    );
    assert!(msg.contains("wasm32-wasip2"), "{msg}");
}

#[tokio::test]
async fn wat_text_is_never_parsed() {
    // Valid WAT for an empty component: the host reads binary only.
    let err = load_bytes("component.wat", "(component)").await;
    assert!(matches!(err, Error::NotWasm { .. }), "{err:?}");
}

#[tokio::test]
async fn core_module_is_refused_with_the_fix() {
    let err = load_bytes("module.wasm", wat("core_module")).await;
    assert!(matches!(err, Error::CoreModule { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("is a core WebAssembly module, not a component"),
        "{msg}"
    );
    assert!(msg.contains("--target wasm32-wasip2"), "{msg}");
}

#[tokio::test]
async fn truncated_component_is_malformed() {
    let bytes = std::fs::read(guest("examples/hello")).unwrap();
    let err = load_bytes("half.wasm", &bytes[..bytes.len() / 2]).await;
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("half.wasm is not a valid WebAssembly component"),
        "{err}"
    );

    let err = load_bytes("header.wasm", &b"\0asm\x0d\0"[..]).await;
    assert!(
        matches!(err, Error::Malformed { ref reason, .. } if reason.contains("truncated")),
        "{err:?}"
    );
}

#[tokio::test]
async fn corrupt_bytes_are_malformed() {
    let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
    bytes.extend_from_slice(&[0xff; 64]);
    let err = load_bytes("garbage.wasm", bytes).await;
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn component_of_another_world_lists_its_exports() {
    let err = load_bytes("cli.wasm", wat("other_world")).await;
    match &err {
        Error::WrongWorld { exports, .. } => assert_eq!(exports, &["wasi:cli/run@0.2.0"]),
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("not an airssys component"), "{msg}");
    assert!(msg.contains("airssys:core/lifecycle@1.0.0"), "{msg}");
    assert!(msg.contains("#[airssys::component]"), "{msg}");
}

#[tokio::test]
async fn other_contract_version_is_named() {
    let err = load_bytes("future.wasm", wat("other_version")).await;
    assert!(
        matches!(err, Error::ContractVersion { ref found, .. } if found == "2.0.0"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("built for airssys:core@2.0.0"),
        "{err}"
    );
}

#[tokio::test]
async fn a_future_manifest_is_named_by_its_contract_version() {
    // Its new field would be "unknown" to this contract; its version is what to report.
    let err = load_bytes("future.wasm", wat("future_manifest")).await;
    assert!(
        matches!(err, Error::ContractVersion { ref found, .. } if found == "1.1.0"),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_export_is_named() {
    let err = load_bytes("partial.wasm", wat("missing_export")).await;
    assert!(matches!(err, Error::MissingExport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("the function `health` is missing"),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_signatures_are_refused_before_running() {
    let err = load_bytes("wrong.wasm", wat("wrong_signature")).await;
    assert!(matches!(err, Error::MissingExport { .. }), "{err:?}");
    assert!(
        err.to_string().contains("do not match the contract"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_manifest_is_named() {
    let err = load_bytes("anon.wasm", wat("no_manifest")).await;
    assert!(matches!(err, Error::MissingManifest { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("custom section `airssys:manifest`"),
        "{err}"
    );
}

#[tokio::test]
async fn corrupt_manifest_is_named() {
    let err = load_bytes("corrupt.wasm", wat("corrupt_manifest")).await;
    assert!(matches!(err, Error::CorruptManifest { .. }), "{err:?}");
    assert!(err.to_string().contains("not valid JSON"), "{err}");

    let err = load_bytes("caps.wasm", wat("bad_capability")).await;
    assert!(matches!(err, Error::CorruptManifest { .. }), "{err:?}");
    assert!(err.to_string().contains("paths must be absolute"), "{err}");
}

#[tokio::test]
async fn unknown_import_is_a_link_error() {
    let err = load_bytes("vault.wasm", wat("unknown_import")).await;
    assert!(matches!(err, Error::Link { .. }), "{err:?}");
    assert!(err.to_string().contains("acme:secret/vault@1.0.0"), "{err}");
}

#[tokio::test]
async fn oversize_component_is_refused_before_reading() {
    let host = Host::builder().max_component_size(4096).build().unwrap();
    let path = guest("examples/hello");
    let err = host.load(&path).await.unwrap_err();
    match &err {
        Error::TooLarge {
            origin,
            limit,
            size,
        } => {
            assert_eq!(*limit, 4096);
            assert!(*size > 4096);
            assert!(origin.ends_with("hello.wasm"), "{origin}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("max_component_size"), "{err}");
}

#[tokio::test]
async fn missing_file_names_the_path() {
    let err = airssys_host::load("/no/such/dir/greeter.wasm")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/no/such/dir/greeter.wasm"),
        "{err}"
    );
}

#[test]
fn impossible_host_settings_are_refused() {
    let err = Host::builder().mailbox_capacity(0).build().err().unwrap();
    assert!(err.to_string().contains("mailbox_capacity is 0"), "{err}");
    let err = Host::builder().max_component_size(0).build().err().unwrap();
    assert!(err.to_string().contains("max_component_size is 0"), "{err}");
}

#[tokio::test]
async fn host_still_loads_after_bad_input() {
    let host = Host::new().unwrap();
    for bytes in [b"junk".to_vec(), wat("core_module"), wat("no_manifest")] {
        host.load(Source::bytes("bad", bytes)).await.unwrap_err();
    }
    let greeter = host.load(guest("examples/hello")).await.unwrap();
    let reply: serde_json::Value = greeter
        .request_json(&serde_json::json!({ "name": "again" }))
        .await
        .unwrap();
    assert_eq!(reply["text"], "Hello, again!");
}
