//! examples/shop split over two `airssys up` processes on a real nats-server, as its README
//! tells a new user: host-a runs checkout and ledger, host-b runs pricing. They behave as
//! one host; `airssys status` shows who runs what; after host-b is killed (SIGKILL),
//! checkout's requests fail with a typed error at once while ledger keeps serving.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use airssys_tests::nats::NatsServer;
use serde_json::{Value, json};

use crate::common::*;

/// A host's folder: its `airssys.toml` is the example's, with the guests' paths and the
/// test's NATS server put in.
fn host_dir(example: &str, nats: &NatsServer) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        workspace()
            .join("examples/shop")
            .join(example)
            .join("airssys.toml"),
    )
    .unwrap();
    let mut text = text.replace("nats://127.0.0.1:4222", &nats.url());
    for name in ["checkout", "pricing", "ledger"] {
        let built = guest(&format!("examples/shop/{name}"));
        text = text.replace(
            &format!("../../../target/wasm32-wasip2/release/{name}.wasm"),
            &built.display().to_string(),
        );
    }
    std::fs::write(dir.path().join("airssys.toml"), text).unwrap();
    dir
}

struct Up {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Up {
    /// `airssys up --stdin` in `dir`, once its status table lists `address`.
    fn start(dir: &Path, address: &str) -> Self {
        let mut child = up_stdin(dir);
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.starts_with(address) {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "airssys up in {} ended before listing {address}",
                dir.display()
            );
        }
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends `ADDRESS JSON` and reads its reply line.
    fn ask(&mut self, address: &str, body: Value) -> Value {
        writeln!(self.stdin, "{address} {body}").unwrap();
        next_reply(&mut self.stdout).expect("airssys up ended")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_shop_split_over_two_hosts_behaves_as_one_and_survives_losing_one() {
    let nats = NatsServer::start();
    let dir_a = host_dir("host-a", &nats);
    let dir_b = host_dir("host-b", &nats);
    let mut b = Up::start(dir_b.path(), "pricing");
    let mut a = Up::start(dir_a.path(), "checkout");

    let order = json!({ "item": "apple", "qty": 3 });
    let reply = a.ask("checkout", order.clone());
    assert_eq!(
        reply["reply"],
        json!({ "item": "apple", "qty": 3, "total_cents": 120 }),
        "{reply}"
    );
    // Pricing's own error comes back through checkout unchanged, across the hosts.
    let reply = a.ask("checkout", json!({ "item": "kiwi", "qty": 1 }));
    assert!(
        reply["error"]
            .as_str()
            .unwrap()
            .contains("no price for `kiwi`"),
        "{reply}"
    );
    // Pricing's publish on host-b reaches the ledger on host-a.
    let until = Instant::now() + Duration::from_secs(5);
    let entries = loop {
        let reply = a.ask("ledger", json!({ "op": "list" }));
        if reply["reply"].as_array().is_some_and(|e| !e.is_empty()) || Instant::now() > until {
            break reply["reply"].clone();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        entries,
        json!([{ "topic": "prices.quoted", "from": "pricing",
                 "quote": { "item": "apple", "qty": 3, "cents": 120, "asked_by": "checkout" } }])
    );

    // `airssys status` on host-a shows which host runs what.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let out = airssys(dir_a.path(), &["status"]);
        let text = stdout(&out);
        let row = |host: &str, address: &str| {
            text.lines()
                .any(|l| l.starts_with(host) && l.split_whitespace().nth(1) == Some(address))
        };
        if row("host-a", "checkout") && row("host-a", "ledger") && row("host-b", "pricing") {
            break;
        }
        assert!(Instant::now() < until, "status:\n{text}{}", stderr(&out));
        std::thread::sleep(Duration::from_millis(100));
    }

    // host-b is killed: checkout's requests fail with a typed error, at once, and the
    // ledger on host-a keeps serving.
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let started = Instant::now();
    let reply = a.ask("checkout", order);
    let error = reply["error"].as_str().unwrap_or_else(|| panic!("{reply}"));
    assert!(
        error.contains("no component runs at address `pricing`"),
        "{reply}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let reply = a.ask("ledger", json!({ "op": "list" }));
    assert_eq!(reply["reply"].as_array().map(Vec::len), Some(1), "{reply}");
}
