//! Properties of pattern matching and coverage, over small alphabets so that patterns and
//! resources collide often.
//!
//! `covers` is checked against a brute force: every resource up to four segments drawn from
//! the patterns' literals plus `zz`, a segment no pattern names (so it stands for "anything
//! else" under `*` and `**`). Process arguments add options, literal (`-a`, `-`) and fresh
//! (`-zz`), which `*` and `**` never take.

use airssys_contract::CapabilityKind::{
    self, FsRead, FsWrite, Message, Net, Process, Publish, Storage, Subscribe,
};
use airssys_contract::{MAX_TOPIC_LEN, matches_process, parse_address, validate_topic};
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::select;

/// Literal segments and tokens in patterns.
const WORDS: [&str; 4] = ["a", "b", "data", "database"];
/// Segments and tokens in resources: the literals and one fresh word.
const RESOURCE_WORDS: [&str; 5] = ["a", "b", "data", "database", "zz"];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every sequence of `alphabet` words of length `min..=max`.
fn sequences(alphabet: &[&str], min: usize, max: usize) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    let mut layer: Vec<Vec<String>> = vec![Vec::new()];
    for len in 0..=max {
        if len >= min {
            all.extend(layer.iter().cloned());
        }
        layer = layer
            .iter()
            .flat_map(|seq| {
                alphabet.iter().map(move |w| {
                    let mut next = seq.clone();
                    next.push((*w).to_owned());
                    next
                })
            })
            .collect();
    }
    all
}

fn path(segments: &[String]) -> String {
    format!("/{}", segments.join("/"))
}

fn all_paths() -> Vec<String> {
    sequences(&RESOURCE_WORDS, 0, 4)
        .iter()
        .map(|s| path(s))
        .collect()
}

fn all_tokens() -> Vec<String> {
    sequences(&RESOURCE_WORDS, 1, 4)
        .iter()
        .map(|s| s.join("."))
        .collect()
}

/// `covers` by definition, over a finite set of resources.
fn brute_covers(kind: CapabilityKind, granted: &str, declared: &str, resources: &[String]) -> bool {
    resources
        .iter()
        .all(|r| !kind.matches(declared, r) || kind.matches(granted, r))
}

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(&WORDS[..]).prop_map(str::to_owned),
        1 => Just("*".to_owned()),
        1 => Just("**".to_owned()),
    ]
}

fn path_pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(path_segment(), 0..=3).prop_map(|s| path(&s))
}

/// A path matched by `pattern`: literals kept, `*` one word, `**` zero to two words.
fn path_instance(pattern: String) -> impl Strategy<Value = (String, String)> {
    let words = || select(&RESOURCE_WORDS[..]).prop_map(str::to_owned);
    prop::collection::vec((words(), prop::collection::vec(words(), 0..=2)), 4).prop_map(
        move |fills| {
            let mut segments = Vec::new();
            let elems = pattern[1..].split('/').filter(|s| !s.is_empty());
            for (elem, (one, many)) in elems.zip(fills) {
                match elem {
                    "*" => segments.push(one),
                    "**" => segments.extend(many),
                    lit => segments.push(lit.to_owned()),
                }
            }
            (pattern.clone(), path(&segments))
        },
    )
}

fn token_pattern() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => select(&WORDS[..]).prop_map(str::to_owned),
        1 => Just("*".to_owned()),
    ];
    (prop::collection::vec(token, 1..=3), any::<bool>()).prop_map(|(mut tokens, rest)| {
        if rest {
            *tokens.last_mut().expect("at least one token") = ">".to_owned();
        }
        tokens.join(".")
    })
}

/// Literal arguments in process patterns: plain words and options (`-a`, a lone `-`).
const ARG_WORDS: [&str; 4] = ["a", "b", "-a", "-"];

/// Every call of up to four arguments drawn from [`ARG_WORDS`] plus a fresh word and a fresh
/// option, so that `*` and `**` meet both kinds of argument no pattern names.
static PROCESS_CALLS: LazyLock<Vec<(&str, Vec<String>)>> = LazyLock::new(|| {
    let mut words = ARG_WORDS.to_vec();
    words.extend(["zz", "-zz"]);
    ["git", "/usr/bin/git", "gitx"]
        .into_iter()
        .flat_map(|program| {
            sequences(&words, 0, 4)
                .into_iter()
                .map(move |args| (program, args))
        })
        .collect()
});

fn process_pattern() -> impl Strategy<Value = String> {
    let command = select(&["git", "/usr/bin/git"][..]);
    let arg = prop_oneof![
        3 => select(&ARG_WORDS[..]).prop_map(str::to_owned),
        1 => Just("*".to_owned()),
    ];
    (command, prop::collection::vec(arg, 0..=3), any::<bool>()).prop_map(
        |(command, mut args, rest)| {
            if rest {
                args.push("**".to_owned());
            }
            let mut words = vec![command.to_owned()];
            words.extend(args);
            words.join(" ")
        },
    )
}

const HOSTS: [&str; 12] = [
    "*",
    "*.x.com",
    "*.a.x.com",
    "x.com",
    "a.x.com",
    "x.a.x.com",
    "localhost",
    "*.a.localhost",
    "127.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "10.0.0.1",
];

fn net_pattern() -> impl Strategy<Value = String> {
    (select(&HOSTS[..]), select(&["*", "80", "443"][..])).prop_map(|(h, p)| format!("{h}:{p}"))
}

fn all_net() -> Vec<String> {
    let mut hosts: Vec<String> = sequences(&["a", "x", "com", "zz", "localhost"], 1, 4)
        .iter()
        .map(|labels| labels.join("."))
        .collect();
    hosts.extend(
        [
            "127.0.0.1",
            "127.1",
            "0x7f000001",
            "[::1]",
            "[0:0::1]",
            "[::ffff:127.0.0.1]",
            "10.0.0.1",
            "012.1",
            "A.X.COM",
        ]
        .map(str::to_owned),
    );
    hosts
        .iter()
        .flat_map(|h| ["80", "443", "8080"].map(|p| format!("{h}:{p}")))
        .collect()
}

/// Address patterns: names, `*`, and near misses the grammar refuses.
const ADDRESSES: [&str; 7] = ["*", "billing", "billing-eu", "a", "Billing", "bill*", "a_b"];

fn address_pattern() -> impl Strategy<Value = String> {
    select(&ADDRESSES[..]).prop_map(str::to_owned)
}

/// Concrete addresses: every pattern's name plus one no pattern names.
fn all_addresses() -> Vec<String> {
    ["billing", "billing-eu", "a", "zz", "Billing", "a_b", ""]
        .map(str::to_owned)
        .to_vec()
}

/// Breaks a normalized path made of `segments`: `..`, `.` or an empty segment inserted at
/// `at`, a trailing `/`, or no leading `/`.
fn unnormalize(segments: &[String], how: usize, at: usize) -> String {
    let mut segments = segments.to_vec();
    let at = at % (segments.len() + 1);
    match how % 5 {
        0 => segments.insert(at, "..".to_owned()),
        1 => segments.insert(at, ".".to_owned()),
        2 if segments.is_empty() => return "//".to_owned(),
        2 => segments.insert(at, String::new()),
        3 => return format!("{}/", path(&segments)),
        _ => return segments.join("/"),
    }
    path(&segments)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn covers_is_sound_for_paths(
        granted in path_pattern(),
        (declared, resource) in path_pattern().prop_flat_map(path_instance),
    ) {
        prop_assert!(FsRead.matches(&declared, &resource));
        if FsRead.covers(&granted, &declared) {
            prop_assert!(FsRead.matches(&granted, &resource));
        }
    }

    #[test]
    fn covers_is_exact_for_paths(granted in path_pattern(), declared in path_pattern()) {
        let resources = all_paths();
        prop_assert_eq!(
            FsWrite.covers(&granted, &declared),
            brute_covers(FsWrite, &granted, &declared, &resources)
        );
    }

    #[test]
    fn covers_is_exact_for_tokens(granted in token_pattern(), declared in token_pattern()) {
        let resources = all_tokens();
        prop_assert_eq!(
            Storage.covers(&granted, &declared),
            brute_covers(Storage, &granted, &declared, &resources)
        );
    }

    #[test]
    fn covers_is_exact_for_processes(granted in process_pattern(), declared in process_pattern()) {
        let brute = PROCESS_CALLS.iter().all(|(program, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            !matches_process(&declared, program, &args) || matches_process(&granted, program, &args)
        });
        prop_assert_eq!(Process.covers(&granted, &declared), brute);
    }

    #[test]
    fn covers_is_exact_for_hosts(granted in net_pattern(), declared in net_pattern()) {
        let resources = all_net();
        prop_assert_eq!(
            Net.covers(&granted, &declared),
            brute_covers(Net, &granted, &declared, &resources)
        );
    }

    #[test]
    fn covers_is_exact_for_addresses(granted in address_pattern(), declared in address_pattern()) {
        let resources = all_addresses();
        // An invalid pattern covers nothing, so the brute force only speaks for valid ones.
        let valid = Message.validate(&granted).is_ok() && Message.validate(&declared).is_ok();
        prop_assert_eq!(
            Message.covers(&granted, &declared),
            valid && brute_covers(Message, &granted, &declared, &resources)
        );
    }

    /// The topics a component may publish on are exactly the subjects `>` matches: one
    /// grammar for both.
    #[test]
    fn published_topics_are_what_the_widest_pattern_matches(
        topic in prop_oneof![
            3 => prop::collection::vec(select(&RESOURCE_WORDS[..]), 1..=4).prop_map(|t| t.join(".")),
            2 => "[a-zA-Z0-9_.*> -]{0,12}",
            1 => any::<String>(),
        ],
    ) {
        let publishable = validate_topic(&topic).is_ok();
        prop_assert_eq!(publishable, Subscribe.matches(">", &topic), "{:?}", topic);
        if publishable {
            prop_assert!(topic.len() <= MAX_TOPIC_LEN);
            prop_assert!(Publish.validate(&topic).is_ok(), "a topic is also a literal pattern");
            prop_assert!(Publish.matches(&topic, &topic));
        }
    }

    #[test]
    fn unnormalized_paths_match_nothing(
        pattern in path_pattern(),
        segments in prop::collection::vec(select(&RESOURCE_WORDS[..]).prop_map(str::to_owned), 0..=4),
        how in 0usize..5,
        at in 0usize..8,
    ) {
        let resource = unnormalize(&segments, how, at);
        prop_assert!(!FsRead.matches(&pattern, &resource), "{} matched {:?}", pattern, resource);
        prop_assert!(!FsRead.matches("/**", &resource), "/** matched {:?}", resource);
    }

    #[test]
    fn malformed_tokens_match_nothing(
        pattern in token_pattern(),
        tokens in prop::collection::vec(select(&RESOURCE_WORDS[..]).prop_map(str::to_owned), 0..=3),
        bad in select(&["", "*", ">", "a b", "a/b"][..]),
        at in 0usize..4,
    ) {
        let mut tokens = tokens;
        tokens.insert(at % (tokens.len() + 1), bad.to_owned());
        let resource = tokens.join(".");
        prop_assert!(!Publish.matches(&pattern, &resource), "{} matched {:?}", pattern, resource);
    }

    #[test]
    fn every_pattern_covers_itself(
        path in path_pattern(),
        tokens in token_pattern(),
        process in process_pattern(),
        net in net_pattern(),
        address in address_pattern(),
    ) {
        prop_assert_eq!(Message.covers(&address, &address), Message.validate(&address).is_ok());
        prop_assert!(FsRead.covers(&path, &path));
        prop_assert!(Storage.covers(&tokens, &tokens));
        prop_assert!(Process.covers(&process, &process));
        prop_assert!(Net.covers(&net, &net));
    }

    #[test]
    fn suffix_wildcard_stays_below_its_domain(
        head in "[a-zA-Z0-9.-]{0,12}",
        tail in select(&["", "x.com", ".x.com", ".X.COM", "badx.com", ".x.com.", ".x.co"][..]),
        port in 1u16..,
    ) {
        let host = format!("{head}{tail}");
        let resource = format!("{host}:{port}");
        if Net.matches("*.x.com:*", &resource) {
            let host = host.to_ascii_lowercase();
            prop_assert!(host.ends_with(".x.com") && host.len() > ".x.com".len(), "{}", resource);
        }
        if Net.matches("*:*", &resource) {
            prop_assert!(parse_address(&host).is_none(), "{}", resource);
            prop_assert!(!host.eq_ignore_ascii_case("localhost"), "{}", resource);
        }
    }
}
