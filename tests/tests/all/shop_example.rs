//! examples/shop end to end, under the grants of its operator file in strict mode: checkout
//! requests pricing, pricing answers and publishes, ledger receives what is published.

use airssys_host::{AppManifest, ErrorKind, Health, Host};
use airssys_tests::{guest, workspace_root};
use serde_json::{Value, json};

#[tokio::test]
async fn the_shop_talks_as_its_operator_file_allows() {
    let app = AppManifest::from_file(workspace_root().join("examples/shop/airssys.toml")).unwrap();
    // Its own host settings would write an audit file into the example's folder.
    let host = Host::new().unwrap();
    let mut running = Vec::new();
    for (name, component) in app.components() {
        let source = guest(&format!("examples/shop/{name}"));
        running.push(
            host.load_with(source, component.options.clone())
                .await
                .unwrap(),
        );
    }
    let [checkout, ledger, _pricing] = &running[..] else {
        panic!("three components")
    };
    assert_eq!(
        ledger.health().await.unwrap(),
        Health::Degraded("no prices quoted yet".into())
    );

    let order: Value = checkout
        .request_json(&json!({ "item": "apple", "qty": 3 }))
        .await
        .unwrap();
    assert_eq!(
        order,
        json!({ "item": "apple", "qty": 3, "total_cents": 120 })
    );
    let entries: Value = ledger.request_json(&json!({ "op": "list" })).await.unwrap();
    assert_eq!(
        entries,
        json!([{ "topic": "prices.quoted", "from": "pricing",
                 "quote": { "item": "apple", "qty": 3, "cents": 120, "asked_by": "checkout" } }])
    );

    // Pricing's own error reaches checkout's caller with its kind, through `?`.
    let err = checkout
        .request_json::<_, Value>(&json!({ "item": "kiwi", "qty": 1 }))
        .await
        .unwrap_err();
    let error = err.guest_error().unwrap();
    assert_eq!(
        (error.kind(), error.message()),
        (ErrorKind::NotFound, "no price for `kiwi`")
    );
}
