//! Running components through the real host: state, configuration, defaults, errors, traps,
//! serialized calls, and the WASI sandbox with nothing granted.

use airssys_host::{
    Capabilities, CapabilityKind, ComponentHandle, Error, ErrorKind, Health, Host, LoadOptions,
    Payload, Supervision, TrapKind,
};
use airssys_tests::{CapturedLogs, guest};
use serde_json::{Value, json};

async fn request(
    handle: &airssys_host::ComponentHandle,
    body: Value,
) -> airssys_host::Result<Value> {
    handle.request_json(&body).await
}

/// The faults fixture declares capabilities, so the (strict) host needs them granted.
fn granted(options: LoadOptions) -> LoadOptions {
    let mut grants = Capabilities::default();
    grants.add(CapabilityKind::FsRead, "/data/**").unwrap();
    grants
        .add(CapabilityKind::Net, "api.example.com:443")
        .unwrap();
    grants.add(CapabilityKind::Publish, "faults.>").unwrap();
    options.grants(grants)
}

/// The faults fixture on a new host, with its capabilities granted.
async fn faults(options: LoadOptions) -> airssys_host::Result<ComponentHandle> {
    Host::new()
        .unwrap()
        .load_with(guest("tests/fixtures/faults"), granted(options))
        .await
}

#[tokio::test]
async fn greeter_keeps_state_between_calls() {
    // The one-line API takes a `&String` path too.
    let path: String = guest("examples/hello").display().to_string();
    let greeter = airssys_host::load(&path).await.unwrap();
    for count in 1..=3 {
        let reply = request(&greeter, json!({ "name": "Ada" })).await.unwrap();
        assert_eq!(reply, json!({ "text": "Hello, Ada!", "count": count }));
    }
    assert_eq!(greeter.name(), "greeter");
    assert_eq!(greeter.manifest().version().to_string(), "0.1.0");
    assert_eq!(greeter.label(), "greeter@0.1.0");
    // The default host keeps it at its name until it is shut down.
    greeter.shutdown().await.unwrap();
}

#[tokio::test]
async fn instances_do_not_share_state() {
    let host = Host::new().unwrap();
    let path = guest("examples/hello");
    let a = host.load(&path).await.unwrap();
    let b = host
        .load_with(&path, LoadOptions::new().address("greeter-b"))
        .await
        .unwrap();
    request(&a, json!({ "name": "x" })).await.unwrap();
    request(&a, json!({ "name": "x" })).await.unwrap();
    assert_eq!(
        request(&b, json!({ "name": "y" })).await.unwrap()["count"],
        1
    );
}

#[tokio::test]
async fn counter_reads_configuration_and_handles_messages_in_order() {
    let host = Host::new().unwrap();
    let options = LoadOptions::new()
        .config("start", "10")
        .config("step", "5")
        .config("max", "14");
    let counter = host
        .load_with(guest("examples/counter"), options)
        .await
        .unwrap();
    assert_eq!(counter.health().await.unwrap(), Health::Healthy);
    // Messages are queued ahead of the request, so it sees both.
    counter.send(Payload::text("tick")).await.unwrap();
    counter.send(Payload::text("tick")).await.unwrap();
    let reply = request(&counter, json!({ "op": "get" })).await.unwrap();
    assert_eq!(reply, json!({ "value": 20, "calls": 1 }));
    assert_eq!(
        counter.health().await.unwrap(),
        Health::Degraded("value 20 is above 14".into())
    );
    let reply = request(&counter, json!({ "op": "reset" })).await.unwrap();
    assert_eq!(reply["value"], 10);
}

#[tokio::test]
async fn bad_configuration_fails_init_with_the_key_named() {
    let err = Host::new()
        .unwrap()
        .load_with(
            guest("examples/counter"),
            LoadOptions::new().config("start", "ten"),
        )
        .await
        .unwrap_err();
    let Error::Init { component, error } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(component, "counter@0.1.0");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(
        error.message().contains("configuration `start` = `ten`"),
        "{error}"
    );
}

#[tokio::test]
async fn unwritten_handlers_get_defaults() {
    let minimal = airssys_host::load(guest("tests/fixtures/minimal"))
        .await
        .unwrap();
    // Name and version default to the package's.
    assert_eq!(minimal.label(), "minimal@0.3.1");
    assert_eq!(minimal.health().await.unwrap(), Health::Healthy);
    let err = minimal.request(Payload::text("hi")).await.unwrap_err();
    assert_eq!(err.guest_error().unwrap().kind(), ErrorKind::Unsupported);
    // A message it cannot handle is accepted and the failure only logged.
    minimal.send(Payload::text("hi")).await.unwrap();
    minimal.shutdown().await.unwrap();
}

#[tokio::test]
async fn domain_errors_are_values_and_keep_the_instance() {
    let faults = faults(LoadOptions::new()).await.unwrap();
    let err = request(
        &faults,
        json!({ "op": "fail", "kind": "not-found", "message": "no user 7" }),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Guest { component, .. } if component == "faults@0.3.1"),
        "{err:?}"
    );
    assert_eq!(err.guest_error().unwrap().kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        "faults@0.3.1 returned an error: not found: no user 7"
    );
    // Invalid JSON is an invalid-input error from the SDK, not a trap.
    let err = faults
        .request(Payload::json(&json!({ "op": "nope" })).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.guest_error().unwrap().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        request(&faults, json!({ "op": "calls" })).await.unwrap()["calls"],
        3
    );
}

/// The faults fixture under `Supervision::Stop`, so a trap ends it.
async fn faults_that_stop() -> ComponentHandle {
    faults(LoadOptions::new().supervision(Supervision::Stop))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_panic_traps_with_its_message_and_the_instance_stops() {
    let faults = faults_that_stop().await;
    let err = request(&faults, json!({ "op": "panic", "message": "disk on fire" }))
        .await
        .unwrap_err();
    let Error::Trap { component, trap } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(component, "faults@0.3.1");
    let TrapKind::Panic(panic) = &trap.kind else {
        panic!("{trap:?}")
    };
    assert_eq!(panic.message, "disk on fire");
    assert!(
        panic.location.as_deref().unwrap().contains("src/lib.rs"),
        "{panic:?}"
    );
    assert!(
        err.to_string().starts_with("faults@0.3.1 panicked at "),
        "{err}"
    );
    assert!(!faults.is_running());

    // The trapped instance is never re-entered: later calls say why it stopped.
    let err = request(&faults, json!({ "op": "calls" }))
        .await
        .unwrap_err();
    let Error::Stopped { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("disk on fire"), "{reason}");
    assert!(matches!(faults.health().await, Err(Error::Stopped { .. })));
    assert!(matches!(
        faults.send(Payload::text("x")).await,
        Err(Error::Stopped { .. })
    ));
    faults.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_panicking_message_stops_the_instance_and_queued_calls_are_answered() {
    let faults = faults_that_stop().await;
    faults.send(Payload::text("panic")).await.unwrap();
    let err = request(&faults, json!({ "op": "calls" }))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Stopped { reason, .. } if reason.contains("message asked for a panic")),
        "{err:?}"
    );
}

#[tokio::test]
async fn init_errors_and_panics_are_reported() {
    let host = Host::new().unwrap();
    let path = guest("tests/fixtures/faults");
    let err = host
        .load_with(&path, granted(LoadOptions::new()).config("init", "fail"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "faults@0.3.1 failed to initialise: invalid input: init was told to fail"
    );
    let err = host
        .load_with(&path, granted(LoadOptions::new()).config("init", "panic"))
        .await
        .unwrap_err();
    let Error::Trap { trap, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&trap.kind, TrapKind::Panic(p) if p.message == "init was told to panic"),
        "{trap:?}"
    );
    // The host is unaffected.
    assert!(
        host.load_with(&path, granted(LoadOptions::new()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn concurrent_calls_to_one_instance_are_serialized() {
    let greeter = Host::new()
        .unwrap()
        .load(guest("examples/hello"))
        .await
        .unwrap();
    let calls = (0..40).map(|i| {
        let greeter = greeter.clone();
        tokio::spawn(async move { request(&greeter, json!({ "name": format!("n{i}") })).await })
    });
    let mut counts = Vec::new();
    for call in calls {
        counts.push(call.await.unwrap().unwrap()["count"].as_u64().unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_instances_run_side_by_side() {
    let host = Host::new().unwrap();
    let prepared = host.prepare(guest("examples/counter")).await.unwrap();
    let mut counters = Vec::new();
    for i in 0..16 {
        let options = LoadOptions::new()
            .address(format!("counter-{i}"))
            .config("start", i.to_string());
        counters.push(prepared.start(options).await.unwrap());
    }
    let calls: Vec<_> = counters
        .iter()
        .cloned()
        .map(|c| tokio::spawn(async move { request(&c, json!({ "op": "increment" })).await }))
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap()["value"], i as i64 + 1);
    }
}

#[tokio::test]
async fn payloads_keep_their_content_type_and_bytes() {
    let faults = faults(LoadOptions::new()).await.unwrap();
    let reply = faults
        .request(Payload::new("image/png", vec![0u8, 159, 146, 150]))
        .await
        .unwrap();
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(
        reply.decode_json::<Value>().unwrap(),
        json!({ "content_type": "image/png", "len": 4 })
    );
}

#[tokio::test]
async fn host_interface_gives_config_identity_and_time() {
    let faults = faults(LoadOptions::new().config("region", "eu"))
        .await
        .unwrap();
    let reply = request(&faults, json!({ "op": "echo" })).await.unwrap();
    assert_eq!(reply["config"], json!(["region=eu"]));
    assert_eq!(reply["identity"], "faults@0.3.1");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reply["now"].as_u64().unwrap().abs_diff(now) < 5, "{reply}");
}

#[tokio::test]
async fn manifest_declares_capabilities() {
    let faults = faults(LoadOptions::new()).await.unwrap();
    let manifest = faults.manifest();
    let caps = manifest.capabilities();
    assert_eq!(caps.get(CapabilityKind::FsRead), ["/data/**"]);
    assert_eq!(caps.get(CapabilityKind::Net), ["api.example.com:443"]);
    assert_eq!(caps.get(CapabilityKind::Publish), ["faults.>"]);
    assert!(caps.get(CapabilityKind::Process).is_empty());
}

#[tokio::test]
async fn wasi_grants_no_environment_files_or_ungranted_connections() {
    // A real listener, so a refusal comes from the sandbox and not from a closed port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let faults = faults(LoadOptions::new()).await.unwrap();
    let reply = request(&faults, json!({ "op": "probe", "port": port }))
        .await
        .unwrap();
    assert_eq!(reply["env"], 0, "{reply}");
    assert_ne!(reply["fs"], "allowed", "{reply}");
    assert_ne!(reply["net"], "allowed", "{reply}");
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "the guest must not have connected"
    );
}

#[tokio::test]
async fn guest_output_and_logs_reach_the_host_log_tagged() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    let faults = faults(LoadOptions::new()).await.unwrap();
    request(
        &faults,
        json!({ "op": "print", "text": "hello from the guest" }),
    )
    .await
    .unwrap();
    let text = logs.text();
    let line = |needle: &str| {
        // Each word of the needle, in a line that may carry a call's span between the
        // level and the target (`WARN call{address=…}: airssys::guest: …`).
        text.lines()
            .find(|l| needle.split(' ').all(|word| l.contains(word)))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
            .to_owned()
    };
    let stdout = line("stream=\"stdout\"");
    assert!(
        stdout.contains("hello from the guest") && stdout.contains("component=faults@0.3.1"),
        "{stdout}"
    );
    let stderr = line("stream=\"stderr\"");
    assert!(stderr.contains("err: hello from the guest"), "{stderr}");
    let log = line("WARN airssys::guest");
    assert!(
        log.contains("airssys::guest") && log.contains("source=\"faults\""),
        "{log}"
    );
}

#[tokio::test]
async fn shutdown_is_final_and_idempotent() {
    let counter = airssys_host::load(guest("examples/counter")).await.unwrap();
    counter.shutdown().await.unwrap();
    counter.shutdown().await.unwrap();
    let err = request(&counter, json!({ "op": "get" })).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "counter@0.1.0 is not running (it was shut down); load it again to get a fresh instance"
    );
}
