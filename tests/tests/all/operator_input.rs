//! What the operator hands the host (`airssys.toml`, `HostBuilder`, `Limits`, `LoadOptions`)
//! and what a component's bytes hold never panic the host: every value is accepted or
//! refused with an error naming the setting and its range. Property tests run short so they
//! stay in CI.

use std::time::Duration;

use airssys_host::{
    AppManifest, Error, Host, HostBuilder, Limits, LoadOptions, Pending, Restart, Supervision,
};
use airssys_tests::guest;
use proptest::prelude::*;
use proptest::sample::select;

const MINIMAL: &str = "tests/fixtures/minimal";

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The message of a `Config` error.
fn config_error<T>(result: airssys_host::Result<T>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(_) => panic!("expected a configuration error, got success"),
    }
}

#[tokio::test]
async fn values_that_used_to_panic_are_refused_with_their_range() {
    // Each of these passed validation and then panicked: an instant overflow, an addition
    // overflow (debug builds), tokio's semaphore limit.
    let msg = config_error(Host::builder().max_wasm_stack(usize::MAX).build());
    assert!(
        msg.contains("max_wasm_stack") && msg.contains("65536..=67108864"),
        "{msg}"
    );
    let msg = config_error(Host::builder().mailbox_capacity(usize::MAX).build());
    assert!(
        msg.contains("mailbox_capacity") && msg.contains("1..=1048576"),
        "{msg}"
    );
    let msg = config_error(Host::builder().epoch_tick(Duration::MAX).build());
    assert!(
        msg.contains("epoch_tick") && msg.contains("100µs..=1s"),
        "{msg}"
    );
    let msg = config_error(Host::builder().max_component_size(usize::MAX).build());
    assert!(msg.contains("max_component_size"), "{msg}");
    let msg = config_error(Host::builder().send_timeout(Duration::MAX).build());
    assert!(
        msg.contains("send_timeout") && msg.contains("one day"),
        "{msg}"
    );
    let limits = |limits: Limits| Host::builder().limits(limits).build();
    let msg = config_error(limits(Limits::new().call_timeout(Duration::MAX)));
    assert!(
        msg.contains("call_timeout") && msg.contains("one day"),
        "{msg}"
    );
    let msg = config_error(limits(Limits::new().max_payload(usize::MAX)));
    assert!(
        msg.contains("max_payload") && msg.contains("4 GiB - 1"),
        "{msg}"
    );

    // Per load too, before anything is instantiated.
    let host = Host::new().unwrap();
    let huge = LoadOptions::new().limits(Limits::new().call_timeout(Duration::from_secs(u64::MAX)));
    let msg = config_error(host.load_with(guest(MINIMAL), huge).await);
    assert!(msg.contains("call_timeout"), "{msg}");
    // The largest accepted values work.
    let most = Limits::new()
        .call_timeout(airssys_host::MAX_CALL_TIMEOUT)
        .max_payload(airssys_host::MAX_PAYLOAD)
        .memory(u64::MAX)
        .table_elements(usize::MAX)
        .instances(usize::MAX);
    let handle = Host::builder()
        .mailbox_capacity(1 << 20)
        .send_timeout(airssys_host::MAX_CALL_TIMEOUT)
        .supervision(Supervision::Restart(
            Restart::new()
                .max_restarts(u32::MAX)
                .window(Duration::MAX)
                .backoff(Duration::MAX, Duration::MAX),
        ))
        .build()
        .unwrap()
        .load_with(guest(MINIMAL), LoadOptions::new().limits(most))
        .await
        .unwrap();
    handle.health().await.unwrap();
    handle.shutdown().await.unwrap();
}

/// Mostly values a setting accepts, its boundaries included (where panics hid), and now
/// and then anything at all.
fn mostly<T: std::fmt::Debug + Clone + 'static>(
    usual: impl Strategy<Value = T> + 'static,
    anything: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![19 => usual, 1 => anything].boxed()
}

fn duration(usual: std::ops::RangeInclusive<u64>) -> BoxedStrategy<Duration> {
    mostly(
        prop_oneof![
            (usual.clone()).prop_map(Duration::from_millis),
            select(vec![*usual.start(), *usual.end()]).prop_map(Duration::from_millis),
        ],
        prop_oneof![
            Just(Duration::MAX),
            Just(Duration::ZERO),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        ],
    )
}

fn size(usual: std::ops::RangeInclusive<usize>) -> BoxedStrategy<usize> {
    mostly(
        prop_oneof![usual.clone(), select(vec![*usual.start(), *usual.end()]),],
        prop_oneof![Just(0), Just(usize::MAX), any::<usize>()],
    )
}

prop_compose! {
    fn limits()(
        memory in mostly(prop_oneof![(1u64 << 20)..(256 << 20), Just(u64::MAX)], any::<u64>()),
        table_elements in size(1_000..=usize::MAX),
        instances in size(16..=usize::MAX),
        call_timeout in duration(1_000..=86_400_000),
        fuel in proptest::option::weighted(0.1, any::<u64>()),
        max_payload in size(1..=u32::MAX as usize),
    ) -> Limits {
        let limits = Limits::new()
            .memory(memory)
            .table_elements(table_elements)
            .instances(instances)
            .call_timeout(call_timeout)
            .max_payload(max_payload);
        match fuel {
            Some(fuel) => limits.fuel(fuel),
            None => limits,
        }
    }
}

prop_compose! {
    fn supervision()(
        which in 0u8..3,
        max_restarts in any::<u32>(),
        window in duration(0..=u64::MAX),
        initial in duration(0..=u64::MAX),
        max in duration(0..=u64::MAX),
        fail in any::<bool>(),
    ) -> Supervision {
        match which {
            0 => Supervision::Stop,
            1 => Supervision::Escalate,
            _ => Supervision::Restart(
                Restart::new()
                    .max_restarts(max_restarts)
                    .window(window)
                    .backoff(initial, max)
                    .pending(if fail { Pending::Fail } else { Pending::Wait }),
            ),
        }
    }
}

prop_compose! {
    fn host_builder()(
        max_component_size in size(1 << 20..=u32::MAX as usize),
        mailbox_capacity in size(1..=1 << 20),
        send_timeout in mostly(
            prop_oneof![Just(Duration::ZERO), Just(airssys_host::MAX_CALL_TIMEOUT), (1u64..10_000).prop_map(Duration::from_millis)],
            prop_oneof![Just(Duration::MAX), any::<u64>().prop_map(Duration::from_secs)],
        ),
        epoch_tick in mostly(
            prop_oneof![Just(Duration::from_micros(100)), Just(Duration::from_secs(1)), (1u64..100).prop_map(Duration::from_millis)],
            prop_oneof![Just(Duration::MAX), Just(Duration::ZERO), any::<u64>().prop_map(Duration::from_nanos)],
        ),
        max_wasm_stack in size(64 << 10..=64 << 20),
        fuel_metering in any::<bool>(),
        limits in limits(),
        supervision in supervision(),
    ) -> HostBuilder {
        Host::builder()
            .max_component_size(max_component_size)
            .mailbox_capacity(mailbox_capacity)
            .send_timeout(send_timeout)
            .epoch_tick(epoch_tick)
            .max_wasm_stack(max_wasm_stack)
            .fuel_metering(fuel_metering)
            .limits(limits)
            .supervision(supervision)
    }
}

/// Builds a host from `builder` and, if that works, starts the minimal component on it with
/// `options`, makes one call and stops it. Returns whether it started.
fn build_and_start(builder: HostBuilder, options: LoadOptions) -> bool {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Ok(host) = builder.build() else {
            return false;
        };
        let Ok(handle) = host.load_with(guest(MINIMAL), options).await else {
            return false;
        };
        let _ = handle.health().await;
        let _ = handle.shutdown().await;
        true
    })
}

proptest! {
    #![proptest_config(config(24))]

    /// Any host settings, limits and supervision: built and started, or refused.
    #[test]
    fn any_settings_start_or_are_refused(
        builder in host_builder(),
        per_load in proptest::option::of(limits()),
        supervision in proptest::option::of(supervision()),
    ) {
        let mut options = LoadOptions::new();
        if let Some(limits) = per_load {
            options = options.limits(limits);
        }
        if let Some(supervision) = supervision {
            options = options.supervision(supervision);
        }
        build_and_start(builder, options);
    }
}

/// A TOML value for `key`: mostly one it accepts, its boundaries included, and now and then
/// anything (another kind, out of range, not parseable).
fn toml_value(key: &'static str) -> BoxedStrategy<String> {
    let quoted =
        |values: &'static [&'static str]| select(values).prop_map(|v| format!("\"{v}\"")).boxed();
    let bare = |values: &'static [&'static str]| select(values).prop_map(str::to_owned).boxed();
    let usual = match key {
        "epoch_tick" => quoted(&["100us", "500us", "1ms", "10ms", "999ms", "1s"]),
        "call_timeout" => prop_oneof![
            quoted(&["1s", "10s", "86400s", "1440m"]),
            (1u64..3600).prop_map(|n| format!("\"{n}s\"")),
        ]
        .boxed(),
        "window" | "backoff" | "max_backoff" => prop_oneof![
            quoted(&["0us", "100ms", "5s", "1m", "18446744073709551615s"]),
            (any::<u32>(), select(&["us", "ms", "s", "m"][..]))
                .prop_map(|(n, unit)| format!("\"{n}{unit}\"")),
        ]
        .boxed(),
        "max_wasm_stack" => quoted(&["64KiB", "512KiB", "1MiB", "64MiB"]),
        "max_component_size" => {
            prop_oneof![quoted(&["1B", "64MiB", "1GiB"]), bare(&["1", "4294967295"]),].boxed()
        }
        "memory" => prop_oneof![
            quoted(&["64KiB", "64MiB", "1GiB", "17179869184GiB"]),
            bare(&["65536", "18446744073709551615"]),
        ]
        .boxed(),
        "max_payload" => prop_oneof![quoted(&["1B", "16MiB"]), bare(&["1", "4294967295"])].boxed(),
        "mailbox_capacity" => bare(&["1", "64", "1048576"]),
        "instances" | "table_elements" => bare(&["1", "64", "100000", "9223372036854775807"]),
        "max_restarts" => bare(&["0", "5", "4294967295"]),
        "fuel_metering" => bare(&["true", "false"]),
        "mode" => quoted(&["strict", "permissive", "development"]),
        "pending" => quoted(&["wait", "fail"]),
        _ => bare(&["1"]),
    };
    let anything = prop_oneof![
        bare(&[
            "0",
            "-1",
            "18446744073709551615",
            "1e300",
            "\"\"",
            "[]",
            "{}",
            "true"
        ]),
        quoted(&[
            "0us",
            "0B",
            "2 sec",
            "64 MB",
            "lax",
            "18446744073709551615m",
            "99999999999GiB"
        ]),
        any::<i64>().prop_map(|n| n.to_string()),
        (
            any::<u64>(),
            select(&["", "B", "KiB", "MiB", "GiB", "us", "ms", "s", "m", "h"][..])
        )
            .prop_map(|(n, unit)| format!("\"{n}{unit}\"")),
        "\"[a-zA-Z0-9 ./*_-]{0,12}\"",
    ];
    mostly(usual, anything)
}

/// Lines `key = value` for a random subset of `keys`, and rarely a key nobody knows.
fn table(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let line = prop_oneof![
        30 => select(keys).prop_flat_map(|key| toml_value(key).prop_map(move |v| (key, v))),
        1 => toml_value("colour").prop_map(|v| ("colour", v)),
    ];
    proptest::collection::vec(line, 0..keys.len() + 1).prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .filter(|(key, _)| seen.insert(*key))
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    })
}

const HOST_KEYS: &[&str] = &[
    "epoch_tick",
    "max_wasm_stack",
    "max_component_size",
    "mailbox_capacity",
    "fuel_metering",
    "mode",
];
const LIMIT_KEYS: &[&str] = &[
    "memory",
    "table_elements",
    "instances",
    "call_timeout",
    "max_payload",
];
const SUPERVISION_KEYS: &[&str] = &[
    "max_restarts",
    "window",
    "backoff",
    "max_backoff",
    "pending",
];

proptest! {
    #![proptest_config(config(256))]

    /// Any text at all is read or refused.
    #[test]
    fn any_text_is_an_operator_file_or_an_error(text in prop_oneof![
        any::<String>(),
        "(\\[[a-z.]{0,16}\\]\n)?([a-z_]{1,12} = [^\n]{0,16}\n){0,6}",
    ]) {
        let _ = AppManifest::from_toml(&text, std::path::Path::new("/app"));
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// Every key of `airssys.toml` with values near their edges: read, built and started,
    /// or refused.
    #[test]
    fn any_operator_file_starts_or_is_refused(
        host in table(HOST_KEYS),
        limits in table(LIMIT_KEYS),
        component_limits in table(LIMIT_KEYS),
        restart in prop_oneof![4 => table(SUPERVISION_KEYS).prop_map(Some), 1 => Just(None)],
    ) {
        let source = guest(MINIMAL);
        let supervision = match restart {
            Some(keys) => format!("policy = \"restart\"\n{keys}"),
            None => "policy = \"stop\"\n".to_owned(),
        };
        let text = format!(
            "[host]\n{host}[limits]\n{limits}[supervision]\n{supervision}\
             [components.app]\nsource = {source:?}\n[components.app.limits]\n{component_limits}"
        );
        let Ok(app) = AppManifest::from_toml(&text, std::path::Path::new("/")) else {
            return Ok(());
        };
        let (_, component) = app.components().next().unwrap();
        // A manifest that parses may still name settings the host refuses
        // (a [host.http] it cannot build); that is a typed error, not a panic.
        let Ok(builder) = app.host_builder() else {
            return Ok(());
        };
        build_and_start(builder, component.options.clone());
    }
}

/// Bytes of a real component with a few of them changed, cut or repeated.
fn mutated(real: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = real.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 1..8),
        proptest::option::of(0..len),
        proptest::option::of((0..len, 1usize..64)),
    )
        .prop_map(move |(changes, cut, repeat)| {
            let mut bytes = real.clone();
            for (at, byte) in changes {
                bytes[at] = byte;
            }
            if let Some((at, n)) = repeat {
                let end = (at + n).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                bytes.splice(at..at, piece);
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            }
            bytes
        })
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary bytes are inspected or refused, never a panic.
    #[test]
    fn any_bytes_are_inspected_or_refused(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|tail| {
            let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
            bytes.extend(tail);
            bytes
        }),
    ]) {
        let _ = airssys_host::inspect(&bytes);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// A real component, mutated: inspected or refused, never a panic.
    #[test]
    fn mutated_components_are_inspected_or_refused(
        bytes in mutated(std::fs::read(guest(MINIMAL)).unwrap())
    ) {
        let _ = airssys_host::inspect(&bytes);
    }
}
