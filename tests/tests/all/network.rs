//! Outbound HTTP: only granted hosts, redirects re-checked, addresses that are not global
//! only when granted literally, the Host header and credentials, with timeouts (DNS included)
//! and a response cap. Servers, and the DNS server where a test needs names, are real, on
//! loopback.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use airssys_host::{CapabilityKind, ComponentHandle, ErrorKind, Host, HttpSettings, Limits};
use airssys_tests::{LoopbackServer, TestDns, guest_failure, start_granted, start_granted_on};
use serde_json::{Value, json};

pub(crate) const NETTER: &str = "tests/fixtures/netter";

async fn netter(patterns: &[String]) -> ComponentHandle {
    start_granted(NETTER, CapabilityKind::Net, patterns).await
}

/// The netter on a host that resolves names through `dns` and audits to `audit`.
async fn netter_resolving(dns: &TestDns, audit: &Path, patterns: &[String]) -> ComponentHandle {
    let builder = Host::builder()
        .http(HttpSettings::new().nameserver(dns.addr))
        .audit_log(audit);
    start_granted_on(builder, NETTER, CapabilityKind::Net, patterns).await
}

pub(crate) async fn fetch(handle: &ComponentHandle, request: Value) -> airssys_host::Result<Value> {
    handle.request_json(&request).await
}

/// The audit file's lines, as JSON.
pub(crate) fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
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
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let dns = TestDns::start(&[]);
    let handle = netter_resolving(&dns, &audit, &["*:*".to_owned()]).await;
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    // Decided, told and audited as the address it is, beside what was asked.
    assert!(
        msg.contains(&format!(
            "net `127.0.0.1:{port}` (asked as `0x7f000001:{port}`) is not allowed"
        )),
        "{msg}"
    );
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["resource"], format!("127.0.0.1:{port}"));
    assert_eq!(lines[0]["asked"], format!("0x7f000001:{port}"));
    assert_eq!(lines[0]["outcome"], "denied");
    assert_eq!(server.hits(), 0);
    // Granting the address itself allows it, however it is spelled.
    let handle = netter(&["*:*".to_owned(), server.addr.to_string()]).await;
    let reply = fetch(&handle, json!({ "url": url })).await.unwrap();
    assert_eq!(reply["body"], "hello");
}

/// Every block that is not globally reachable, reached through a name a granted wildcard
/// covers (the DNS answer is the attacker's), and each as a literal URL.
const NOT_GLOBAL: [(&str, &str, &str); 9] = [
    ("metadata", "100.100.100.200", "Shared Address Space"),
    ("bench", "198.18.0.1", "Benchmarking"),
    ("reserved", "240.0.0.1", "Reserved"),
    ("ietf", "192.0.0.1", "IPv4 Service Continuity Prefix"),
    ("site", "fec0::1", "Site-Local (deprecated)"),
    (
        "compat",
        "::127.0.0.1",
        "IPv4-compatible Address (deprecated)",
    ),
    ("nat64", "64:ff9b::7f00:1", "Loopback"),
    ("sixtofour", "2002:7f00:1::", "6to4"),
    ("mapped", "::ffff:127.0.0.1", "IPv4-mapped Address"),
];

#[tokio::test]
async fn addresses_that_are_not_global_need_a_literal_grant() {
    let records: Vec<(String, IpAddr)> = NOT_GLOBAL
        .iter()
        .map(|(name, ip, _)| (format!("{name}.example.com"), ip.parse().unwrap()))
        .collect();
    let records: Vec<(&str, IpAddr)> = records.iter().map(|(n, ip)| (n.as_str(), *ip)).collect();
    let dns = TestDns::start(&records);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let grants = ["*.example.com:80".to_owned(), "*:*".to_owned()];
    let handle = netter_resolving(&dns, &audit, &grants).await;
    for (name, ip, block) in NOT_GLOBAL {
        let ip: IpAddr = ip.parse().unwrap();
        let resolved = std::net::SocketAddr::new(ip, 80).to_string();
        let url = format!("http://{name}.example.com/");
        let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
        assert_eq!(kind, ErrorKind::Denied, "{url}: {msg}");
        assert!(
            msg.contains(&format!(
                "resolves to {ip}, which is not a public address ({block})"
            )),
            "{url}: {msg}"
        );
        // A literal URL needs a literal grant; `*` covers names only.
        let literal = format!("http://{}/", resolved.trim_end_matches(":80"));
        let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": literal })).await);
        assert_eq!(kind, ErrorKind::Denied, "{literal}: {msg}");
        assert!(
            msg.contains(&format!("net `{resolved}`")),
            "{literal}: {msg}"
        );
        // And a WASI socket the same. wasmtime-wasi itself refuses IPv4 inside IPv6 socket
        // addresses (invalid argument), before the gate is asked.
        let (_, msg) = guest_failure(fetch(&handle, json!({ "tcp": resolved })).await);
        let refusal = if embeds_ipv4(ip) {
            "Invalid argument"
        } else {
            "Permission denied"
        };
        assert!(msg.contains(refusal), "tcp {resolved}: {msg}");
    }
    let embedding = NOT_GLOBAL
        .iter()
        .filter(|(_, ip, _)| embeds_ipv4(ip.parse().unwrap()))
        .count();
    assert_eq!(
        handle.stats().denials,
        (3 * NOT_GLOBAL.len() - embedding) as u64
    );
    let lines = audit_lines(&audit);
    for (name, ip, _) in NOT_GLOBAL {
        let resolved = std::net::SocketAddr::new(ip.parse().unwrap(), 80).to_string();
        let denied: Vec<&Value> = lines
            .iter()
            .filter(|l| l["resource"] == resolved.as_str() && l["outcome"] == "denied")
            .collect();
        // The resolved address (asked as the name), the literal URL, the socket.
        let sockets = usize::from(!embeds_ipv4(ip.parse().unwrap()));
        assert_eq!(denied.len(), 2 + sockets, "{resolved}: {lines:#?}");
        assert_eq!(denied[0]["asked"], format!("{name}.example.com:80"));
    }
}

/// IPv4-mapped (`::ffff:0:0/96`) or IPv4-compatible (`::/96`).
fn embeds_ipv4(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[..5] == [0; 5] && matches!(v6.segments()[5], 0 | 0xffff))
}

#[tokio::test]
async fn a_name_for_a_literally_granted_loopback_server_still_works() {
    let server = LoopbackServer::start("127.0.0.1");
    let port = server.addr.port();
    let dns = TestDns::start(&[("local.example.com", "127.0.0.1".parse().unwrap())]);
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let url = format!("http://local.example.com:{port}/hello");
    let name_only = [format!("local.example.com:{port}")];
    let handle = netter_resolving(&dns, &audit, &name_only).await;
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    assert!(msg.contains("(Loopback)"), "{msg}");
    let both = [name_only[0].clone(), server.addr.to_string()];
    let handle = netter_resolving(&dns, &audit, &both).await;
    let reply = fetch(&handle, json!({ "url": url })).await.unwrap();
    assert_eq!(reply["body"], "hello");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn the_dns_lookup_is_within_the_timeout_and_the_deadline() {
    // A resolver that never answers: the lookup alone would take hickory's own timeouts
    // (5 s per try, twice), far past the request's timeout.
    let dns = TestDns::silent();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let grants = ["*.example.com:80".to_owned()];
    let handle = netter_resolving(&dns, &audit, &grants).await;
    let started = Instant::now();
    let (kind, msg) = guest_failure(
        fetch(
            &handle,
            json!({ "url": "http://slow.example.com/", "timeout_ms": 300 }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Timeout, "{msg}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // With a long request timeout, the call's deadline ends it.
    let builder = Host::builder()
        .http(HttpSettings::new().nameserver(dns.addr))
        .limits(Limits::default().call_timeout(Duration::from_secs(1)));
    let handle = start_granted_on(builder, NETTER, CapabilityKind::Net, &grants).await;
    let started = Instant::now();
    let err = fetch(
        &handle,
        json!({ "url": "http://slow.example.com/", "timeout_ms": 60_000 }),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}: {err}");
    assert!(
        err.to_string().contains("took longer than") || err.to_string().contains("deadline"),
        "{err}"
    );
}

#[tokio::test]
async fn the_host_header_is_the_url_s_and_credentials_stay_out_of_urls() {
    let server = LoopbackServer::start("127.0.0.1");
    let handle = netter(&[server.addr.to_string()]).await;
    let reply = fetch(
        &handle,
        json!({ "url": server.url("/headers"), "headers": [["Host", "evil.example.com"]] }),
    )
    .await
    .unwrap();
    let headers = reply["body"].as_str().unwrap();
    assert!(
        headers.contains(&format!("host: {}\n", server.addr)),
        "{headers}"
    );
    assert!(!headers.contains("evil"), "{headers}");
    // `user:pass@` would be sent as part of the Host header; such URLs are refused.
    let url = format!("http://user:pass@{}/headers", server.addr);
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url })).await);
    assert_eq!(kind, ErrorKind::InvalidInput, "{msg}");
    assert!(msg.contains("Authorization header"), "{msg}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn credentials_are_not_sent_on_to_another_origin() {
    let server = LoopbackServer::start("127.0.0.1");
    let other = LoopbackServer::start("127.0.0.2");
    let handle = netter(&[server.addr.to_string(), other.addr.to_string()]).await;
    let secrets = json!([
        ["Authorization", "Bearer s3cret"],
        ["Cookie", "session=s3cret"],
        ["X-Trace", "t1"]
    ]);
    let away = server.url(&format!("/redirect?to={}", other.url("/headers")));
    let reply = fetch(&handle, json!({ "url": away, "headers": secrets }))
        .await
        .unwrap();
    let headers = reply["body"].as_str().unwrap();
    assert!(!headers.contains("s3cret"), "{headers}");
    assert!(headers.contains("x-trace: t1"), "{headers}");
    // The same origin keeps them.
    let home = server.url(&format!("/redirect?to={}", server.url("/headers")));
    let reply = fetch(&handle, json!({ "url": home, "headers": secrets }))
        .await
        .unwrap();
    let headers = reply["body"].as_str().unwrap();
    assert!(
        headers.contains("authorization: Bearer s3cret"),
        "{headers}"
    );
    assert!(headers.contains("cookie: session=s3cret"), "{headers}");
}
