//! What a component or an operator hands the contract is untrusted: manifests, capability
//! maps, patterns, resources and host names. For arbitrary input nothing panics, what is
//! accepted reads back the same, and every notation of an address reads as that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use airssys_contract::{Capabilities, CapabilityKind, Manifest, matches_process, parse_address};
use proptest::prelude::*;
use proptest::sample::select;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings built from the characters the grammars care about, arbitrary text, and patterns
/// that are valid for some kind or nearly so.
fn pattern_like() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[a-zA-Z0-9_./:*>\\[\\] -]{0,24}",
        1 => any::<String>(),
        3 => select(&SAMPLE_PATTERNS[..]).prop_map(str::to_owned),
    ]
}

/// Valid and almost valid patterns of every kind.
const SAMPLE_PATTERNS: [&str; 28] = [
    "/data/**",
    "/data/*/logs",
    "/",
    "/data/",
    "api.example.com:443",
    "*.example.com:*",
    "*:*",
    "127.0.0.1:80",
    "0x7f000001:80",
    "[::1]:80",
    "[::1:80",
    "app.>",
    "orders.*",
    "a.>.b",
    "git",
    "git log -n * **",
    "/usr/bin/convert * *",
    "git ** x",
    "LANG",
    "TZ",
    "LD_PRELOAD",
    "billing",
    "order-service",
    "Billing",
    "bill*",
    "",
    "*",
    "**",
];

fn kind() -> impl Strategy<Value = CapabilityKind> {
    select(&CapabilityKind::ALL[..])
}

/// A JSON string literal, escaped by serde_json.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// Mostly patterns valid for `kind`, sometimes anything.
fn pattern_for(kind: CapabilityKind) -> impl Strategy<Value = String> {
    let valid: Vec<&str> = SAMPLE_PATTERNS
        .into_iter()
        .filter(|p| kind.validate(p).is_ok())
        .collect();
    prop_oneof![
        4 => select(valid).prop_map(str::to_owned),
        1 => pattern_like(),
    ]
}

/// The text of a capability map, with keys that may repeat or be unknown.
fn capabilities_json() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        6 => kind().prop_flat_map(|kind| {
            (Just(kind.key().to_owned()), prop::collection::vec(pattern_for(kind), 0..3))
        }),
        1 => (Just("files".to_owned()), prop::collection::vec(pattern_like(), 0..2)),
    ];
    prop::collection::vec(entry, 0..4).prop_map(|entries| {
        let entries: Vec<String> = entries
            .iter()
            .map(|(key, patterns)| {
                let patterns: Vec<String> = patterns.iter().map(|p| json_string(p)).collect();
                format!("{}:[{}]", json_string(key), patterns.join(","))
            })
            .collect();
        format!("{{{}}}", entries.join(","))
    })
}

/// The text of a manifest: each field usually present and well-formed, but sometimes
/// missing, malformed or repeated, sometimes with an unknown field, in any order.
fn manifest_json() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => Just("greeter"),
        1 => select(&["a-b", "A", "", "x--y"][..]),
    ]
    .prop_map(|v| format!(r#""name":{}"#, json_string(v)));
    let version = prop_oneof![
        4 => Just("1.0.0"),
        1 => select(&["0.1.0-rc.1+build", "1.0", "x"][..]),
    ]
    .prop_map(|v| format!(r#""version":{}"#, json_string(v)));
    let fields = (
        name,
        version,
        capabilities_json().prop_map(|c| format!(r#""capabilities":{c}"#)),
        // Which fields to add: capabilities mostly, else a repeat, an unknown or a bad one.
        prop::collection::vec(
            prop_oneof![4 => Just(4usize), 1 => 0usize..4, 1 => Just(5usize), 1 => Just(6usize)],
            0..3,
        ),
    );
    fields
        .prop_map(|(name, version, capabilities, picks)| {
            let pool = [
                name,
                version,
                r#""sdk_version":"0.1.0""#.to_owned(),
                r#""contract_version":"1.0.0""#.to_owned(),
                capabilities,
                r#""extra":1"#.to_owned(),
                r#""name":7"#.to_owned(),
            ];
            let mut chosen = pool[..4].to_vec();
            chosen.extend(picks.iter().map(|&pick| pool[pick].clone()));
            chosen
        })
        .prop_shuffle()
        .prop_map(|fields| format!("{{{}}}", fields.join(",")))
}

/// `n` written in `radix` with the prefix that selects it.
fn in_radix(n: u32, radix: u32) -> String {
    match radix {
        8 => format!("0{n:o}"),
        16 => format!("0x{n:x}"),
        _ => n.to_string(),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn manifests_from_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(manifest) = Manifest::from_bytes(&bytes) {
            prop_assert_eq!(Manifest::from_bytes(&manifest.to_bytes()).unwrap(), manifest);
        }
    }

    #[test]
    fn manifests_read_back_as_accepted(json in manifest_json()) {
        if let Ok(manifest) = Manifest::from_bytes(json.as_bytes()) {
            let again = Manifest::from_bytes(&manifest.to_bytes());
            prop_assert_eq!(again.unwrap(), manifest, "{}", json);
        }
    }

    #[test]
    fn capabilities_read_back_as_accepted(json in capabilities_json()) {
        if let Ok(caps) = serde_json::from_str::<Capabilities>(&json) {
            let text = serde_json::to_string(&caps).unwrap();
            prop_assert_eq!(serde_json::from_str::<Capabilities>(&text).unwrap(), caps.clone());
            for (kind, pattern) in caps.iter() {
                prop_assert!(kind.validate(pattern).is_ok(), "{} {}", kind, pattern);
            }
        }
    }

    #[test]
    fn patterns_and_resources_never_panic(
        kind in kind(),
        a in pattern_like(),
        b in pattern_like(),
        args in prop::collection::vec(pattern_like(), 0..4),
    ) {
        let valid = kind.validate(&a).is_ok();
        if kind.matches(&a, &b) || kind.covers(&a, &b) {
            prop_assert!(valid, "{} `{}` is invalid but matched or covered", kind, a);
        }
        if valid {
            prop_assert!(kind.covers(&a, &a), "{} `{}` does not cover itself", kind, a);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = matches_process(&a, &b, &args);
        let _ = parse_address(&a);
        let mut caps = Capabilities::default();
        if caps.add(kind, &a).is_ok() {
            let _ = caps.allows(kind, &b);
            let _ = caps.allows_process(&b, &args);
            let _ = caps.uncovered_by(&caps.intersect(&caps));
        }
    }

    #[test]
    fn every_ipv4_notation_reads_as_the_address(
        bits in any::<u32>(),
        radixes in prop::collection::vec(select(&[8u32, 10, 16][..]), 4),
        parts in 1usize..=4,
        trailing_dot in any::<bool>(),
    ) {
        let bytes = bits.to_be_bytes();
        // The leading parts are single bytes; the last holds what remains.
        let mut numbers: Vec<u32> = bytes[..parts - 1].iter().map(|&b| u32::from(b)).collect();
        let rest = bytes[parts - 1..].iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
        numbers.push(rest);
        let mut host: Vec<String> = numbers
            .iter()
            .zip(&radixes)
            .map(|(&n, &radix)| in_radix(n, radix))
            .collect::<Vec<_>>();
        if trailing_dot {
            host.push(String::new());
        }
        let host = host.join(".");
        prop_assert_eq!(parse_address(&host), Some(IpAddr::V4(Ipv4Addr::from_bits(bits))), "{}", host);
        let resource = format!("{host}:80");
        prop_assert!(!CapabilityKind::Net.matches("*:80", &resource), "{}", resource);
    }

    #[test]
    fn canonical_addresses_read_back(v4 in any::<u32>(), v6 in any::<u128>()) {
        let v4 = Ipv4Addr::from_bits(v4);
        let v6 = Ipv6Addr::from_bits(v6);
        prop_assert_eq!(parse_address(&v4.to_string()), Some(IpAddr::V4(v4)));
        prop_assert_eq!(parse_address(&format!("[{v6}]")), Some(IpAddr::V6(v6)));
        let (v4, v6) = (format!("{v4}:80"), format!("[{v6}]:80"));
        prop_assert!(CapabilityKind::Net.validate(&v4).is_ok(), "{}", v4);
        prop_assert!(CapabilityKind::Net.validate(&v6).is_ok(), "{}", v6);
    }
}
