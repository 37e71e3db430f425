//! Shared helpers for the end-to-end tests: guest components built from source in this
//! repository (once per test process), and the hand-written WAT fixtures in `tests/wat/`.

pub mod browser;
pub mod example_app;
pub mod http;
pub mod nats;
pub mod served;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airssys_host::build::BuildOptions;
use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, ErrorKind, Host, HostBuilder, LoadOptions, Mode,
    testing,
};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// The repository root.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

/// Where test builds of guests go: apart from `target/` so the nested cargo never waits on
/// the lock held by the `cargo test` that runs us.
pub fn guest_target_dir() -> PathBuf {
    workspace_root().join("target").join("guests")
}

/// Builds the guest crate at `crate_dir` (relative to the repository root, e.g.
/// `examples/hello`) in release mode for wasm32-wasip2 and returns its component's path.
/// Each crate is built at most once per test process.
pub fn guest(crate_dir: &str) -> PathBuf {
    let options = BuildOptions {
        release: true,
        target_dir: Some(guest_target_dir()),
        quiet: true,
    };
    testing::build_with(workspace_root().join(crate_dir), &options)
        .unwrap_or_else(|err| panic!("building {crate_dir} failed: {err}"))
}

/// The grants listed, each `(kind, pattern)`; panics (failing the test) on a malformed one.
pub fn grants(entries: &[(CapabilityKind, &str)]) -> Capabilities {
    let mut grants = Capabilities::default();
    for (kind, pattern) in entries {
        grants.add(*kind, pattern).unwrap();
    }
    grants
}

/// Starts the guest crate at `crate_dir` on a permissive host, granting it `kind` on
/// `patterns` (it may use what it declared and these allow).
pub async fn start_granted(
    crate_dir: &str,
    kind: CapabilityKind,
    patterns: &[impl AsRef<str>],
) -> ComponentHandle {
    start_granted_on(Host::builder(), crate_dir, kind, patterns).await
}

/// [`start_granted`] on a host built from `builder` (in permissive mode).
pub async fn start_granted_on(
    builder: HostBuilder,
    crate_dir: &str,
    kind: CapabilityKind,
    patterns: &[impl AsRef<str>],
) -> ComponentHandle {
    let mut grants = Capabilities::default();
    for pattern in patterns {
        grants.add(kind, pattern.as_ref()).unwrap();
    }
    let host = builder.mode(Mode::Permissive).build().unwrap();
    host.load_with(guest(crate_dir), LoadOptions::new().grants(grants))
        .await
        .unwrap()
}

/// The guest's error kind and the full message of a call that must have failed with a
/// domain error.
pub fn guest_failure<T: std::fmt::Debug>(result: airssys_host::Result<T>) -> (ErrorKind, String) {
    let err = result.expect_err("must fail");
    let kind = err
        .guest_error()
        .unwrap_or_else(|| panic!("{err:?}"))
        .kind();
    (kind, err.to_string())
}

/// The binary of `tests/wat/<name>.wat`.
pub fn wat(name: &str) -> Vec<u8> {
    let path = workspace_root()
        .join("tests/wat")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A `tracing` writer that keeps everything written, so tests can assert on log lines.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Installs a subscriber writing here (no colour) for the current thread until the guard
    /// drops. Use it with a current-thread runtime so the instance's task logs here too.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

impl io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A small HTTP/1.1 server on a loopback address, in clear text or TLS, for network tests.
/// Routes: `/hello` (200 "hello"), `/echo` (200 with "METHOD BODY"), `/headers` (200 with the
/// request's header lines, names lowercased), `/to-hello` (302 to `/hello`), `/redirect?to=URL`
/// (302 to URL), `/big` (200 with 100 000 bytes), `/slow` (200 after 3 s). Connections and
/// requests are counted. Its threads end with the test process.
pub struct LoopbackServer {
    /// `127.0.0.x:port`.
    pub addr: SocketAddr,
    tls: bool,
    hits: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl LoopbackServer {
    /// Starts one on `ip` (e.g. `127.0.0.1`, `127.0.0.2`) and an ephemeral port.
    pub fn start(ip: &str) -> Self {
        Self::listen(ip, None)
    }

    /// Starts an HTTPS one on `ip`, presenting the certificate of `tls` (see [`TestCa`]).
    pub fn start_tls(ip: &str, tls: Arc<ServerConfig>) -> Self {
        Self::listen(ip, Some(tls))
    }

    fn listen(ip: &str, tls: Option<Arc<ServerConfig>>) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let server = Self {
            addr: listener.local_addr().unwrap(),
            tls: tls.is_some(),
            hits: Arc::default(),
            requests: Arc::default(),
        };
        let (hits, requests) = (server.hits.clone(), server.requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (requests, tls) = (requests.clone(), tls.clone());
                hits.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || match tls {
                    None => serve(stream, &requests),
                    Some(config) => ServerConnection::new(config)
                        .map_err(io::Error::other)
                        .and_then(|tls| serve(StreamOwned::new(tls, stream), &requests)),
                });
            }
        });
        server
    }

    /// `http://<addr><path>`, or `https://` for a TLS server.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests read so far (for TLS, only after a handshake the client accepted).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(stream: impl Read + Write, requests: &AtomicUsize) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    requests.fetch_add(1, Ordering::SeqCst);
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut length = 0usize;
    let mut headers = String::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            headers += &format!("{}: {}\n", name.to_ascii_lowercase(), value.trim());
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let (status, location, payload) = match target.as_str() {
        "/hello" => ("200 OK", None, b"hello".to_vec()),
        "/headers" => ("200 OK", None, headers.into_bytes()),
        "/echo" => (
            "200 OK",
            None,
            format!("{method} {}", String::from_utf8_lossy(&body)).into_bytes(),
        ),
        "/to-hello" => ("302 Found", Some("/hello".to_owned()), Vec::new()),
        "/big" => ("200 OK", None, vec![b'x'; 100_000]),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            ("200 OK", None, b"late".to_vec())
        }
        t if t.starts_with("/redirect?to=") => (
            "302 Found",
            Some(t["/redirect?to=".len()..].to_owned()),
            Vec::new(),
        ),
        _ => ("404 Not Found", None, Vec::new()),
    };
    let out = reader.get_mut();
    write!(
        out,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        payload.len()
    )?;
    if let Some(location) = location {
        write!(out, "location: {location}\r\n")?;
    }
    out.write_all(b"\r\n")?;
    out.write_all(&payload)?;
    out.flush()
}

/// A certificate authority made for one test, whose certificates nothing else trusts.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A fresh CA with a new key.
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "airssys test CA");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// The CA certificate, PEM-encoded, as an operator's `extra_roots` file holds it.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server configuration presenting a certificate from this CA for `names` (DNS names or
    /// IP addresses), valid from a year ago for two years, or, when `expired`, for the
    /// year before that.
    pub fn server(&self, names: &[&str], expired: bool) -> Arc<ServerConfig> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let year = 365 * 24 * 3600;
        let (from, to) = if expired {
            (now - 2 * year, now - year)
        } else {
            (now - year, now + year)
        };
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(from as u64);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(to as u64);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![cert.der().clone(), CertificateDer::clone(self.issuer.der())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// A DNS server on a loopback UDP port, for hosts told to resolve through it
/// (`HttpSettings::nameserver`): it answers `A` and `AAAA` queries for the names it was
/// given, and `NXDOMAIN` for any other name. Its thread ends with the test process.
pub struct TestDns {
    /// `127.0.0.1:port`.
    pub addr: SocketAddr,
}

impl TestDns {
    /// Serves `records`: each name (without a trailing dot) and the address it resolves to.
    pub fn start(records: &[(&str, IpAddr)]) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP port");
        let addr = socket.local_addr().unwrap();
        let records: Vec<(String, IpAddr)> = records
            .iter()
            .map(|(name, ip)| (name.to_ascii_lowercase(), *ip))
            .collect();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((len, peer)) = socket.recv_from(&mut buf) {
                if let Some(answer) = answer(&buf[..len], &records) {
                    let _ = socket.send_to(&answer, peer);
                }
            }
        });
        Self { addr }
    }

    /// A DNS server that receives queries and never answers, like one behind a black hole.
    pub fn silent() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP port");
        let addr = socket.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while socket.recv_from(&mut buf).is_ok() {}
        });
        Self { addr }
    }
}

fn answer(query: &[u8], records: &[(String, IpAddr)]) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    let question = query.queries.first()?.clone();
    let name = question
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut response = Message::new(
        query.metadata.id,
        MessageType::Response,
        query.metadata.op_code,
    );
    response.metadata.authoritative = true;
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    let known: Vec<IpAddr> = records
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, ip)| *ip)
        .collect();
    if known.is_empty() {
        response.metadata.response_code = ResponseCode::NXDomain;
    }
    for ip in known {
        let rdata = match (ip, question.query_type()) {
            (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
            _ => continue,
        };
        response.add_answer(Record::from_rdata(question.name().clone(), 60, rdata));
    }
    response.add_query(question);
    response.to_vec().ok()
}
