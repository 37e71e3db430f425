//! The dashboard in a real headless Chromium (installed from the distribution's packages
//! when missing), over the example application as `airssys up examples/app` serves it: the
//! page lists the components, refuses a change without the right token and says why, deploys
//! a new version uploaded from the page, rolls it back with a click, and shows each change
//! live (the page is never reloaded). `AIRSSYS_SCREENSHOTS=1` writes `docs/dashboard.png` and
//! `docs/dashboard-rollback.png`.

use std::time::Duration;

use airssys_tests::browser::{Browser, WAIT};
use airssys_tests::example_app::ExampleApp;
use airssys_tests::http::{Client, metric};
use airssys_tests::workspace_root;
use serde_json::json;

const WEB_ROW: &str = r#"tr.component[data-address="web"]"#;

async fn visit(client: &mut Client) -> String {
    let reply = client
        .post_json("/components/web", &json!({"page": "/home", "user": "ada"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["served_by"].as_str().unwrap().to_owned()
}

/// The state cell of `label` (e.g. `web@1.0.0`) in web's version table.
fn state_of(label: &str) -> String {
    format!(r#"tr[data-versions-of="web"] tr[data-label="{label}"] td.version-state"#)
}

/// Writes the page as it is now to `docs/NAME` when screenshots are asked for.
async fn screenshot(browser: &Browser, name: &str) {
    if std::env::var_os("AIRSSYS_SCREENSHOTS").is_some_and(|v| v == "1") {
        let path = workspace_root().join("docs").join(name);
        std::fs::write(&path, browser.screenshot().await).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_deploys_and_rolls_back_the_example_app_with_the_admin_token() {
    let app = ExampleApp::start().await;
    let mut client = app.served.client().await;
    for _ in 0..3 {
        assert_eq!(visit(&mut client).await, "web@1.0.0");
    }

    let browser = Browser::start(1440, 1000).await;
    browser.goto(&app.served.url("/")).await;
    browser
        .wait_for("#components", WAIT, "the example's components", |text| {
            ["web@1.0.0", "store@", "feed@"]
                .iter()
                .all(|c| text.contains(c))
        })
        .await;
    browser
        .wait_for("#live", WAIT, "the event stream", |text| text == "live")
        .await;
    browser
        .wait_for(
            &format!("{WEB_ROW} td.requests"),
            WAIT,
            "web's count",
            |t| t == "3",
        )
        .await;

    // Choose web-next for `web`, as an operator would.
    browser.select("#deploy-address", "web").await;
    browser
        .type_into("#deploy-file", ExampleApp::web_next().to_str().unwrap())
        .await;
    browser.select("#deploy-strategy", "blue-green").await;

    // No token: the server's 401 is on the page, and nothing changed.
    browser.click("#deploy").await;
    browser
        .wait_for("#operations", WAIT, "the refusal", |t| {
            t.contains("web deploy 401 unauthorized: send `Authorization: Bearer TOKEN`")
        })
        .await;
    // A wrong token: refused too, saying so.
    browser.type_into("#token", "not-the-admin-token").await;
    browser.click("#token-use").await;
    browser.click("#deploy").await;
    browser
        .wait_for("#operations", WAIT, "the wrong token's refusal", |t| {
            t.contains("401 unauthorized: the bearer token is wrong")
        })
        .await;
    assert_eq!(
        visit(&mut client).await,
        "web@1.0.0",
        "nothing was deployed"
    );

    // The right token: the deploy runs, its progress shows, and the page follows it.
    browser.type_into("#token", app.token.secret()).await;
    browser.click("#token-use").await;
    browser
        .wait_for("#token-state", WAIT, "the token kept", |t| {
            t == "set for this tab"
        })
        .await;
    browser.click("#deploy").await;
    let log = browser
        .wait_for("#operations", WAIT, "the deploy's outcome", |t| {
            t.contains("done: web@1.0.0 → web@1.1.0 (blue-green")
        })
        .await;
    assert!(log.contains("web deploy starting:"), "{log}");
    assert!(log.contains("web deploy switching:"), "{log}");
    browser
        .wait_for(&format!("{WEB_ROW} td.version"), WAIT, "web@1.1.0", |t| {
            t == "web@1.1.0"
        })
        .await;
    assert_eq!(visit(&mut client).await, "web@1.1.0");

    // Show web's versions: 1.0.0 in standby, 1.1.0 serving.
    browser.click(&format!("{WEB_ROW} td.address")).await;
    browser
        .wait_for(&state_of("web@1.0.0"), WAIT, "1.0.0 kept", |t| {
            t == "standby"
        })
        .await;
    browser
        .wait_for(&state_of("web@1.1.0"), WAIT, "1.1.0 serving", |t| {
            t == "serving"
        })
        .await;
    screenshot(&browser, "dashboard.png").await;

    // Roll back with a click: the page shows 1.0.0 serving again, and so does the app.
    browser
        .click_when_enabled(&format!(r#"{WEB_ROW} button[data-action="rollback"]"#))
        .await;
    browser
        .wait_for("#operations", WAIT, "the rollback's outcome", |t| {
            t.contains("web rollback done: web@1.1.0 → web@1.0.0")
        })
        .await;
    browser
        .wait_for(
            &format!("{WEB_ROW} td.version"),
            WAIT,
            "web@1.0.0 again",
            |t| t == "web@1.0.0",
        )
        .await;
    browser
        .wait_for(&state_of("web@1.0.0"), WAIT, "1.0.0 serving", |t| {
            t == "serving"
        })
        .await;
    browser
        .wait_for(&state_of("web@1.1.0"), WAIT, "1.1.0 kept", |t| {
            t == "standby"
        })
        .await;
    browser
        .wait_for("#lifecycle", WAIT, "the rollback's events", |t| {
            t.contains("version") && t.contains("web@1.0.0")
        })
        .await;
    assert_eq!(visit(&mut client).await, "web@1.0.0");
    // Let the request rates settle into the picture.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    screenshot(&browser, "dashboard-rollback.png").await;

    // /metrics tells the same story.
    let text = client.get("/metrics").await.text();
    let count = |name: &str, labels: &[(&str, &str)]| metric(&text, name, labels);
    assert_eq!(
        count(
            "airssys_deploys_total",
            &[
                ("address", "web"),
                ("strategy", "blue-green"),
                ("outcome", "ok")
            ]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(
            "airssys_rollbacks_total",
            &[("address", "web"), ("outcome", "ok")]
        ),
        1.0
    );
    assert_eq!(
        count(
            "airssys_ingress_requests_total",
            &[("route", "admin"), ("status", "401")]
        ),
        2.0,
        "the two refusals"
    );

    browser.close().await;
    app.stop().await;
}
