//! HTTPS: rustls against real loopback TLS servers whose certificates come from a CA made in
//! the test. The host trusts it only when told to (an extra root); certificate failures
//! reach the guest as `denied` errors naming the host and the reason, with no request sent;
//! `https` to `http` redirects are refused unless allowed; grants, timeouts and caps hold as
//! for `http`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use airssys_host::{CapabilityKind, ComponentHandle, ErrorKind, Host, HttpSettings};
use airssys_tests::{LoopbackServer, TestCa, TestDns, guest_failure, start_granted_on};
use serde_json::json;

use crate::network::{NETTER, fetch};

const NAME: &str = "secure.example.com";

/// A CA, its PEM file, and a DNS server that sends `NAME` to 127.0.0.1.
struct Setup {
    ca: TestCa,
    ca_file: PathBuf,
    dns: TestDns,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let ca = TestCa::new();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let dns = TestDns::start(&[(NAME, loopback)]);
        Self {
            ca,
            ca_file,
            dns,
            _dir: dir,
        }
    }

    /// Settings that resolve through the test DNS and trust the test CA.
    fn trusting(&self) -> HttpSettings {
        self.resolving().extra_root(&self.ca_file)
    }

    /// Settings that resolve through the test DNS and trust the system's roots only.
    fn resolving(&self) -> HttpSettings {
        HttpSettings::new().nameserver(self.dns.addr)
    }

    /// A TLS server on 127.0.0.1 presenting a certificate of the test CA for `names`.
    fn server(&self, names: &[&str], expired: bool) -> LoopbackServer {
        LoopbackServer::start_tls("127.0.0.1", self.ca.server(names, expired))
    }
}

/// The netter on a host with `settings`, granted `NAME` and 127.0.0.1 on the server's port
/// (the name resolves to loopback, which needs its own grant), plus `more`.
async fn netter(
    settings: HttpSettings,
    server: &LoopbackServer,
    more: &[String],
) -> ComponentHandle {
    let port = server.addr.port();
    let mut grants = vec![format!("{NAME}:{port}"), server.addr.to_string()];
    grants.extend_from_slice(more);
    let builder = Host::builder().http(settings);
    start_granted_on(builder, NETTER, CapabilityKind::Net, &grants).await
}

fn url(server: &LoopbackServer, path: &str) -> String {
    format!("https://{NAME}:{}{path}", server.addr.port())
}

#[tokio::test]
async fn a_trusted_server_answers_verified_for_the_url_s_name() {
    let setup = Setup::new();
    // The certificate names only NAME: the host verifies for it (and sends it as SNI), not
    // for the address it connects to.
    let server = setup.server(&[NAME], false);
    let handle = netter(setup.trusting(), &server, &[]).await;
    let reply = fetch(&handle, json!({ "url": url(&server, "/hello") }))
        .await
        .unwrap();
    assert_eq!(
        (reply["status"].clone(), reply["body"].clone()),
        (json!(200), json!("hello"))
    );
    let reply = fetch(
        &handle,
        json!({ "method": "POST", "url": url(&server, "/headers"), "body": "x" }),
    )
    .await
    .unwrap();
    let headers = reply["body"].as_str().unwrap();
    assert!(
        headers.contains(&format!("host: {NAME}:{}\n", server.addr.port())),
        "{headers}"
    );
    // An address in the URL is verified as an address.
    let by_ip = setup.server(&["127.0.0.1"], false);
    let handle = netter(setup.trusting(), &by_ip, &[]).await;
    let reply = fetch(&handle, json!({ "url": by_ip.url("/hello") }))
        .await
        .unwrap();
    assert_eq!(reply["body"], "hello");
    assert_eq!(handle.stats().denials, 0);
}

#[tokio::test]
async fn certificates_that_do_not_verify_are_typed_errors_and_no_request_is_sent() {
    let setup = Setup::new();
    let good = setup.server(&[NAME], false);
    let wrong_name = setup.server(&["other.example.com"], false);
    let expired = setup.server(&[NAME], true);
    let cases = [
        // The system's roots do not include the test CA.
        (setup.resolving(), &good, "unknown issuer"),
        (setup.trusting(), &wrong_name, "the name does not match"),
        (setup.trusting(), &expired, "it has expired"),
    ];
    for (settings, server, reason) in cases {
        let handle = netter(settings, server, &[]).await;
        let (kind, msg) =
            guest_failure(fetch(&handle, json!({ "url": url(server, "/hello") })).await);
        assert_eq!(kind, ErrorKind::Denied, "{msg}");
        assert!(
            msg.contains(&format!("the TLS certificate of `{NAME}` is not trusted"))
                && msg.contains(reason),
            "{reason}: {msg}"
        );
        assert_eq!(
            server.requests(),
            0,
            "{reason}: no request reached the server"
        );
        assert!(server.hits() >= 1, "{reason}: the handshake was tried");
    }
}

#[tokio::test]
async fn a_server_that_speaks_no_tls_is_unavailable() {
    let setup = Setup::new();
    let plain = LoopbackServer::start("127.0.0.1");
    let handle = netter(setup.trusting(), &plain, &[]).await;
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": url(&plain, "/hello") })).await);
    assert_eq!(kind, ErrorKind::Unavailable, "{msg}");
    assert!(msg.contains("TLS handshake"), "{msg}");
}

#[tokio::test]
async fn downgrades_to_http_are_refused_unless_allowed() {
    let setup = Setup::new();
    let server = setup.server(&[NAME], false);
    let plain = LoopbackServer::start("127.0.0.1");
    let down = url(&server, &format!("/redirect?to={}", plain.url("/hello")));
    let more = [plain.addr.to_string()];
    let handle = netter(setup.trusting(), &server, &more).await;
    let (kind, msg) = guest_failure(fetch(&handle, json!({ "url": down })).await);
    assert_eq!(kind, ErrorKind::Denied, "{msg}");
    assert!(
        msg.contains("from https to plain http") && msg.contains("allow_downgrade"),
        "{msg}"
    );
    assert_eq!(plain.hits(), 0);
    assert_eq!(handle.stats().denials, 1);
    // Redirects that stay on https are followed as for http.
    let reply = fetch(&handle, json!({ "url": url(&server, "/to-hello") }))
        .await
        .unwrap();
    assert_eq!(reply["body"], "hello");
    let handle = netter(setup.trusting().allow_downgrade(true), &server, &more).await;
    let reply = fetch(&handle, json!({ "url": down })).await.unwrap();
    assert_eq!(reply["body"], "hello");
    assert_eq!(plain.requests(), 1);
}

#[tokio::test]
async fn grants_caps_and_timeouts_hold_over_tls() {
    let setup = Setup::new();
    let server = setup.server(&[NAME], false);
    let handle = netter(setup.trusting(), &server, &[]).await;
    let (kind, _) =
        guest_failure(fetch(&handle, json!({ "url": format!("https://{NAME}:1/hello") })).await);
    assert_eq!(kind, ErrorKind::Denied);
    let (kind, msg) = guest_failure(
        fetch(
            &handle,
            json!({ "url": url(&server, "/big"), "max_response": 1000 }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Internal);
    assert!(msg.contains("over the 1000-byte limit"), "{msg}");
    let started = Instant::now();
    let (kind, _) = guest_failure(
        fetch(
            &handle,
            json!({ "url": url(&server, "/slow"), "timeout_ms": 300 }),
        )
        .await,
    );
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}
