//! The native test host (`airssys::testing`): lifecycle through the exported glue, traps,
//! capability decisions and their wording, and each stand-in's behaviour. Whether each
//! behaves as the real host does is checked against the host in `tests/tests/all/testing.rs`.

use std::time::Duration;

use airssys::http;
use airssys::msg::{self, MsgError};
use airssys::prelude::*;
use airssys::process::{Command, Output};
use airssys::storage::{self, Expect, StorageError};
use airssys::testing::CapabilityKind::{
    Env, FsRead, FsWrite, Message as Messages, Net, Process, Publish, Storage, Subscribe,
};
use airssys::testing::{CallError, Mode, Outgoing, Quota, START_TIME, TestHost};
use serde::{Deserialize, Serialize};

/// Keeps a count, reads configuration, logs, traps on request.
struct Counter {
    count: u64,
    step: u64,
}

#[airssys::component(name = "counter", version = "1.2.0")]
impl Component for Counter {
    fn init(config: &Config) -> Result<Self> {
        let step = config.parse("step")?.unwrap_or(1);
        if step == 0 {
            return Err(Error::invalid_input("step must not be 0"));
        }
        Ok(Counter { count: 0, step })
    }

    fn on_message(&mut self, message: Message) -> Result<()> {
        airssys::info!("message on {:?}", message.topic());
        self.count += self.step;
        Ok(())
    }

    fn on_request(&mut self, req: Request) -> Result<Payload> {
        match req.payload().as_text()? {
            "panic" => panic!("asked to panic at {}", self.count),
            "fail" => Err(Error::not_found("nothing to fail")),
            "when" => Ok(Payload::json(&(
                req.timestamp(),
                airssys::now(),
                req.correlation_id(),
            ))?),
            _ => {
                self.count += self.step;
                airssys::log::log(
                    airssys::log::Level::Warn,
                    "counted",
                    &[("count", &self.count.to_string())],
                );
                Ok(Payload::text(self.count.to_string()))
            }
        }
    }

    fn health(&self) -> Health {
        if self.count > 10 {
            Health::Degraded("past ten".into())
        } else {
            Health::Healthy
        }
    }

    fn shutdown(&mut self) {
        airssys::info!("stopping at {}", self.count);
    }
}

fn text(payload: Payload) -> String {
    payload.as_text().unwrap().to_owned()
}

#[test]
fn the_lifecycle_runs_through_the_exported_glue() {
    let host = TestHost::new().config("step", "5");
    let mut counter = host.start::<Counter>().unwrap();
    assert_eq!(counter.label(), "counter@1.2.0");
    assert_eq!(text(counter.request(Payload::text("go")).unwrap()), "5");
    counter.send(Payload::text("tick")).unwrap();
    assert_eq!(text(counter.request(Payload::text("go")).unwrap()), "15");
    assert_eq!(
        counter.health().unwrap(),
        Health::Degraded("past ten".into())
    );
    counter.shutdown().unwrap();
    let logs: Vec<String> = host.logs().iter().map(ToString::to_string).collect();
    assert_eq!(
        logs,
        [
            "WARN counted count=\"5\"",
            "INFO message on None",
            "WARN counted count=\"15\"",
            "INFO stopping at 15",
        ]
    );
    // Shut down, the type can start again on this thread, from scratch.
    let mut again = host.start::<Counter>().unwrap();
    assert_eq!(text(again.request(Payload::text("go")).unwrap()), "5");
}

#[test]
fn init_errors_and_domain_errors_stay_domain_errors() {
    let err = TestHost::new()
        .config("step", "0")
        .start::<Counter>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "counter@1.2.0 failed to initialise: invalid input: step must not be 0"
    );
    let err = TestHost::new()
        .config("step", "x")
        .start::<Counter>()
        .unwrap_err();
    assert_eq!(err.guest_error().unwrap().kind(), ErrorKind::InvalidInput);

    let mut counter = TestHost::new().start::<Counter>().unwrap();
    let err = counter.request(Payload::text("fail")).unwrap_err();
    assert_eq!(
        err,
        CallError::Guest {
            component: "counter@1.2.0".into(),
            error: Error::not_found("nothing to fail"),
        }
    );
    // The state survives a domain error.
    assert_eq!(text(counter.request(Payload::text("go")).unwrap()), "1");
}

#[test]
fn a_panic_is_a_trap_and_the_next_call_starts_afresh() {
    let mut counter = TestHost::new().start::<Counter>().unwrap();
    counter.request(Payload::text("go")).unwrap();
    let err = counter.request(Payload::text("panic")).unwrap_err();
    let CallError::Trap { component, panic } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(component, "counter@1.2.0");
    assert_eq!(panic.message, "asked to panic at 1");
    let location = panic.location.as_deref().unwrap();
    assert!(location.starts_with("sdk/tests/testing.rs:"), "{location}");
    assert!(
        err.to_string()
            .starts_with("counter@1.2.0 panicked at sdk/tests/testing.rs:"),
        "{err}"
    );
    assert_eq!(counter.restarts(), 0);
    // Fresh state, from `init`, as the host's default supervision gives.
    assert_eq!(text(counter.request(Payload::text("go")).unwrap()), "1");
    assert_eq!(counter.restarts(), 1);
}

#[test]
fn a_type_runs_once_per_thread() {
    let host = TestHost::new();
    let _first = host.start::<Counter>().unwrap();
    let err = host.start::<Counter>().unwrap_err();
    assert!(matches!(err, CallError::AlreadyRunning { .. }), "{err}");
}

/// Uses whatever its test grants.
#[derive(Default)]
struct Files;

#[derive(Serialize, Deserialize)]
enum Op {
    Read(String),
    Write(String, String),
    Append(String, String),
    List(String),
    Remove(String),
    Rename(String, String),
    Kind(String),
}

#[airssys::component(
    name = "files",
    version = "0.1.0",
    capabilities(fs_read("/data/**", "/etc/**"), fs_write("/data/**"))
)]
impl Component for Files {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        use airssys::fs;
        let out = match req.json()? {
            Op::Read(path) => fs::read_to_string(&path)?,
            Op::Write(path, text) => fs::write(&path, text).map(|()| String::new())?,
            Op::Append(path, text) => fs::append(&path, text).map(|()| String::new())?,
            Op::List(path) => fs::list_dir(&path)?.join(","),
            Op::Remove(path) => fs::remove(&path).map(|()| String::new())?,
            Op::Rename(from, to) => fs::rename(&from, &to).map(|()| String::new())?,
            Op::Kind(path) => format!("{:?}", fs::metadata(&path)?.kind),
        };
        Ok(Payload::text(out))
    }
}

#[test]
fn files_live_in_a_temporary_directory_behind_the_grants() {
    let host = TestHost::new()
        .mode(Mode::Permissive)
        .grant(FsRead, "/data/**")
        .grant(FsWrite, "/data/**");
    host.write_file("/data/in.txt", "hello").unwrap();
    let mut files = host.start::<Files>().unwrap();
    let mut call = |op: Op| -> Result<String, Error> {
        let payload = Payload::json(&op).unwrap();
        match files.request(payload) {
            Ok(reply) => Ok(text(reply)),
            Err(err) => Err(err.guest_error().cloned().expect("a domain error")),
        }
    };
    assert_eq!(call(Op::Read("/data/in.txt".into())).unwrap(), "hello");
    call(Op::Write("/data/out.txt".into(), "a".into())).unwrap();
    call(Op::Append("/data/out.txt".into(), "b".into())).unwrap();
    assert_eq!(host.read_file("/data/out.txt").unwrap(), b"ab");
    assert_eq!(call(Op::List("/data".into())).unwrap(), "in.txt,out.txt");
    assert_eq!(call(Op::Kind("/data/in.txt".into())).unwrap(), "File");
    call(Op::Rename("/data/out.txt".into(), "/data/moved.txt".into())).unwrap();
    call(Op::Remove("/data/in.txt".into())).unwrap();
    assert_eq!(call(Op::List("/data/./x/..".into())).unwrap(), "moved.txt");

    let missing = call(Op::Read("/data/nope".into())).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(
        missing.message(),
        "`/data/nope`: No such file or directory (os error 2)"
    );
    // Declared, not granted: denied with the host's words. The host's real /etc is never read.
    let denied = call(Op::Read("/etc/passwd".into())).unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Denied);
    assert_eq!(
        denied.message(),
        "fs_read `/etc/passwd` is not allowed for files@0.1.0: it must be declared in capabilities(...) and granted by the operator"
    );
    let escape = call(Op::Read("/data/../etc/passwd".into())).unwrap_err();
    assert!(
        escape.message().starts_with("fs_read `/etc/passwd`"),
        "{escape}"
    );
    let root = call(Op::Remove("/data".into())).unwrap_err();
    assert_eq!(
        root.message(),
        "`/data` is the root of a grant and cannot be removed"
    );
    let relative = call(Op::Read("data/x".into())).unwrap_err();
    assert_eq!(relative.kind(), ErrorKind::InvalidInput);
    assert!(host.path("/data/moved.txt").unwrap().exists());
}

#[test]
fn strict_mode_refuses_to_start_what_is_not_granted() {
    let err = TestHost::new()
        .grant(FsRead, "/data/**")
        .start::<Files>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "files@0.1.0 was not started: it declares capabilities that are not granted: fs_read `/etc/**`, fs_write `/data/**`; grant them with TestHost::grant, or use Mode::Permissive or Mode::Development"
    );
    let err = TestHost::new()
        .grant(FsRead, "data")
        .start::<Files>()
        .unwrap_err();
    assert!(matches!(err, CallError::InvalidGrant(_)), "{err}");
    assert!(
        TestHost::new()
            .mode(Mode::Development)
            .start::<Files>()
            .is_ok()
    );
}

/// Talks to the outside: HTTP, programs, other components.
#[derive(Default)]
struct Outside;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Quote {
    item: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Price {
    cents: u64,
}

#[airssys::component(
    name = "outside",
    version = "0.1.0",
    capabilities(
        net("api.example.com:443", "127.0.0.1:8080"),
        process("git log -n *", "git log"),
        env("TZ"),
        message("pricing", "audit"),
        publish("orders.*"),
        subscribe("stock.*"),
    )
)]
impl Component for Outside {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let what: String = req.json()?;
        let reply = match what.as_str() {
            "http" => {
                let res = http::Request::get("https://api.example.com/rates")
                    .header("authorization", "Bearer t")
                    .send()?;
                format!("{} {}", res.status, res.text()?)
            }
            "http-numeric" => http::Request::get("http://0x7f000001:8080/")
                .send()?
                .status
                .to_string(),
            "http-unknown" => http::Request::post("https://api.example.com/other")
                .send()?
                .status
                .to_string(),
            "http-denied" => http::Request::get("https://evil.example.com/")
                .send()?
                .status
                .to_string(),
            "git" => Command::new("git")
                .args(["log", "-n", "1"])
                .env("TZ", "UTC")
                .run()?
                .stdout_text()?
                .to_owned(),
            "git-loader" => Command::new("git")
                .args(["log"])
                .env("LD_PRELOAD", "/x.so")
                .run()?
                .stdout_text()?
                .to_owned(),
            "rm" => Command::new("rm").arg("-rf").run().map(|_| String::new())?,
            "price" => {
                let price: Price = msg::request_json(
                    "pricing",
                    &Quote {
                        item: "apple".into(),
                    },
                )?;
                msg::send_json("audit", &price.cents)?;
                let published = msg::publish_json("orders.placed", &price)?;
                format!("{} {}", price.cents, published.delivered)
            }
            "billing" => msg::request("billing", Payload::text("x")).map(text)?,
            "nobody" => msg::request("audit", Payload::text("x")).map(text)?,
            "bad-topic" => {
                msg::publish("orders.*", Payload::text("x")).map(|p| p.delivered.to_string())?
            }
            other => return Err(Error::invalid_input(format!("unknown op {other}"))),
        };
        Ok(Payload::text(reply))
    }

    fn on_message(&mut self, message: Message) -> Result<()> {
        let topic = message.topic().unwrap_or("-").to_owned();
        airssys::info!("{topic} {}", text(message.into_payload()));
        Ok(())
    }
}

fn outside() -> TestHost {
    TestHost::new()
        .grant(Net, "api.example.com:443")
        .grant(Net, "127.0.0.1:8080")
        .grant(Process, "git log -n *")
        .grant(Process, "git log")
        .grant(Env, "TZ")
        .grant(Messages, "pricing")
        .grant(Messages, "audit")
        .grant(Publish, "orders.*")
        .grant(Subscribe, "stock.*")
}

fn call(component: &mut airssys::testing::Running<Outside>, what: &str) -> Result<String, Error> {
    match component.request(Payload::json(&what).unwrap()) {
        Ok(reply) => Ok(text(reply)),
        Err(err) => Err(err
            .guest_error()
            .cloned()
            .unwrap_or_else(|| panic!("{err}"))),
    }
}

fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> http::Response {
    http::Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn http_answers_from_canned_responses_behind_the_grants() {
    let host = outside()
        .respond(
            "GET",
            "https://api.example.com/rates",
            response(302, "", &[("location", "/v2/rates")]),
        )
        .respond(
            "GET",
            "https://api.example.com/v2/rates",
            response(200, "1.1", &[]),
        )
        .respond("GET", "http://0x7f000001:8080", response(204, "", &[]));
    let mut c = host.start::<Outside>().unwrap();
    assert_eq!(call(&mut c, "http").unwrap(), "200 1.1");
    let sent = host.http_requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].url, "https://api.example.com/v2/rates");
    assert_eq!(
        sent[1].headers,
        [("authorization".into(), "Bearer t".into())]
    );
    assert_eq!(call(&mut c, "http-numeric").unwrap(), "204");

    let unknown = call(&mut c, "http-unknown").unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::Unavailable);
    assert!(
        unknown
            .message()
            .contains("no response for POST https://api.example.com/other"),
        "{unknown}"
    );
    let denied = call(&mut c, "http-denied").unwrap_err();
    assert_eq!(
        denied.message(),
        "net `evil.example.com:443` is not allowed for outside@0.1.0: it must be declared in capabilities(...) and granted by the operator"
    );
    assert_eq!(host.http_requests().len(), 4, "the denied one is not sent");
}

#[test]
fn processes_answer_from_scripts_behind_the_grants() {
    let host = outside().program(
        "git",
        ["log", "-n", "1"],
        Output {
            status: Some(0),
            stdout: b"abc123 first".to_vec(),
            stderr: Vec::new(),
            truncated: false,
        },
    );
    let mut c = host.start::<Outside>().unwrap();
    assert_eq!(call(&mut c, "git").unwrap(), "abc123 first");
    assert_eq!(host.commands()[0].env, [("TZ".into(), "UTC".into())]);
    let loader = call(&mut c, "git-loader").unwrap_err();
    assert!(
        loader.message().starts_with(
            "env `LD_PRELOAD` is not allowed for outside@0.1.0: it must be declared in capabilities(...) and granted by the operator; `LD_PRELOAD` would make the dynamic loader"
        ),
        "{loader}"
    );
    let rm = call(&mut c, "rm").unwrap_err();
    assert!(
        rm.message().starts_with("process `rm -rf` is not allowed"),
        "{rm}"
    );
    assert_eq!(host.commands().len(), 1);
}

#[test]
fn messages_reach_scripted_components_and_are_recorded() {
    let host = outside()
        .reply_json("pricing", |quote: Quote| {
            assert_eq!(quote.item, "apple");
            Ok(Price { cents: 42 })
        })
        .peer("audit")
        .subscriber("ledger", "orders.>")
        .subscriber("ledger", "orders.placed")
        .subscriber("mailer", "orders.*")
        .subscriber("stock", "stock.*");
    let mut c = host.start::<Outside>().unwrap();
    assert_eq!(call(&mut c, "price").unwrap(), "42 2");
    assert_eq!(
        host.sent_to("audit"),
        [Payload::json(&42).unwrap()],
        "sends are recorded"
    );
    assert_eq!(
        host.published_on("orders.placed"),
        [Payload::json(&Price { cents: 42 }).unwrap()]
    );
    assert!(matches!(host.outgoing()[0], Outgoing::Request { .. }));

    let denied = call(&mut c, "billing").unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Denied);
    assert_eq!(
        denied.message(),
        "message `billing` is not allowed for outside@0.1.0: it must be declared in capabilities(...) and granted by the operator"
    );
    let unsupported = call(&mut c, "nobody").unwrap_err();
    assert_eq!(
        unsupported,
        Error::unsupported("this component does not handle requests")
    );
    let invalid = call(&mut c, "bad-topic").unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::InvalidInput);

    // A publish reaches the component only on a topic it subscribes to.
    assert!(c.publish("stock.apples", Payload::text("3")).unwrap());
    assert!(!c.publish("orders.placed", Payload::text("3")).unwrap());
    assert_eq!(host.logs().last().unwrap().message, "stock.apples 3");
    let err = c.publish("stock.*", Payload::text("3")).unwrap_err();
    assert!(matches!(err, CallError::InvalidTopic(_)), "{err}");
}

#[test]
fn requests_to_missing_components_and_scripted_failures() {
    let host = outside().reply("pricing", |_| {
        Err(MsgError::Timeout("no reply in 5s".into()))
    });
    let mut c = host.start::<Outside>().unwrap();
    let err = call(&mut c, "price").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    drop(c);
    // `audit` was never scripted, so the send after the reply finds nobody.
    let host = outside().reply_json("pricing", |_: Quote| Ok(Price { cents: 1 }));
    let mut c = host.start::<Outside>().unwrap();
    let err = call(&mut c, "price").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.message()
            .contains("no component runs at address `audit`"),
        "{err}"
    );
}

/// Storage, time and identity.
#[derive(Default)]
struct Keeper;

#[airssys::component(name = "keeper", version = "0.3.0", capabilities(storage("app.>")))]
impl Component for Keeper {
    fn on_request(&mut self, req: Request) -> Result<Payload> {
        let what: String = req.json()?;
        let ns = storage::open("app.data")?;
        let out = match what.as_str() {
            "count" => ns.increment("n", 1)?.to_string(),
            "cas" => {
                let rev = ns.set("k", "v1")?;
                ns.compare_and_swap("k", Expect::Revision(rev), Some(b"v2"))?;
                match ns.compare_and_swap("k", Expect::Revision(rev), Some(b"v3")) {
                    Err(StorageError::Conflict {
                        current: Some(entry),
                    }) => String::from_utf8(entry.value).unwrap(),
                    other => panic!("{other:?}"),
                }
            }
            "big" => ns.set("big", vec![0u8; 64]).map(|_| String::new())?,
            "page" => {
                ns.batch()
                    .set("p1", "")
                    .set("p2", "")
                    .set("p3", "")
                    .commit()?;
                let first = ns.list("p", None, 2)?;
                let second = ns.list("p", first.cursor.as_deref(), 2)?;
                format!(
                    "{} {} {:?}",
                    first.keys.len(),
                    second.keys.len(),
                    second.cursor
                )
            }
            "other" => storage::open("other").map(|_| String::new())?,
            "many" => {
                storage::open("app.a")?;
                storage::open("app.b").map(|_| String::new())?
            }
            "who" => {
                let id = airssys::identity();
                format!("{}@{}", id.name, id.version)
            }
            other => return Err(Error::invalid_input(format!("unknown op {other}"))),
        };
        Ok(Payload::text(out))
    }
}

fn keep(component: &mut airssys::testing::Running<Keeper>, what: &str) -> Result<String, Error> {
    match component.request(Payload::json(&what).unwrap()) {
        Ok(reply) => Ok(text(reply)),
        Err(err) => Err(err
            .guest_error()
            .cloned()
            .unwrap_or_else(|| panic!("{err}"))),
    }
}

#[test]
fn storage_follows_the_hosts_rules() {
    let host = TestHost::new()
        .grant(Storage, "app.>")
        .storage_quota(Quota::new().max_value_size(32))
        .max_namespaces(2);
    host.store("app.data", "n", "41").unwrap();
    let mut k = host.start::<Keeper>().unwrap();
    assert_eq!(keep(&mut k, "count").unwrap(), "42");
    assert_eq!(host.stored("app.data", "n").unwrap(), Some(b"42".to_vec()));
    assert_eq!(keep(&mut k, "cas").unwrap(), "v2");
    assert_eq!(keep(&mut k, "page").unwrap(), "2 1 None");
    let big = keep(&mut k, "big").unwrap_err();
    assert_eq!(big.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        big.message(),
        "quota exceeded: namespace `app.data` would exceed its max_value_size (bytes) quota (64 > 32); store smaller values, or raise `max_value_size` for this namespace"
    );
    let denied = keep(&mut k, "other").unwrap_err();
    assert_eq!(
        denied.message(),
        "denied: storage `other` is not allowed for keeper@0.3.0: it must be declared in capabilities(...) and granted by the operator"
    );
    let many = keep(&mut k, "many").unwrap_err();
    assert!(
        many.message()
            .contains("namespaces (per component) quota (3 > 2)"),
        "{many}"
    );
    assert_eq!(keep(&mut k, "who").unwrap(), "keeper@0.3.0");
    assert_eq!(host.stored_json::<u32>("app.data", "n").unwrap(), Some(42));
}

#[test]
fn the_clock_moves_when_the_test_says() {
    let host = TestHost::new();
    let mut counter = host.start::<Counter>().unwrap();
    let when = |c: &mut airssys::testing::Running<Counter>| {
        let reply = c.request(Payload::text("when")).unwrap();
        reply
            .decode_json::<(std::time::SystemTime, std::time::SystemTime, u64)>()
            .unwrap()
    };
    let (sent, now, id) = when(&mut counter);
    assert_eq!(sent, std::time::UNIX_EPOCH + START_TIME);
    assert_eq!(now, sent);
    host.advance(Duration::from_secs(90));
    let (sent2, now2, id2) = when(&mut counter);
    assert_eq!(now2, now + Duration::from_secs(90));
    assert_eq!(sent2, now2);
    assert!(id2 > id);
    assert_eq!(host.now(), now2);
}

#[test]
fn outside_the_test_host_host_apis_are_unsupported() {
    let err = airssys::fs::read("/etc/passwd").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.message().contains("airssys::testing::TestHost"),
        "{err}"
    );
    assert!(matches!(
        storage::open("app.data"),
        Err(StorageError::Unsupported(_))
    ));
}
