//! Capability kinds and the grammar of their patterns.
//!
//! The grammar is specified in `docs/security.md`; this module is its single implementation.
//! The macro calls it at compile time, the host when it reads a manifest or a grant. What a
//! pattern matches, and when one pattern covers another, is in `matching.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, de};
use thiserror::Error;

use crate::address::{ends_in_number, parse_address};
use crate::name::{NameError, validate_name};
use crate::topic::{Wildcards, check_tokens};

/// The kinds of capability a component can declare, one per guarded resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityKind {
    /// Read files matching a path pattern (`/data/**`).
    FsRead,
    /// Write, create or remove files matching a path pattern.
    FsWrite,
    /// Open outbound connections to `host:port` patterns (`*.example.com:443`).
    Net,
    /// Use key-value storage namespaces (`app.cache`, `app.>`).
    Storage,
    /// Send messages and requests to components by address (`billing`, or `*` for any).
    Message,
    /// Publish on message topics (`events.>`).
    Publish,
    /// Subscribe to message topics (`orders.*`).
    Subscribe,
    /// Spawn processes (`git`, `/usr/bin/convert *`).
    Process,
    /// Pass environment variables, by name, to the programs it runs (`LANG`, `TZ`).
    Env,
}

impl CapabilityKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 9] = [
        Self::FsRead,
        Self::FsWrite,
        Self::Net,
        Self::Storage,
        Self::Message,
        Self::Publish,
        Self::Subscribe,
        Self::Process,
        Self::Env,
    ];

    /// The key used in `capabilities(...)`, manifests and grant files.
    pub fn key(self) -> &'static str {
        match self {
            Self::FsRead => "fs_read",
            Self::FsWrite => "fs_write",
            Self::Net => "net",
            Self::Storage => "storage",
            Self::Message => "message",
            Self::Publish => "publish",
            Self::Subscribe => "subscribe",
            Self::Process => "process",
            Self::Env => "env",
        }
    }

    /// Looks a kind up by its [`key`](Self::key).
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.key() == key)
    }

    /// The keys of every kind, comma-separated, for error messages.
    pub fn expected_keys() -> String {
        Self::ALL.map(Self::key).join(", ")
    }

    /// An example pattern of this kind, used in error messages.
    pub fn example(self) -> &'static str {
        match self {
            Self::FsRead | Self::FsWrite => "/data/**",
            Self::Net => "api.example.com:443",
            Self::Storage => "app.cache",
            Self::Message => "billing",
            Self::Publish => "events.>",
            Self::Subscribe => "orders.*",
            Self::Process => "git status *",
            Self::Env => "LANG",
        }
    }

    /// Checks `pattern` against this kind's grammar.
    ///
    /// ```
    /// use airssys_contract::CapabilityKind;
    /// assert!(CapabilityKind::Net.validate("*.example.com:443").is_ok());
    /// let err = CapabilityKind::Net.validate("example.com").unwrap_err();
    /// assert!(err.to_string().contains("add a port"));
    /// ```
    pub fn validate(self, pattern: &str) -> Result<(), PatternError> {
        let reason = match self {
            Self::FsRead | Self::FsWrite => check_path(pattern, true),
            Self::Net => check_net(pattern),
            Self::Storage | Self::Publish | Self::Subscribe => {
                check_tokens(pattern, Wildcards::Allowed)
            }
            Self::Message => check_address(pattern),
            Self::Process => check_process(pattern),
            Self::Env => check_env(pattern),
        };
        reason.map_err(|reason| PatternError {
            kind: self,
            pattern: pattern.to_owned(),
            reason,
        })
    }
}

impl fmt::Display for CapabilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A capability pattern that does not follow its kind's grammar, or repeats another.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {kind} pattern `{pattern}`: {reason}")]
pub struct PatternError {
    kind: CapabilityKind,
    pattern: String,
    reason: String,
}

impl PatternError {
    /// The kind whose grammar was broken.
    pub fn kind(&self) -> CapabilityKind {
        self.kind
    }

    /// The offending pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is wrong and how to fix it, without the pattern itself.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The capabilities a component declares (or an operator grants): patterns per kind.
///
/// Every pattern inside is valid for its kind and appears once; [`Capabilities::add`] and
/// deserialization both enforce that. Deserialization also refuses a kind given twice, which
/// a plain map would settle silently by keeping the last.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities(BTreeMap<CapabilityKind, Vec<String>>);

impl Capabilities {
    /// Adds a pattern after checking it against the grammar of `kind`.
    ///
    /// Fails on a malformed pattern or on one already present for `kind`.
    pub fn add(&mut self, kind: CapabilityKind, pattern: &str) -> Result<(), PatternError> {
        kind.validate(pattern)?;
        let patterns = self.0.entry(kind).or_default();
        if patterns.iter().any(|p| p == pattern) {
            return Err(PatternError {
                kind,
                pattern: pattern.to_owned(),
                reason: "it is listed twice; remove the duplicate".to_owned(),
            });
        }
        patterns.push(pattern.to_owned());
        Ok(())
    }

    /// The patterns declared for `kind`, in declaration order.
    pub fn get(&self, kind: CapabilityKind) -> &[String] {
        self.0.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// Every `(kind, pattern)` pair, grouped by kind.
    pub fn iter(&self) -> impl Iterator<Item = (CapabilityKind, &str)> {
        self.0
            .iter()
            .flat_map(|(kind, patterns)| patterns.iter().map(move |p| (*kind, p.as_str())))
    }

    /// True when nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    /// Appends a pattern taken from another `Capabilities`, so already valid; duplicates are
    /// skipped.
    pub(crate) fn push_valid(&mut self, kind: CapabilityKind, pattern: &str) {
        let patterns = self.0.entry(kind).or_default();
        if !patterns.iter().any(|p| p == pattern) {
            patterns.push(pattern.to_owned());
        }
    }
}

impl<'de> Deserialize<'de> for Capabilities {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Capabilities;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from capability kind to a list of patterns")
            }

            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Capabilities, A::Error> {
                let mut caps = Capabilities::default();
                let mut seen = Vec::new();
                while let Some(kind) = map.next_key::<CapabilityKind>()? {
                    if seen.contains(&kind) {
                        return Err(de::Error::custom(format_args!(
                            "capability `{kind}` is listed twice; put all its patterns in one list"
                        )));
                    }
                    seen.push(kind);
                    for pattern in map.next_value::<Vec<String>>()? {
                        caps.add(kind, &pattern).map_err(de::Error::custom)?;
                    }
                }
                Ok(caps)
            }
        }

        deserializer.deserialize_map(Visitor)
    }
}

pub(crate) fn check_no_control(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("it is empty".to_owned());
    }
    if pattern.chars().any(char::is_control) {
        return Err("it contains a control character".to_owned());
    }
    Ok(())
}

/// Absolute, normalized paths; `*` and `**` only as whole segments.
fn check_path(pattern: &str, wildcards: bool) -> Result<(), String> {
    check_no_control(pattern)?;
    if !pattern.starts_with('/') {
        return Err(format!(
            "paths must be absolute; write `/{}`",
            pattern.trim_start_matches("./")
        ));
    }
    if pattern == "/" {
        return if wildcards {
            Ok(())
        } else {
            Err("`/` is a directory, not a command".into())
        };
    }
    if pattern.ends_with('/') {
        let trimmed = pattern.trim_end_matches('/');
        return Err(if wildcards {
            format!("remove the trailing `/`; use `{trimmed}/**` to cover everything below it")
        } else {
            format!("remove the trailing `/` (`{trimmed}`)")
        });
    }
    for segment in pattern[1..].split('/') {
        match segment {
            "" => return Err("it has an empty segment (`//`); write the normalized path".into()),
            "." | ".." => {
                return Err(
                    "`.` and `..` segments are not allowed; write the normalized path".into(),
                );
            }
            "*" | "**" if wildcards => {}
            s if s.contains('*') => {
                return Err(if wildcards {
                    "`*` and `**` must be a whole segment (`/data/*`), not part of one (`/data/*.txt`)"
                        .into()
                } else {
                    "wildcards are not allowed here".into()
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// `host:port`, where host is a DNS name, `*.suffix`, `*`, an IPv4 literal or a bracketed
/// IPv6 literal, each address in its one canonical spelling, and port is a number or `*`.
fn check_net(pattern: &str) -> Result<(), String> {
    check_no_control(pattern)?;
    if pattern.contains("://") || pattern.contains('/') {
        return Err(
            "write `host:port` without a scheme or path (e.g. `api.example.com:443`)".into(),
        );
    }
    if !pattern.starts_with('[') && pattern.matches(':').count() > 1 {
        return Err("write an IPv6 literal in brackets, followed by the port: `[::1]:8080`".into());
    }
    let (host, port) = match pattern.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.ends_with(']') => (host, port),
        _ => {
            return Err(format!(
                "add a port: `{pattern}:443`, or `{pattern}:*` for any port"
            ));
        }
    };
    if port != "*" {
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        match port.parse::<u16>() {
            Ok(p) if digits && p > 0 && !port.starts_with('0') => {}
            _ => {
                return Err(format!(
                    "the port `{port}` must be 1-65535 (no sign or leading zero) or `*`"
                ));
            }
        }
    }
    if host == "*" {
        return Ok(());
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("an IPv6 literal needs a closing `]` (e.g. `[::1]:8080`)")?;
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{inner}` is not an IPv6 address"));
        }
    }
    if let Some(ip) = parse_address(host) {
        let canonical = match ip {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        return if host == canonical {
            Ok(())
        } else {
            Err(format!(
                "`{host}` is the address {canonical} written another way; write `{canonical}:{port}`"
            ))
        };
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    if ends_in_number(name) {
        return Err(if host.starts_with("*.") {
            "`*.` covers sub-domains of a name, not IP addresses; grant the address itself".into()
        } else {
            format!("`{name}` is neither an IP address nor a host name (its last label is numeric)")
        });
    }
    if name.contains('*') {
        return Err(
            "`*` may only stand alone or as the whole first label (`*.example.com`)".into(),
        );
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "host names are matched in lowercase; write `{}`",
            pattern.to_ascii_lowercase()
        ));
    }
    if name.len() > 253 {
        return Err("the host name is longer than 253 bytes".into());
    }
    if host.starts_with("*.") && !name.contains('.') {
        return Err(format!(
            "`*.{name}` would cover a whole top-level domain; name a domain such as `*.example.com`"
        ));
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(format!(
                "`{label}` is not a valid host-name label; use letters, digits and `-`"
            ));
        }
    }
    Ok(())
}

/// A component address (kebab-case, as `validate_name` checks), or `*` for every address.
fn check_address(pattern: &str) -> Result<(), String> {
    check_no_control(pattern)?;
    if pattern == "*" {
        return Ok(());
    }
    if pattern.contains('*') {
        return Err(
            "`*` stands alone, for every address; name one address (`billing`) or write `*`".into(),
        );
    }
    validate_name(pattern).map_err(|err| match err {
        NameError::TooLong(len) => {
            format!("it is {len} bytes long, and addresses have at most 64")
        }
        NameError::Empty | NameError::NotKebabCase(_) => format!(
            "`{pattern}` is not an address; addresses are kebab-case: lowercase letters, digits and `-`, starting with a letter (`billing`, `order-service`)"
        ),
    })
}

/// A command (bare name or absolute path) and optional argument patterns, separated by spaces.
fn check_process(pattern: &str) -> Result<(), String> {
    check_no_control(pattern)?;
    let mut words = pattern.split_whitespace();
    let command = words
        .next()
        .ok_or("name a command, e.g. `git` or `/usr/bin/convert`")?;
    if command.starts_with('/') {
        check_path(command, false)?;
    } else if command.contains('/') {
        return Err("give a bare command name (`git`) or an absolute path (`/usr/bin/git`)".into());
    } else if !command
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        || command.contains('*')
    {
        return Err(format!("`{command}` is not a valid command name"));
    }
    let args: Vec<&str> = words.collect();
    for (i, arg) in args.iter().enumerate() {
        if *arg == "**" && i + 1 != args.len() {
            return Err("`**` matches the remaining arguments, so it must come last".into());
        }
        if arg.contains('*') && *arg != "*" && *arg != "**" {
            return Err(format!(
                "`{arg}`: `*` (one argument) and `**` (the rest) must be whole arguments"
            ));
        }
    }
    Ok(())
}

/// An environment variable name, `[A-Za-z_][A-Za-z0-9_]*`, that does not load code into the
/// program that reads it.
fn check_env(pattern: &str) -> Result<(), String> {
    check_no_control(pattern)?;
    if pattern.contains('*') {
        return Err(
            "name each variable (`LC_ALL`); a wildcard would also pass variables nobody reviewed"
                .into(),
        );
    }
    let valid = pattern.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && pattern
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!(
            "`{pattern}` is not an environment variable name; use ASCII letters, digits and `_`, not starting with a digit (e.g. `LANG`)"
        ));
    }
    let upper = pattern.to_ascii_uppercase();
    if upper.starts_with("LD_") || upper.starts_with("DYLD_") {
        return Err(format!(
            "`{pattern}` would make the dynamic loader load code of the component's choosing into the program, so it can never be granted"
        ));
    }
    if upper == "GCONV_PATH" {
        return Err(
            "`GCONV_PATH` would make the C library load code of the component's choosing into the program, so it can never be granted"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(kind: CapabilityKind, pattern: &str) -> String {
        kind.validate(pattern).unwrap_err().reason().to_owned()
    }

    #[test]
    fn paths() {
        for ok in [
            "/",
            "/data",
            "/data/*",
            "/data/**",
            "/a/**/b",
            "/etc/app.toml",
        ] {
            CapabilityKind::FsRead.validate(ok).unwrap();
        }
        assert!(reason(CapabilityKind::FsRead, "data/x").contains("absolute"));
        assert!(reason(CapabilityKind::FsRead, "/data/").contains("trailing"));
        assert!(reason(CapabilityKind::FsRead, "/data/../etc").contains("`..`"));
        assert!(reason(CapabilityKind::FsWrite, "/a//b").contains("empty segment"));
        assert!(reason(CapabilityKind::FsWrite, "/data/*.txt").contains("whole segment"));
    }

    #[test]
    fn hosts() {
        for ok in [
            "api.example.com:443",
            "*.example.com:*",
            "*:443",
            "127.0.0.1:8080",
            "[::1]:80",
            "[::ffff:127.0.0.1]:80",
            "[2001:db8::1]:80",
            "0x7f.example.com:80",
        ] {
            CapabilityKind::Net.validate(ok).unwrap();
        }
        assert!(reason(CapabilityKind::Net, "example.com").contains("add a port"));
        assert!(reason(CapabilityKind::Net, "https://x.com:1").contains("scheme"));
        assert!(reason(CapabilityKind::Net, "x.com:0").contains("1-65535"));
        assert!(reason(CapabilityKind::Net, "api*.x.com:1").contains("first label"));
        assert!(reason(CapabilityKind::Net, "API.x.com:1").contains("lowercase"));
        assert!(reason(CapabilityKind::Net, "[::1:80").contains("`]`"));
        assert!(reason(CapabilityKind::Net, "::1:80").contains("in brackets"));
        assert!(reason(CapabilityKind::Net, "[::1]").contains("add a port"));
        for bad_port in ["x.com:+443", "x.com:0443", "x.com:", "x.com:65536"] {
            assert!(
                reason(CapabilityKind::Net, bad_port).contains("1-65535"),
                "{bad_port}"
            );
        }
        assert!(reason(CapabilityKind::Net, "1.2.3.256:80").contains("numeric"));
        assert!(reason(CapabilityKind::Net, "a.09:80").contains("numeric"));
        for (numeric, canonical) in [
            ("127.1", "127.0.0.1"),
            ("0x7f000001", "127.0.0.1"),
            ("0X7F000001", "127.0.0.1"),
            ("0x7f.0.0.1", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("127.0.0.1.", "127.0.0.1"),
            ("1.2.3", "1.2.0.3"),
            ("[0:0::1]", "[::1]"),
            ("[::FFFF:7F00:1]", "[::ffff:127.0.0.1]"),
        ] {
            let reason = reason(CapabilityKind::Net, &format!("{numeric}:80"));
            assert!(
                reason.contains(&format!("write `{canonical}:80`")),
                "{reason}"
            );
        }
        assert!(reason(CapabilityKind::Net, "[::g]:80").contains("not an IPv6 address"));
        assert!(reason(CapabilityKind::Net, "*.1.2.3.4:80").contains("not IP addresses"));
        assert!(reason(CapabilityKind::Net, "*.com:1").contains("top-level domain"));
    }

    #[test]
    fn tokens() {
        for ok in ["app", "app.cache", "orders.*", "events.>", "a-b.c_d"] {
            CapabilityKind::Publish.validate(ok).unwrap();
        }
        assert!(reason(CapabilityKind::Storage, "app..x").contains("empty token"));
        assert!(reason(CapabilityKind::Subscribe, "a.>.b").contains("last token"));
        assert!(reason(CapabilityKind::Subscribe, "a/b").contains("not a valid token"));
        assert!(reason(CapabilityKind::Publish, "orders.eu*").contains("not a valid token"));
    }

    #[test]
    fn addresses() {
        for ok in ["billing", "order-service", "a1", "*"] {
            CapabilityKind::Message.validate(ok).unwrap();
        }
        for bad in ["Billing", "order_service", "-a", "a-", "a--b", "1a", "a.b"] {
            assert!(
                reason(CapabilityKind::Message, bad).contains("kebab-case"),
                "{bad}"
            );
        }
        assert!(reason(CapabilityKind::Message, "bill*").contains("stands alone"));
        assert!(reason(CapabilityKind::Message, "**").contains("stands alone"));
        assert!(reason(CapabilityKind::Message, &"a".repeat(65)).contains("at most 64"));
        assert!(reason(CapabilityKind::Message, "").contains("empty"));
    }

    #[test]
    fn processes() {
        for ok in ["git", "git status *", "/usr/bin/convert **"] {
            CapabilityKind::Process.validate(ok).unwrap();
        }
        assert!(reason(CapabilityKind::Process, "bin/git").contains("absolute path"));
        assert!(reason(CapabilityKind::Process, "git ** x").contains("last"));
        assert!(reason(CapabilityKind::Process, "/usr/*/git").contains("wildcards"));
        assert!(reason(CapabilityKind::Process, "/").contains("not a command"));
        assert!(!reason(CapabilityKind::Process, "/usr/bin/").contains("**"));
        assert!(reason(CapabilityKind::Process, "convert *.png").contains("whole arguments"));
    }

    #[test]
    fn environment_names() {
        for ok in [
            "LANG",
            "TZ",
            "LC_ALL",
            "_X",
            "a1",
            "GIT_AUTHOR_NAME",
            "LDX",
            "DYLD",
        ] {
            CapabilityKind::Env.validate(ok).unwrap();
        }
        for bad in ["1A", "A-B", "A B", "A=B", "Ä", "$HOME"] {
            assert!(
                reason(CapabilityKind::Env, bad).contains("not an environment variable name"),
                "{bad}"
            );
        }
        assert!(reason(CapabilityKind::Env, "LC_*").contains("name each variable"));
        assert!(reason(CapabilityKind::Env, "*").contains("name each variable"));
        for loader in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "ld_preload",
            "LD_",
            "DYLD_INSERT_LIBRARIES",
            "Dyld_x",
        ] {
            assert!(
                reason(CapabilityKind::Env, loader).contains("dynamic loader"),
                "{loader}"
            );
        }
        assert!(reason(CapabilityKind::Env, "GCONV_PATH").contains("C library"));
        assert!(reason(CapabilityKind::Env, "").contains("empty"));
    }

    #[test]
    fn duplicates_are_refused_and_json_revalidates() {
        let mut caps = Capabilities::default();
        caps.add(CapabilityKind::Net, "a.com:1").unwrap();
        let err = caps.add(CapabilityKind::Net, "a.com:1").unwrap_err();
        assert!(err.reason().contains("twice"));
        let bad = r#"{"net":["a.com"]}"#;
        let err = serde_json::from_str::<Capabilities>(bad).unwrap_err();
        assert!(err.to_string().contains("add a port"), "{err}");
        let twice = r#"{"net":["a.com:1"],"env":["TZ"],"net":["b.com:1"]}"#;
        let err = serde_json::from_str::<Capabilities>(twice).unwrap_err();
        assert!(err.to_string().contains("`net` is listed twice"), "{err}");
        let err = serde_json::from_str::<Capabilities>(r#"{"files":["/x"]}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `files`"), "{err}");
        let caps: Capabilities = serde_json::from_str(r#"{"env":["TZ","LANG"],"net":[]}"#).unwrap();
        assert_eq!(caps.get(CapabilityKind::Env), ["TZ", "LANG"]);
        assert_eq!(
            serde_json::to_string(&caps).unwrap(),
            r#"{"env":["TZ","LANG"]}"#
        );
    }
}
