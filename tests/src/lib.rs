//! Shared helpers for the end-to-end tests: guest components built from source in this
//! repository (once per test process), and the hand-written WAT fixtures in `tests/wat/`.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use airssys_cli::build::{BuildOptions, build_crate, ensure_wasm_target};
use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, ErrorKind, Host, LoadOptions, Mode,
};

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
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(|| {
            ensure_wasm_target().expect("the wasm32-wasip2 target is needed to build guests");
            Mutex::default()
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get(crate_dir) {
        return path.clone();
    }
    let options = BuildOptions {
        release: true,
        target_dir: Some(guest_target_dir()),
        quiet: true,
    };
    let path = build_crate(&workspace_root().join(crate_dir), &options)
        .unwrap_or_else(|err| panic!("building {crate_dir} failed: {err}"));
    built.insert(crate_dir.to_owned(), path.clone());
    path
}

/// Starts the guest crate at `crate_dir` on a permissive host, granting it `kind` on
/// `patterns` (it may use what it declared and these allow).
pub async fn start_granted(
    crate_dir: &str,
    kind: CapabilityKind,
    patterns: &[impl AsRef<str>],
) -> ComponentHandle {
    let mut grants = Capabilities::default();
    for pattern in patterns {
        grants.add(kind, pattern.as_ref()).unwrap();
    }
    let host = Host::builder().mode(Mode::Permissive).build().unwrap();
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

/// A small HTTP/1.1 server on a loopback address, for network tests. Routes:
/// `/hello` (200 "hello"), `/echo` (200 with "METHOD BODY"), `/to-hello` (302 to `/hello`),
/// `/redirect?to=URL` (302 to URL), `/big` (200 with 100 000 bytes), `/slow` (200 after 3 s).
/// Every request is counted. Its threads end with the test process.
pub struct LoopbackServer {
    /// `127.0.0.x:port`.
    pub addr: std::net::SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl LoopbackServer {
    /// Starts one on `ip` (e.g. `127.0.0.1`, `127.0.0.2`) and an ephemeral port.
    pub fn start(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = serve(stream);
                });
            }
        });
        Self { addr, hits }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let (status, location, payload) = match target.as_str() {
        "/hello" => ("200 OK", None, b"hello".to_vec()),
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
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
        payload.len()
    )?;
    if let Some(location) = location {
        write!(out, "location: {location}\r\n")?;
    }
    out.write_all(b"\r\n")?;
    out.write_all(&payload)
}
