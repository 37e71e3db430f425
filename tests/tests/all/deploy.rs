//! Hot deployment: versions side by side, blue-green under load, stop-start, canary, rolling
//! over a pool, rollback, state handoff, health checks, signatures, versions and events.
//! `tests/fixtures/tally` and `tally-v2` are two real versions of one component.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use airssys_host::{
    CanaryOptions, Capabilities, CapabilityKind, DeployOptions, DeployStage, Error, EventKind,
    FailureRate, Host, LoadOptions, Payload, SecretKey, SignatureError, SignatureStatus, Source,
    Strategy, VersionState,
};
use airssys_tests::guest;
use serde_json::{Value, json};

const V1: &str = "tests/fixtures/tally";
const V2: &str = "tests/fixtures/tally-v2";

fn options() -> LoadOptions {
    let mut grants = Capabilities::default();
    grants.add(CapabilityKind::Subscribe, "ticks.>").unwrap();
    LoadOptions::new().address("tally").grants(grants)
}

async fn start(host: &Host, options: LoadOptions) -> airssys_host::ComponentHandle {
    host.load_with(guest(V1), options).await.unwrap()
}

async fn count(host: &Host, seq: u64) -> airssys_host::Result<Value> {
    host.request_json(
        "tally",
        &json!({"op": "count", "seq": seq}),
        Duration::from_secs(10),
    )
    .await
}

async fn state(host: &Host) -> Value {
    let reply: Value = host
        .request_json("tally", &json!({"op": "state"}), Duration::from_secs(10))
        .await
        .unwrap();
    reply
}

fn seq(n: u64) -> Payload {
    Payload::json(&json!({ "seq": n })).unwrap()
}

fn blue_green() -> DeployOptions {
    DeployOptions::new(Strategy::BlueGreen)
}

/// The sequence numbers in `list`, checked to be each of `0..sent` exactly once.
fn exactly_once(list: &Value, sent: u64, what: &str) {
    let seen: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(seen.len(), unique.len(), "{what}: some delivered twice");
    assert_eq!(
        unique,
        (0..sent).collect::<BTreeSet<_>>(),
        "{what}: some lost"
    );
}

/// 200 blue-green swaps between two versions while clients keep requesting, sending and
/// publishing: every request is answered once, by a version that served when it was sent,
/// and the state handed from version to version ends up holding every message exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_blue_green_swaps_lose_nothing() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    let (v1, v2) = (guest(V1), guest(V2));
    let stop = Arc::new(AtomicBool::new(false));
    // The versions allowed to answer now: both while a deploy is under way, else the one
    // serving.
    let allowed = Arc::new(std::sync::Mutex::new(BTreeSet::from(["1.0.0".to_owned()])));

    let requester = {
        let (host, stop, allowed) = (host.clone(), stop.clone(), allowed.clone());
        tokio::spawn(async move {
            let (mut answered, mut wrong) = (BTreeSet::new(), 0u64);
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let before = allowed.lock().unwrap().clone();
                let reply = count(&host, sent).await.expect("no request fails");
                let after = allowed.lock().unwrap().clone();
                let version = reply["version"].as_str().unwrap().to_owned();
                if !before.contains(&version) && !after.contains(&version) {
                    wrong += 1;
                }
                assert!(
                    answered.insert(reply["seq"].as_u64().unwrap()),
                    "answered twice"
                );
                sent += 1;
            }
            (sent, answered.len() as u64, wrong)
        })
    };
    let sender = {
        let (host, stop) = (host.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                host.send("tally", seq(sent)).await.expect("no send fails");
                host.publish("ticks.fast", seq(sent))
                    .await
                    .expect("no publish fails");
                sent += 1;
                tokio::task::yield_now().await;
            }
            sent
        })
    };

    for swap in 0..200 {
        let (to, label) = if swap % 2 == 0 {
            (&v2, "2.0.0")
        } else {
            (&v1, "1.0.0")
        };
        allowed.lock().unwrap().insert(label.to_owned());
        let report = host
            .deploy("tally", to, blue_green())
            .await
            .unwrap()
            .outcome()
            .await
            .unwrap();
        assert_eq!(report.to.version, label);
        assert!(report.handed_over);
        *allowed.lock().unwrap() = BTreeSet::from([label.to_owned()]);
    }
    stop.store(true, Ordering::Relaxed);
    let (requests, answered, wrong) = requester.await.unwrap();
    let messages = sender.await.unwrap();
    assert!(
        requests > 200 && messages > 200,
        "{requests} requests, {messages} messages"
    );
    assert_eq!(
        (answered, wrong),
        (requests, 0),
        "every request answered once, rightly"
    );

    let reply = state(&host).await;
    assert_eq!(reply["version"], "1.0.0", "200 swaps end where they began");
    let kept = &reply["state"];
    assert_eq!(
        kept["count"], requests,
        "the count carried across every version"
    );
    exactly_once(&kept["messages"], messages, "sent messages");
    exactly_once(&kept["published"], messages, "published messages");
    // Only two compiled versions were kept, not 200.
    assert_eq!(host.versions("tally").unwrap().len(), 2);
}

#[tokio::test]
async fn a_failed_health_check_or_start_leaves_the_old_version_serving() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    count(&host, 0).await.unwrap();
    let deploy = |load: LoadOptions| host.deploy("tally", guest(V2), blue_green().load(load));

    let err = deploy(options().config("unhealthy", "true"))
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap_err();
    let Error::Deploy {
        stage,
        cause,
        serving,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*stage, DeployStage::CheckingHealth);
    assert!(matches!(**cause, Error::Unhealthy { .. }), "{cause}");
    assert_eq!(serving, "tally@1.0.0");
    assert!(
        err.to_string()
            .contains("reported itself unhealthy: told to be")
            && err.to_string().contains("`tally` still serves tally@1.0.0"),
        "{err}"
    );

    let err = deploy(options().config("fail_init", "true"))
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Deploy {
                stage: DeployStage::Starting,
                ..
            }
        ),
        "{err}"
    );

    let reply = count(&host, 1).await.unwrap();
    assert_eq!(
        (reply["version"].as_str(), reply["count"].as_u64()),
        (Some("1.0.0"), Some(2))
    );
    let versions = host.versions("tally").unwrap();
    let states: Vec<_> = versions.iter().map(|v| v.state).collect();
    assert_eq!(
        states,
        [
            VersionState::Serving,
            VersionState::Failed,
            VersionState::Failed
        ]
    );
    assert_eq!(
        host.usage().instances,
        1,
        "the failed versions' instances are gone"
    );
}

#[tokio::test]
async fn state_is_handed_over_and_a_failed_restore_aborts() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    for n in 0..3 {
        count(&host, n).await.unwrap();
        host.send("tally", seq(n)).await.unwrap();
    }
    let err = host
        .deploy(
            "tally",
            guest(V2),
            blue_green().load(options().config("refuse_restore", "true")),
        )
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Deploy {
                stage: DeployStage::HandingOver,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("told to refuse the state handed over"),
        "{err}"
    );
    // Still v1, with its state, and it serves.
    assert_eq!(count(&host, 3).await.unwrap()["count"], 4);

    let report = host
        .deploy("tally", guest(V2), blue_green())
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap();
    assert!(report.handed_over);
    let reply = state(&host).await;
    assert_eq!(reply["version"], "2.0.0");
    assert_eq!(reply["state"]["count"], 4);
    assert_eq!(reply["state"]["messages"], json!([0, 1, 2]));

    // Without handoff the new version starts fresh.
    host.deploy("tally", guest(V1), blue_green().handoff(false))
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap();
    assert_eq!(state(&host).await["state"]["count"], 0);
}

#[tokio::test]
async fn a_rollback_returns_to_the_kept_version_without_compiling() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    count(&host, 0).await.unwrap();
    let err = host.rollback("tally").await.unwrap_err();
    assert!(matches!(err, Error::NothingToRollBack { .. }), "{err}");

    host.deploy("tally", guest(V2), blue_green())
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap();
    count(&host, 1).await.unwrap();
    let deployment = host.rollback("tally").await.unwrap();
    let report = deployment.outcome().await.unwrap();
    // Version 1 itself came back, with the code it was compiled to at first.
    assert_eq!((report.to.version.as_str(), report.version), ("1.0.0", 1));
    let reply = count(&host, 2).await.unwrap();
    assert_eq!(reply["version"], "1.0.0");
    assert_eq!(reply["count"], 3, "the state came back too");

    let versions = host.versions("tally").unwrap();
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v.id, v.identity.version.as_str(), v.state))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "1.0.0", VersionState::Serving),
            (2, "2.0.0", VersionState::Standby)
        ]
    );
    assert!(
        versions
            .iter()
            .all(|v| v.signature == SignatureStatus::Unsigned)
    );
    assert!(
        versions[0].source.ends_with("tally.wasm"),
        "{}",
        versions[0].source
    );

    let err = host.retire("tally", 1).unwrap_err();
    assert!(matches!(err, Error::VersionInUse { .. }), "{err}");
    host.retire("tally", 2).unwrap();
    let err = host.rollback("tally").await.unwrap_err();
    assert!(matches!(err, Error::NothingToRollBack { .. }), "{err}");
}

#[tokio::test]
async fn stop_start_moves_queued_calls_to_the_new_version() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    // Compiled ahead, so the deploy reaches v1 while it is still busy.
    host.prepare(guest(V2)).await.unwrap();
    // v1 is busy; messages queue behind the busy call.
    let busy = tokio::spawn({
        let host = host.clone();
        async move {
            host.request_json::<_, Value>(
                "tally",
                &json!({"op": "busy", "ms": 1000}),
                Duration::from_secs(10),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    for n in 0..5 {
        host.send("tally", seq(n)).await.unwrap();
    }
    let report = host
        .deploy(
            "tally",
            guest(V2),
            DeployOptions::new(Strategy::StopStart).handoff(false),
        )
        .await
        .unwrap()
        .outcome()
        .await
        .unwrap();
    assert_eq!(report.strategy, "stop-start");
    assert_eq!(
        busy.await.unwrap().unwrap()["version"],
        "1.0.0",
        "the call under way finished"
    );
    let reply = state(&host).await;
    assert_eq!(reply["version"], "2.0.0");
    // v2 started fresh, so it served them all: they moved, and v1 served none.
    assert_eq!(reply["state"]["messages"], json!([0, 1, 2, 3, 4]));
}

#[tokio::test]
async fn a_canary_takes_its_share_until_promoted() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    let deployment = host
        .deploy(
            "tally",
            guest(V2),
            DeployOptions::new(Strategy::Canary(CanaryOptions::new(0.25))),
        )
        .await
        .unwrap();
    let mut progress = deployment.progress();
    progress
        .wait_for(|p| p.stage == DeployStage::Canary)
        .await
        .unwrap();
    let mut to_v2 = 0;
    for n in 0..400 {
        if count(&host, n).await.unwrap()["version"] == "2.0.0" {
            to_v2 += 1;
        }
    }
    assert_eq!(to_v2, 100, "a canary's split is exact");
    assert!(host.components()[0].deploying);
    let err = host
        .deploy("tally", guest(V1), blue_green())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeployInProgress { .. }), "{err}");
    host.promote("tally").unwrap();
    let report = deployment.outcome().await.unwrap();
    assert_eq!(report.to.version, "2.0.0");
    assert_eq!(count(&host, 400).await.unwrap()["version"], "2.0.0");
    let err = host.promote("tally").unwrap_err();
    assert!(matches!(err, Error::NoDeploy { .. }), "{err}");
}

#[tokio::test]
async fn a_failing_canary_is_aborted_on_its_own() {
    let host = Host::new().unwrap();
    start(&host, options()).await;
    let mut events = host.events();
    let canary = CanaryOptions::new(0.5)
        .abort_when(FailureRate::new(0.2, Duration::from_secs(5)).min_calls(10));
    let deployment = host
        .deploy(
            "tally",
            guest(V2),
            DeployOptions::new(Strategy::Canary(canary)).load(options().config("fail_every", "2")),
        )
        .await
        .unwrap();
    deployment
        .progress()
        .wait_for(|p| p.stage == DeployStage::Canary)
        .await
        .unwrap();
    let failed = AtomicU64::new(0);
    let outcome = tokio::spawn(deployment.outcome());
    for n in 0.. {
        if count(&host, n).await.is_err() {
            failed.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.is_finished() || n > 2_000 {
            break;
        }
    }
    let err = outcome.await.unwrap().unwrap_err();
    let Error::Deploy { stage, cause, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*stage, DeployStage::Canary);
    assert!(matches!(**cause, Error::CanaryFailed { .. }), "{cause}");
    assert!(failed.load(Ordering::Relaxed) >= 5);
    for n in 0..20 {
        assert_eq!(count(&host, n).await.unwrap()["version"], "1.0.0");
    }
    let failed_event = std::iter::from_fn(|| events.try_recv().ok()).any(|e| {
        matches!(
            e.kind,
            EventKind::Version {
                state: VersionState::Failed,
                ..
            }
        ) && e.component.version == "2.0.0"
    });
    assert!(failed_event);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deploy_replaces_a_pool_a_few_at_a_time() {
    let host = Host::new().unwrap();
    start(&host, options().instances(4)).await;
    for n in 0..8 {
        count(&host, n).await.unwrap();
    }
    let mut events = host.events();
    let deployment = host
        .deploy(
            "tally",
            guest(V2),
            DeployOptions::new(Strategy::Rolling { batch: 1 }),
        )
        .await
        .unwrap();
    let load = tokio::spawn({
        let host = host.clone();
        async move {
            let mut n = 8;
            while host.components()[0].deploying {
                count(&host, n)
                    .await
                    .expect("requests go on while the pool rolls");
                n += 1;
            }
            n
        }
    });
    let report = deployment.outcome().await.unwrap();
    let n = load.await.unwrap();
    assert_eq!(report.strategy, "rolling");
    assert!(report.handed_over);
    // One new instance started, then one old one stopped, four times over.
    let steps: Vec<String> = std::iter::from_fn(|| events.try_recv().ok())
        .filter_map(|e| match e.kind {
            EventKind::Started => Some(format!("+{}", e.component.version)),
            EventKind::Stopped { .. } => Some(format!("-{}", e.component.version)),
            _ => None,
        })
        .collect();
    assert_eq!(steps, ["+2.0.0", "-1.0.0"].repeat(4), "{steps:?}");
    let info = &host.components()[0];
    assert_eq!(
        (info.instances, info.identity.version.as_str()),
        (4, "2.0.0")
    );
    // Each instance's state was handed to its replacement: the counts add up.
    let mut total = 0;
    for _ in 0..4 {
        let reply = state(&host).await;
        assert_eq!(reply["version"], "2.0.0");
        total += reply["state"]["count"].as_u64().unwrap();
    }
    assert_eq!(total, n, "no count lost across the pool");
}

#[tokio::test]
async fn signatures_are_checked_before_compiling() {
    let ops = SecretKey::generate("ops").unwrap();
    let stranger = SecretKey::generate("ops").unwrap();
    let host = Host::builder()
        .trust_key(ops.public_key())
        .require_signatures(true)
        .build()
        .unwrap();
    let bytes = std::fs::read(guest(V1)).unwrap();

    let refused = |result: airssys_host::Result<_>| match result {
        Err(Error::Signature { problem, .. }) => problem,
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("loaded"),
    };
    let unsigned = refused(
        host.prepare(Source::bytes("tally.wasm", bytes.clone()))
            .await,
    );
    assert_eq!(unsigned, SignatureError::Unsigned);

    let wrong = refused(
        host.prepare(Source::bytes("tally.wasm", stranger.sign(&bytes).unwrap()))
            .await,
    );
    assert!(matches!(wrong, SignatureError::Untrusted { .. }), "{wrong}");
    assert!(
        wrong.to_string().contains("none of these keys is trusted"),
        "{wrong}"
    );

    let mut tampered = ops.sign(&bytes).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    let err = host
        .prepare(Source::bytes("tally.wasm", tampered))
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("was changed after it was signed"),
        "{err}"
    );

    let prepared = host
        .prepare(Source::bytes("tally.wasm", ops.sign(&bytes).unwrap()))
        .await
        .unwrap();
    let SignatureStatus::Trusted { signers } = prepared.signature() else {
        panic!("{:?}", prepared.signature())
    };
    assert_eq!(
        (signers[0].name.as_str(), signers[0].trusted),
        ("ops", true)
    );
}

/// The file the on-disk cache under `root` keeps the component hashing to `hash` in.
fn cached_file(root: &std::path::Path, hash: &str) -> std::path::PathBuf {
    let engine_dir = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("one folder per engine configuration");
    engine_dir.join(format!("{hash}.cwasm"))
}

#[tokio::test]
async fn a_restart_loads_from_the_disk_cache_and_a_corrupt_file_is_compiled_again() {
    use std::os::unix::fs::MetadataExt;
    let root = tempfile::tempdir().unwrap();
    let host = || Host::builder().cache_dir(root.path()).build().unwrap();
    let wasm = guest(V1);
    let prepared = host().prepare(&wasm).await.unwrap();
    let file = cached_file(root.path(), prepared.hash());
    let written = std::fs::metadata(&file).unwrap().ino();

    // A second host (a restart) loads it: the file is read, not written again.
    host().prepare(&wasm).await.unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), written);

    // A corrupt file is refused and replaced by a fresh compile.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let again = host();
    let handle = again
        .load_with(&wasm, options())
        .await
        .expect("compiled again, not loaded");
    assert_eq!(count(&again, 0).await.unwrap()["count"], 1);
    assert_ne!(std::fs::read(&file).unwrap(), bytes, "rewritten");
    handle.shutdown().await.unwrap();
    // Cut short: the same.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
    host().prepare(&wasm).await.unwrap();
    assert_eq!(std::fs::read(&file).unwrap().len(), bytes.len());
}
