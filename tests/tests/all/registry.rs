//! The host as a registry of named components: addresses, lookup, listing, lifecycle states
//! and their events, stopping by address, and addresses freed when a component stops.

use std::time::Duration;

use airssys_host::{
    Error, Event, EventKind, Host, LoadOptions, Restart, State, Supervision, TrapKind,
};
use airssys_tests::guest;
use serde_json::{Value, json};
use tokio::sync::broadcast;

const HOSTILE: &str = "tests/fixtures/hostile";

/// Every event received so far, as (address, kind, state).
fn drain(events: &mut broadcast::Receiver<Event>) -> Vec<(String, EventKind, State)> {
    std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| (e.component.address, e.kind, e.state))
        .collect()
}

#[tokio::test]
async fn components_run_at_addresses_that_default_to_their_name() {
    let host = Host::new().unwrap();
    let greeter = host.load(guest("examples/hello")).await.unwrap();
    assert_eq!(greeter.address(), "greeter");
    let tally = host
        .load_with(
            guest("examples/counter"),
            LoadOptions::new().address("tally").config("start", "5"),
        )
        .await
        .unwrap();
    assert_eq!(tally.address(), "tally");
    assert_eq!(tally.identity().to_string(), "tally (counter@0.1.0)");
    assert_eq!(greeter.identity().to_string(), "greeter@0.1.0");

    // A handle looked up by address reaches the same component.
    let found = host.component("greeter").expect("registered at its name");
    let reply: Value = found.request_json(&json!({ "name": "Ada" })).await.unwrap();
    assert_eq!(reply["count"], 1);
    let reply: Value = greeter
        .request_json(&json!({ "name": "Ada" }))
        .await
        .unwrap();
    assert_eq!(reply["count"], 2);
    assert!(host.component("counter").is_none(), "not its manifest name");
    assert!(host.component("nowhere").is_none());

    let listed = host.components();
    let addresses: Vec<&str> = listed.iter().map(|c| c.identity.address.as_str()).collect();
    assert_eq!(addresses, ["greeter", "tally"], "address order");
    let info = &listed[0];
    assert_eq!(
        (info.identity.name.as_str(), info.identity.version.as_str()),
        ("greeter", "0.1.0")
    );
    assert_eq!(info.identity.hash.len(), 64);
    assert!(info.identity.hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(info.identity.hash, listed[1].identity.hash);
    assert_eq!(info.state, State::Running);
    assert!(info.uptime > Duration::ZERO);
    assert_eq!(info.stats.requests, 2);
    assert!(info.memory.current > 0 && info.memory.peak >= info.memory.current);
    assert_eq!(info.instances, 1);
    let own = greeter.info();
    assert_eq!(
        (&own.identity, own.state, own.stats),
        (&info.identity, info.state, info.stats)
    );
    // The hash is of the bytes: the same file prepared again has it.
    let prepared = host.prepare(guest("examples/hello")).await.unwrap();
    assert_eq!(prepared.hash(), info.identity.hash);
}

#[tokio::test]
async fn a_taken_address_is_refused_until_its_component_stops() {
    let host = Host::new().unwrap();
    let first = host.load(guest("examples/hello")).await.unwrap();
    let err = host.load(guest("examples/hello")).await.unwrap_err();
    let Error::AddressTaken {
        address,
        component,
        state,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (address.as_str(), component.as_str(), *state),
        ("greeter", "greeter@0.1.0", State::Running)
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("address `greeter` is taken by greeter@0.1.0, which is running"),
        "{msg}"
    );
    assert!(
        msg.contains("LoadOptions::address") && msg.contains("Host::stop"),
        "{msg}"
    );
    // The refused start changed nothing.
    assert_eq!(host.components().len(), 1);
    assert!(first.is_running());

    host.stop("greeter").await.unwrap();
    assert_eq!(first.state(), State::Stopped);
    let listed = host.components();
    assert_eq!(listed.len(), 1, "a stopped component stays listed");
    assert_eq!(listed[0].state, State::Stopped);
    assert_eq!(listed[0].uptime, Duration::ZERO);
    assert!(matches!(
        first
            .request_json::<_, Value>(&json!({ "name": "x" }))
            .await,
        Err(Error::Stopped { .. })
    ));
    host.stop("greeter").await.unwrap();

    // Its address is free again: a new start replaces the stopped entry.
    let second = host.load(guest("examples/hello")).await.unwrap();
    let reply: Value = second.request_json(&json!({ "name": "x" })).await.unwrap();
    assert_eq!(reply["count"], 1, "a fresh instance");
    assert_eq!(host.components().len(), 1);
    assert_eq!(host.components()[0].state, State::Running);
    assert!(
        matches!(first.health().await, Err(Error::Stopped { .. })),
        "old handles stay with the stopped component"
    );

    host.remove("greeter").await.unwrap();
    assert!(host.components().is_empty());
    assert_eq!(second.state(), State::Stopped);
    let err = host.stop("greeter").await.unwrap_err();
    assert!(
        matches!(&err, Error::UnknownAddress { address } if address == "greeter"),
        "{err:?}"
    );
    assert!(err.to_string().contains("Host::components"), "{err}");
}

#[tokio::test]
async fn addresses_must_be_kebab_case() {
    let err = Host::new()
        .unwrap()
        .load_with(
            guest("examples/hello"),
            LoadOptions::new().address("Billing_EU"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidAddress { address, .. } if address == "Billing_EU"),
        "{err:?}"
    );
    assert!(err.to_string().contains("kebab-case"), "{err}");
}

#[tokio::test]
async fn states_and_events_follow_start_trap_restart_and_stop() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    let policy = Restart::new().backoff(Duration::from_millis(10), Duration::from_millis(10));
    let options = LoadOptions::new()
        .address("worker")
        .supervision(Supervision::Restart(policy));
    let worker = host.load_with(guest(HOSTILE), options).await.unwrap();
    assert_eq!(worker.state(), State::Running);
    worker
        .request_json::<_, Value>(&json!({ "op": "panic" }))
        .await
        .unwrap_err();
    worker
        .request_json::<_, Value>(&json!({ "op": "ok" }))
        .await
        .unwrap();
    assert_eq!(worker.state(), State::Running);
    host.stop("worker").await.unwrap();
    assert_eq!(worker.state(), State::Stopped);

    let seen = drain(&mut events);
    assert!(
        seen.iter().all(|(address, ..)| address == "worker"),
        "{seen:?}"
    );
    let steps: Vec<(&str, State)> = seen
        .iter()
        .map(|(_, kind, state)| {
            let name = match kind {
                EventKind::Starting => "starting",
                EventKind::Started => "started",
                EventKind::Trapped(trap) => {
                    assert!(matches!(trap.kind, TrapKind::Panic(_)), "{trap:?}");
                    "trapped"
                }
                EventKind::Restarted { restarts: 1 } => "restarted",
                EventKind::Stopping => "stopping",
                EventKind::Stopped { reason } => {
                    assert_eq!(reason, "it was shut down");
                    "stopped"
                }
                other => panic!("unexpected {other:?}"),
            };
            (name, *state)
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("starting", State::Starting),
            ("started", State::Running),
            ("trapped", State::Restarting),
            ("restarted", State::Running),
            ("stopping", State::Stopping),
            ("stopped", State::Stopped),
        ]
    );
}

#[tokio::test]
async fn a_trap_that_is_not_restarted_leaves_the_component_failed() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    let options = LoadOptions::new().supervision(Supervision::Stop);
    let hostile = host.load_with(guest(HOSTILE), options).await.unwrap();
    hostile
        .request_json::<_, Value>(&json!({ "op": "abort" }))
        .await
        .unwrap_err();
    let seen = drain(&mut events);
    let last = seen.last().unwrap();
    assert!(
        matches!(&last.1, EventKind::Stopped { reason } if reason.contains("unreachable")),
        "{seen:?}"
    );
    assert_eq!(last.2, State::Failed);
    assert_eq!(hostile.state(), State::Failed);
    assert_eq!(host.components()[0].state, State::Failed);
    // A failed component's address is free.
    host.load(guest(HOSTILE)).await.unwrap();
    assert_eq!(host.components()[0].state, State::Running);
}

#[tokio::test]
async fn a_failed_start_is_listed_as_failed() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    let err = host
        .load_with(
            guest("examples/counter"),
            LoadOptions::new().config("start", "ten"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Init { .. }), "{err:?}");
    let listed = host.components();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].identity.address.as_str(), listed[0].state),
        ("counter", State::Failed)
    );
    let seen = drain(&mut events);
    assert!(matches!(seen[0].1, EventKind::Starting), "{seen:?}");
    assert!(
        matches!(&seen[1].1, EventKind::Stopped { reason } if reason.contains("failed to start")),
        "{seen:?}"
    );
    assert_eq!(seen[1].2, State::Failed);
    let handle = host.component("counter").unwrap();
    assert!(matches!(handle.health().await, Err(Error::Stopped { .. })));
}

#[tokio::test]
async fn a_component_lives_until_the_host_and_every_handle_are_dropped() {
    let host = Host::new().unwrap();
    let mut events = host.events();
    let greeter = host.load(guest("examples/hello")).await.unwrap();
    // Dropping the handle leaves it running in the registry.
    drop(greeter);
    let again = host.component("greeter").unwrap();
    assert!(again.is_running());
    // Dropping the host too (this handle is the last reference) stops it.
    drop(host);
    drop(again);
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await.unwrap() {
                Event {
                    kind: EventKind::Stopped { reason },
                    state,
                    ..
                } => break (reason, state),
                _ => continue,
            }
        }
    })
    .await
    .expect("a stop once nothing holds it");
    assert_eq!(
        stopped,
        (
            "the host and every handle were dropped".to_owned(),
            State::Stopped
        )
    );
}
