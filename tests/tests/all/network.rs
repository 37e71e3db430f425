//! Outbound HTTP: only granted hosts, redirects re-checked, loopback and IPs only when granted
//! literally, with timeouts and a response cap. Servers are real, on loopback.

use std::time::Duration;

use airssys_host::{CapabilityKind, ComponentHandle, ErrorKind};
use airssys_tests::{LoopbackServer, guest_failure, start_granted};
use serde_json::{Value, json};

const NETTER: &str = "tests/fixtures/netter";

async fn netter(patterns: &[String]) -> ComponentHandle {
    start_granted(NETTER, CapabilityKind::Net, patterns).await
}

async fn fetch(handle: &ComponentHandle, request: Value) -> airssys_host::Result<Value> {
    handle.request_json(&request).await
}

#[tokio::test]
async fn a_granted_host_answers() {
    let server = LoopbackServer::start("127.0.0.1");
    let handle = netter(&[server.addr.to_string()]).await;
    let reply = fetch(&handle, json!({ "url": server.url("/hello") }))
        .await
        .unwrap();
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["body"], "hello");
    let reply = fetch(
        &handle,
        json!({ "method": "POST", "url": server.url("/echo"), "body": "ping" }),
    )
    .await
    .unwrap();
    assert_eq!(reply["body"], "POST ping");
    assert_eq!(handle.stats().denials, 0);
}

#[tokio::test]
async fn a_host_outside_the_grants_is_denied_without_connecting() {
    let allowed = LoopbackServer::start("127.0.0.1");
    let other = LoopbackServer::start("127.0.0.2");
    let handle = netter(&[allowed.addr.to_string()]).await;
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": other.url("/hello") })).await);
    assert_eq!(kind, ErrorKind::Denied);
    assert!(
        msg.contains(&format!("net `{}` is not allowed", other.addr)),
        "{msg}"
    );
    // Another port on the granted address is another resource.
    let (kind, _) =
        guest_failure(fetch(&handle, json!({ "url": "http://127.0.0.1:1/hello" })).await);
    assert_eq!(kind, ErrorKind::Denied);
    assert_eq!(other.hits(), 0);
}

#[tokio::test]
async fn wildcards_never_reach_look_alike_names_loopback_or_ips() {
    let server = LoopbackServer::start("127.0.0.1");
    // `*.example.com` covers sub-domains only.
    let handle = netter(&["*.example.com:80".to_owned()]).await;
    for url in ["http://badexample.com/", "http://example.com/"] {
        let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
        assert_eq!(kind, ErrorKind::Denied, "{url}: {msg}");
    }
    // A lone `*` covers names, never `localhost` or IP literals.
    let handle = netter(&["*:*".to_owned()]).await;
    for url in [
        format!("http://localhost:{}/hello", server.addr.port()),
        server.url("/hello"),
    ] {
        let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
        assert_eq!(kind, ErrorKind::Denied, "{url}: {msg}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn redirects_are_followed_and_each_is_checked() {
    let server = LoopbackServer::start("127.0.0.1");
    let other = LoopbackServer::start("127.0.0.2");
    let handle = netter(&[server.addr.to_string()]).await;
    let reply = fetch(&handle, json!({ "url": server.url("/to-hello") }))
        .await
        .unwrap();
    assert_eq!(
        (reply["status"].clone(), reply["body"].clone()),
        (json!(200), json!("hello"))
    );
    let reply = fetch(
        &handle,
        json!({ "url": server.url("/to-hello"), "max_redirects": 0 }),
    )
    .await
    .unwrap();
    assert_eq!(
        (reply["status"].clone(), reply["location"].clone()),
        (json!(302), json!("/hello"))
    );

    let escape = server.url(&format!("/redirect?to={}", other.url("/hello")));
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": escape })).await);
    assert_eq!(kind, ErrorKind::Denied);
    assert!(msg.contains(&other.addr.to_string()), "{msg}");
    assert_eq!(
        other.hits(),
        0,
        "the denied redirect target was never contacted"
    );
}

#[tokio::test]
async fn responses_are_capped_and_slow_servers_time_out() {
    let server = LoopbackServer::start("127.0.0.1");
    let handle = netter(&[server.addr.to_string()]).await;
    let (kind, msg) = guest_failure(
        fetch(
            &handle,
            json!({ "url": server.url("/big"), "max_response": 1000 }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Internal);
    assert!(msg.contains("over the 1000-byte limit"), "{msg}");
    let started = std::time::Instant::now();
    let (kind, _) = guest_failure(
        fetch(
            &handle,
            json!({ "url": server.url("/slow"), "timeout_ms": 300 }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn https_is_refused_plainly_for_now() {
    let handle = netter(&["*.example.com:443".to_owned()]).await;
    let (kind, msg) =
        guest_failure(fetch(&handle, json!({ "url": "https://api.example.com/" })).await);
    assert_eq!(kind, ErrorKind::Unsupported);
    assert!(msg.contains("https is not supported"), "{msg}");
}

#[tokio::test]
async fn wasi_sockets_follow_the_same_grants() {
    let server = LoopbackServer::start("127.0.0.1");
    let other = LoopbackServer::start("127.0.0.2");
    let handle = netter(&[server.addr.to_string()]).await;
    let reply = fetch(&handle, json!({ "tcp": server.addr.to_string() }))
        .await
        .unwrap();
    assert_eq!(reply["body"], "hello");
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "tcp": other.addr.to_string() })).await);
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    assert_eq!(other.hits(), 0);
    assert_eq!(handle.stats().denials, 1);
}

#[tokio::test]
async fn numeric_hosts_are_addresses_that_need_the_address_granted() {
    let server = LoopbackServer::start("127.0.0.1");
    let port = server.addr.port();
    // `0x7f000001` looks like a name, but the system resolver reads it as 127.0.0.1, so the
    // contract does too: `*` (names only) does not match it.
    let url = format!("http://0x7f000001:{port}/hello");
    let handle = netter(&["*:*".to_owned()]).await;
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    assert!(msg.contains("net `0x7f000001:"), "{msg}");
    assert_eq!(server.hits(), 0);
    // Granting the address itself allows it, however it is spelled.
    let handle = netter(&["*:*".to_owned(), server.addr.to_string()]).await;
    let reply = fetch(&handle, json!({ "url": url })).await.unwrap();
    assert_eq!(reply["body"], "hello");
}
