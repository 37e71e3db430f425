//! The native test host (`airssys::testing`) behaves as the real host does: the same
//! component (`tests/fixtures/conformance`) runs the same steps natively, as a Rust type under
//! `airssys::testing::TestHost`, and as wasm under `airssys_host::testing::TestHost`, and every
//! outcome is compared: replies, domain errors, denials and their messages, traps, stored data.

use std::path::Path;

use airssys::testing::{self as native, CallError};
use airssys_host::storage::Quota;
use airssys_host::testing::TestHost;
use airssys_host::{
    CapabilityKind::{self, *},
    ComponentHandle, Error, ErrorKind, Host, Limits, LoadOptions, Mode, Payload, TrapKind,
};
use airssys_tests::{LoopbackServer, guest};
use conformance::{Conformance, Kv, Mail, Step, price};
use serde_json::{Value, json};

const CONFORMANCE: &str = "tests/fixtures/conformance";

/// What a step came to, in terms both hosts share.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Reply(Value),
    Failed(ErrorKind, String),
    Trapped(String, Option<String>),
    Other(String),
}

fn from_native(result: Result<Payload, CallError>) -> Outcome {
    match result {
        Ok(reply) => Outcome::Reply(reply.decode_json().expect("JSON replies")),
        Err(CallError::Guest { error, .. }) | Err(CallError::Init { error, .. }) => {
            Outcome::Failed(error.kind(), error.message().to_owned())
        }
        Err(CallError::Trap { panic, .. }) => Outcome::Trapped(panic.message, panic.location),
        Err(other) => Outcome::Other(other.to_string()),
    }
}

fn from_host(result: airssys_host::Result<Payload>) -> Outcome {
    match result {
        Ok(reply) => Outcome::Reply(reply.decode_json().expect("JSON replies")),
        Err(Error::Guest { error, .. }) | Err(Error::Init { error, .. }) => {
            Outcome::Failed(error.kind(), error.message().to_owned())
        }
        Err(Error::Trap { trap, .. }) => match trap.kind {
            TrapKind::Panic(panic) => Outcome::Trapped(panic.message, panic.location),
            _ => Outcome::Other(trap.to_string()),
        },
        Err(other) => Outcome::Other(other.to_string()),
    }
}

/// The grants of both runs: a temporary directory, one loopback server, `echo`, `TZ`, storage
/// under `conf.`, two addresses and a topic tree. The component declares more.
fn grants(dir: &Path, server: &LoopbackServer) -> Vec<(CapabilityKind, String)> {
    let dir = dir.display();
    vec![
        (FsRead, format!("{dir}/**")),
        (FsWrite, format!("{dir}/**")),
        (Net, server.addr.to_string()),
        (Process, "/bin/echo *".into()),
        (Env, "TZ".into()),
        (Storage, "conf.>".into()),
        (Message, "pricing".into()),
        (Message, "audit".into()),
        (Message, "nowhere".into()),
        (Publish, "orders.>".into()),
    ]
}

/// Both hosts, set up alike, running the component.
struct Both {
    native: native::TestHost,
    running: native::Running<Conformance>,
    host: TestHost,
    handle: ComponentHandle,
}

impl Both {
    async fn start(dir: &Path, server: &LoopbackServer) -> Self {
        let quota = Quota::new().max_value_size(16);
        let mut native = native::TestHost::new()
            .mode(Mode::Permissive)
            .config("greeting", "Hi")
            .storage_quota(quota)
            .respond(
                "GET",
                &server.url("/hello"),
                airssys::http::Response {
                    status: 200,
                    headers: Vec::new(),
                    body: b"hello".to_vec(),
                },
            )
            .program(
                "/bin/echo",
                ["hi"],
                airssys::process::Output {
                    status: Some(0),
                    stdout: b"hi\n".to_vec(),
                    stderr: Vec::new(),
                    truncated: false,
                },
            )
            .reply_json("pricing", |step: Step| match step {
                Step::Quote { item } => Ok(json!({ "cents": price(&item) })),
                other => Err(airssys::Error::invalid_input(format!("{other:?}"))),
            })
            .peer("audit");
        let mut options = LoadOptions::new()
            .config("greeting", "Hi")
            .limits(Limits::default().storage(quota));
        for (kind, pattern) in grants(dir, server) {
            native = native.grant(kind, &pattern);
            options = options.grant(kind, &pattern).unwrap();
        }
        let running = native.start::<Conformance>().unwrap();

        let host = TestHost::with(Host::builder().mode(Mode::Permissive)).unwrap();
        for address in ["pricing", "audit"] {
            let peer = LoadOptions::new().address(address);
            host.load_with(guest(CONFORMANCE), peer).await.unwrap();
        }
        let handle = host.load_with(guest(CONFORMANCE), options).await.unwrap();
        Self {
            native,
            running,
            host,
            handle,
        }
    }

    /// Runs `step` on both and returns the outcome, failing the test if they differ.
    async fn step(&mut self, step: Step) -> Outcome {
        let payload = Payload::json(&step).unwrap();
        let native = from_native(self.running.request(payload.clone()));
        let real = from_host(self.handle.request(payload).await);
        assert_eq!(
            native, real,
            "{step:?}: native (left) and host (right) differ"
        );
        real
    }
}

fn failed(kind: ErrorKind, message: &str) -> Outcome {
    Outcome::Failed(kind, message.to_owned())
}

fn not_allowed(kind: &str, resource: &str) -> String {
    format!(
        "{kind} `{resource}` is not allowed for conformance@0.2.0: it must be declared in capabilities(...) and granted by the operator"
    )
}

#[tokio::test]
async fn every_stand_in_behaves_as_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let d = root.display().to_string();
    std::fs::write(root.join("in.txt"), "seed").unwrap();
    let server = LoopbackServer::start("127.0.0.1");
    let mut both = Both::start(&root, &server).await;
    both.native
        .write_file(&format!("{d}/in.txt"), "seed")
        .unwrap();

    // Configuration, identity, the clock, domain errors.
    let key = "greeting".to_owned();
    assert_eq!(
        both.step(Step::Config { key }).await,
        Outcome::Reply(json!("Hi"))
    );
    assert_eq!(
        both.step(Step::Identity).await,
        Outcome::Reply(json!("conformance@0.2.0"))
    );
    let start = native::START_TIME.as_nanos();
    assert_eq!(
        both.step(Step::Now).await,
        Outcome::Reply(json!([start, start]))
    );
    let minute = std::time::Duration::from_secs(60);
    both.native.advance(minute);
    both.host.clock().advance(minute);
    let later = start + minute.as_nanos();
    assert_eq!(
        both.step(Step::Now).await,
        Outcome::Reply(json!([later, later]))
    );
    let fail = Step::Fail {
        kind: ErrorKind::NotFound,
        message: "no such thing".into(),
    };
    assert_eq!(
        both.step(fail).await,
        failed(ErrorKind::NotFound, "no such thing")
    );

    // Files.
    let path = |name: &str| format!("{d}/{name}");
    both.step(Step::Write {
        path: path("out.txt"),
        text: "x".into(),
    })
    .await;
    assert_eq!(
        both.step(Step::Read {
            path: path("in.txt")
        })
        .await,
        Outcome::Reply(json!("seed"))
    );
    both.step(Step::Read {
        path: path("missing"),
    })
    .await;
    assert_eq!(
        both.step(Step::Read {
            path: "/etc/hostname".into()
        })
        .await,
        failed(ErrorKind::Denied, &not_allowed("fs_read", "/etc/hostname"))
    );
    both.step(Step::Read {
        path: "relative".into(),
    })
    .await;
    both.step(Step::Read {
        path: format!("{d}/../in.txt"),
    })
    .await;
    both.step(Step::List { path: d.clone() }).await;
    both.step(Step::Kind {
        path: path("in.txt"),
    })
    .await;
    both.step(Step::Remove { path: d.clone() }).await;
    both.step(Step::Rename {
        from: path("out.txt"),
        to: path("moved.txt"),
    })
    .await;
    both.step(Step::Remove {
        path: path("nothing"),
    })
    .await;
    assert_eq!(
        both.step(Step::List { path: d.clone() }).await,
        Outcome::Reply(json!(["in.txt", "moved.txt"]))
    );

    // HTTP: a canned answer natively, a loopback server for the host.
    assert_eq!(
        both.step(Step::Get {
            url: server.url("/hello")
        })
        .await,
        Outcome::Reply(json!([200, "hello"]))
    );
    both.step(Step::Get {
        url: "http://127.0.0.1:1/".into(),
    })
    .await;
    both.step(Step::Get {
        url: "https://example.com/".into(),
    })
    .await;
    both.step(Step::Get {
        url: "http://0x7f000001:1/".into(),
    })
    .await;
    both.step(Step::Get {
        url: "ftp://example.com/".into(),
    })
    .await;

    // Processes: a script natively, the real `echo` for the host.
    let run = |program: &str, args: &[&str], env: &[(&str, &str)]| Step::Run {
        program: program.into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    assert_eq!(
        both.step(run("/bin/echo", &["hi"], &[("TZ", "UTC")])).await,
        Outcome::Reply(json!([0, "hi\n"]))
    );
    assert_eq!(
        both.step(run("/bin/true", &[], &[])).await,
        failed(ErrorKind::Denied, &not_allowed("process", "/bin/true"))
    );
    both.step(run("/bin/echo", &["-n", "hi"], &[])).await;
    both.step(run("/bin/echo", &["hi"], &[("LD_PRELOAD", "/x.so")]))
        .await;
    both.step(run("/bin/echo", &["hi"], &[("LANG", "C")])).await;

    // Storage: the contract's rules under both, within the same quota.
    let kv = |ops: Vec<Kv>| Step::Storage {
        ns: "conf.a".into(),
        ops,
    };
    let key = |k: &str| k.to_owned();
    let outcome = both
        .step(kv(vec![
            Kv::Set {
                key: key("k"),
                value: "v".into(),
            },
            Kv::Get { key: key("k") },
            Kv::Increment {
                key: key("n"),
                delta: 2,
            },
            Kv::Increment {
                key: key("k"),
                delta: 1,
            },
            Kv::Increment {
                key: key("n"),
                delta: i64::MAX,
            },
            Kv::SwapOnRevisionOf {
                key: key("k"),
                value: "v2".into(),
            },
            Kv::SwapOnRevisionOf {
                key: key("k"),
                value: "v3".into(),
            },
            Kv::SwapAbsent {
                key: key("k"),
                value: "v4".into(),
            },
            Kv::Set {
                key: key("big"),
                value: "x".repeat(17),
            },
            Kv::Set {
                key: key(""),
                value: "v".into(),
            },
            Kv::Batch {
                set: vec![(key("p1"), "1".into()), (key("p2"), "2".into())],
                delete: vec![key("n")],
            },
            Kv::Batch {
                set: vec![(key("p3"), "3".into()), (key("p4"), "x".repeat(20))],
                delete: Vec::new(),
            },
            Kv::List {
                prefix: key("p"),
                limit: 1,
            },
            Kv::ListAll {
                prefix: key(""),
                limit: 2,
            },
            Kv::Delete { key: key("p1") },
            Kv::Get { key: key("n") },
        ]))
        .await;
    let Outcome::Reply(Value::Array(results)) = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(results[5], json!({ "ok": 3 }), "the swap wrote revision 3");
    assert_eq!(
        results[6]["error"], "Unavailable",
        "a stale revision conflicts"
    );
    assert_eq!(results[8]["error"], "InvalidInput", "over the value quota");
    assert_eq!(results[13], json!({ "ok": ["k", "p1", "p2"] }));
    for ns in ["other", "conf..x", "conf.*"] {
        both.step(Step::Storage {
            ns: ns.into(),
            ops: Vec::new(),
        })
        .await;
    }
    let stored = both
        .host
        .storage()
        .namespace("conf.a")
        .unwrap()
        .export()
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "k and p2");
    for (key, entry) in stored {
        assert_eq!(
            both.native.stored("conf.a", &key).unwrap().as_deref(),
            Some(entry.value.as_ref()),
            "{}",
            String::from_utf8_lossy(&key)
        );
    }

    // Messaging: a scripted `pricing` natively, a real one under the host.
    let quote = json!({ "step": "quote", "item": "apple" });
    let mail = |ops: Vec<Mail>| Step::Messages { ops };
    let outcome = both
        .step(mail(vec![
            Mail::Request {
                to: "pricing".into(),
                body: quote.clone(),
            },
            Mail::Send {
                to: "audit".into(),
                text: "placed".into(),
            },
            Mail::Publish {
                topic: "orders.placed".into(),
                text: "1".into(),
            },
            Mail::Publish {
                topic: "orders.*".into(),
                text: "1".into(),
            },
            Mail::Publish {
                topic: "secret.x".into(),
                text: "1".into(),
            },
            Mail::Request {
                to: "billing".into(),
                body: quote.clone(),
            },
            Mail::Request {
                to: "Bad Name".into(),
                body: quote.clone(),
            },
        ]))
        .await;
    let Outcome::Reply(Value::Array(results)) = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(results[0], json!({ "ok": { "cents": price("apple") } }));
    assert_eq!(
        results[5]["message"],
        format!("denied: {}", not_allowed("message", "billing"))
    );
    assert_eq!(both.native.sent_to("audit"), [Payload::text("placed")]);
    // No component at a granted address: the same kind; the message names each host's fix.
    let nowhere = mail(vec![Mail::Send {
        to: "nowhere".into(),
        text: "x".into(),
    }]);
    let payload = Payload::json(&nowhere).unwrap();
    let native = from_native(both.running.request(payload.clone()));
    let real = from_host(both.handle.request(payload).await);
    for outcome in [native, real] {
        let Outcome::Reply(reply) = outcome else {
            panic!()
        };
        assert_eq!(reply[0]["error"], "NotFound", "{reply}");
    }

    // A panic is a trap with the same message and location; the next call runs afresh.
    let trapped = both
        .step(Step::Panic {
            message: "boom".into(),
        })
        .await;
    let Outcome::Trapped(message, Some(location)) = trapped else {
        panic!("{trapped:?}");
    };
    assert_eq!(message, "boom");
    assert!(
        location.starts_with("tests/fixtures/conformance/src/lib.rs:"),
        "{location}"
    );
    assert_eq!(
        both.step(Step::Identity).await,
        Outcome::Reply(json!("conformance@0.2.0"))
    );
}

#[tokio::test]
async fn starting_fails_alike() {
    // `init` refusing.
    let native = native::TestHost::new()
        .mode(Mode::Permissive)
        .config("refuse", "no thanks")
        .start::<Conformance>();
    let host = TestHost::with(Host::builder().mode(Mode::Permissive)).unwrap();
    let options = LoadOptions::new().config("refuse", "no thanks");
    let real = host.load_with(guest(CONFORMANCE), options).await;
    let Err(Error::Init { error, .. }) = real else {
        panic!("{:?}", real.err());
    };
    assert_eq!(native.unwrap_err().guest_error(), Some(&error));
    assert_eq!(error.message(), "no thanks");

    // Strict mode, with some of what it declares granted.
    let native = native::TestHost::new()
        .grant(Storage, "conf.>")
        .start::<Conformance>();
    let options = LoadOptions::new().grant(Storage, "conf.>").unwrap();
    let strict = TestHost::new().unwrap();
    let real = strict.load_with(guest(CONFORMANCE), options).await;
    let Err(Error::NotGranted { missing, .. }) = real else {
        panic!("{:?}", real.err());
    };
    let Err(CallError::NotGranted {
        missing: native_missing,
        ..
    }) = native
    else {
        panic!("{native:?}");
    };
    assert_eq!(native_missing, missing);
    assert!(missing.contains(&(FsRead, "/**".to_owned())), "{missing:?}");
}
