//! Matching concrete resources against capability patterns, and coverage between patterns.
//!
//! The semantics are specified in `docs/security.md` ("Pattern semantics"); this module is
//! their single implementation. Nothing here uses regular expressions or backtracking: paths,
//! tokens and process arguments are matched by simulating the pattern's automaton over the
//! segments (`O(segments × pattern length)`). Coverage first looks for an alignment of the
//! two patterns (`O(granted × declared)`) and otherwise explores the product of the granted
//! pattern's automaton with the declared pattern, each state once, up to a bound.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::address::{ends_in_number, parse_address};
use crate::capability::{Capabilities, CapabilityKind};
use crate::name::validate_name;
use crate::topic::{Wildcards, check_tokens};

impl CapabilityKind {
    /// Does the concrete `resource` match `pattern`, a valid pattern of this kind?
    ///
    /// An invalid pattern matches nothing, and so does a resource that is not in canonical
    /// form (a relative or unnormalized path, a host name with an empty label, a topic with a
    /// wildcard). For [`Process`](Self::Process), `resource` is the program and its arguments
    /// separated by whitespace; use [`matches_process`] when an argument contains spaces. For
    /// [`Env`](Self::Env), `resource` is a variable name, matched exactly, case included. For
    /// [`Message`](Self::Message), `resource` is an address: `*` matches every valid address,
    /// a named address only itself.
    ///
    /// ```
    /// use airssys_contract::CapabilityKind::{FsRead, Message, Net, Publish};
    /// assert!(FsRead.matches("/data/**", "/data"));
    /// assert!(!FsRead.matches("/data/*", "/database"));
    /// assert!(!FsRead.matches("/data/**", "/data/../etc"));
    /// assert!(Net.matches("*.example.com:443", "API.example.com:443"));
    /// assert!(!Net.matches("*:80", "127.0.0.1:80"));
    /// assert!(!Net.matches("*:80", "0x7f000001:80"));
    /// assert!(Net.matches("127.0.0.1:80", "127.1:80"));
    /// assert!(Publish.matches("events.>", "events.a.b"));
    /// assert!(!Publish.matches("events.>", "events"));
    /// assert!(Message.matches("*", "billing"));
    /// assert!(!Message.matches("billing", "billing-eu"));
    /// ```
    pub fn matches(self, pattern: &str, resource: &str) -> bool {
        if self.validate(pattern).is_err() {
            return false;
        }
        match self {
            Self::FsRead | Self::FsWrite => {
                path_resource(resource).is_some_and(|r| seq_matches(&path_pattern(pattern), &r))
            }
            Self::Net => match (net_pattern(pattern), net_resource(resource)) {
                (Some(pattern), Some(resource)) => pattern.matches(&resource),
                _ => false,
            },
            Self::Storage | Self::Publish | Self::Subscribe => {
                token_resource(resource).is_some_and(|r| seq_matches(&token_pattern(pattern), &r))
            }
            Self::Process => {
                let mut words = resource.split_whitespace();
                let Some(program) = words.next() else {
                    return false;
                };
                let args: Vec<&str> = words.collect();
                matches_process(pattern, program, &args)
            }
            Self::Env => resource == pattern,
            Self::Message => {
                validate_name(resource).is_ok() && (pattern == "*" || pattern == resource)
            }
        }
    }

    /// Does every resource `declared` can match also match `granted`? (Pattern subsumption.)
    ///
    /// Both must be valid patterns of this kind; an invalid one covers and is covered by
    /// nothing. The answer is exact, not a syntactic approximation: `/*/**` covers `/**/*`.
    ///
    /// ```
    /// use airssys_contract::CapabilityKind::{FsRead, Net, Process};
    /// assert!(FsRead.covers("/data/**", "/data/*/logs"));
    /// assert!(!FsRead.covers("/data/*", "/data/**"));
    /// assert!(Net.covers("*.example.com:*", "*.api.example.com:443"));
    /// assert!(!Net.covers("*:443", "127.0.0.1:443"));
    /// assert!(Process.covers("git", "git status *"));
    /// assert!(!Process.covers("git status *", "git"));
    /// assert!(!Process.covers("git **", "git"));
    /// ```
    pub fn covers(self, granted: &str, declared: &str) -> bool {
        if self.validate(granted).is_err() || self.validate(declared).is_err() {
            return false;
        }
        match self {
            Self::FsRead | Self::FsWrite => {
                seq_covers(&path_pattern(granted), &path_pattern(declared))
            }
            Self::Net => match (net_pattern(granted), net_pattern(declared)) {
                (Some(granted), Some(declared)) => granted.covers(&declared),
                _ => false,
            },
            Self::Storage | Self::Publish | Self::Subscribe => {
                seq_covers(&token_pattern(granted), &token_pattern(declared))
            }
            Self::Process => {
                let (granted_command, granted_args) = process_pattern(granted);
                let (declared_command, declared_args) = process_pattern(declared);
                granted_command == declared_command
                    && match (granted_args, declared_args) {
                        (None, _) => true,
                        (Some(_), None) => false,
                        (Some(granted), Some(declared)) => seq_covers(&granted, &declared),
                    }
            }
            Self::Env => granted == declared,
            Self::Message => granted == "*" || granted == declared,
        }
    }
}

/// Does a [`Process`](CapabilityKind::Process) `pattern` allow running `program` with `args`?
///
/// The command matches `program` exactly: a bare name only that bare name, an absolute path
/// only that path. A pattern without argument patterns allows any arguments, options
/// included: full trust in the program. Otherwise the arguments match one by one: a literal
/// the same argument, `*` any one argument and a final `**` the rest (including none), where
/// `*` and `**` never take an option, an argument that starts with `-`. An option is allowed
/// only where the pattern spells it.
///
/// ```
/// use airssys_contract::matches_process;
/// assert!(matches_process("git", "git", &["log", "--output=/tmp/x"]));
/// assert!(matches_process("git log -n * **", "git", &["log", "-n", "1", "main"]));
/// assert!(!matches_process("git log **", "git", &["log", "--output=/tmp/x"]));
/// assert!(!matches_process("git log -n * **", "git", &["log", "-n", "--output=/tmp/x"]));
/// assert!(matches_process("/usr/bin/convert * **", "/usr/bin/convert", &["in file.png", "out.jpg"]));
/// assert!(!matches_process("git status", "git", &["status", "-s"]));
/// assert!(!matches_process("git", "/usr/bin/git", &[]));
/// ```
pub fn matches_process(pattern: &str, program: &str, args: &[&str]) -> bool {
    if CapabilityKind::Process.validate(pattern).is_err() {
        return false;
    }
    let (command, arg_patterns) = process_pattern(pattern);
    command == program && arg_patterns.is_none_or(|seq| seq_matches(&seq, args))
}

impl Capabilities {
    /// True when some pattern of `kind` matches `resource` (see [`CapabilityKind::matches`]).
    pub fn allows(&self, kind: CapabilityKind, resource: &str) -> bool {
        self.get(kind).iter().any(|p| kind.matches(p, resource))
    }

    /// True when some `process` pattern matches `program` with `args` (see [`matches_process`]).
    pub fn allows_process(&self, program: &str, args: &[&str]) -> bool {
        self.get(CapabilityKind::Process)
            .iter()
            .any(|p| matches_process(p, program, args))
    }

    /// The `(kind, pattern)` pairs of `self` (declared) that no single pattern of the same kind
    /// in `grants` covers, in [`iter`](Self::iter) order.
    ///
    /// ```
    /// use airssys_contract::{Capabilities, CapabilityKind::FsRead};
    /// let mut declared = Capabilities::default();
    /// declared.add(FsRead, "/data/in/*").unwrap();
    /// declared.add(FsRead, "/etc/**").unwrap();
    /// let mut grants = Capabilities::default();
    /// grants.add(FsRead, "/data/**").unwrap();
    /// assert_eq!(declared.uncovered_by(&grants), vec![(FsRead, "/etc/**".to_owned())]);
    /// ```
    pub fn uncovered_by(&self, grants: &Capabilities) -> Vec<(CapabilityKind, String)> {
        self.iter()
            .filter(|&(kind, pattern)| !grants.covers(kind, pattern))
            .map(|(kind, pattern)| (kind, pattern.to_owned()))
            .collect()
    }

    /// The patterns of `self` (declared) that some pattern of `grants` covers: the effective
    /// capabilities. A declared pattern wider than every grant is left out whole, not narrowed.
    pub fn intersect(&self, grants: &Capabilities) -> Capabilities {
        let mut effective = Capabilities::default();
        for (kind, pattern) in self.iter() {
            if grants.covers(kind, pattern) {
                effective.push_valid(kind, pattern);
            }
        }
        effective
    }

    fn covers(&self, kind: CapabilityKind, declared: &str) -> bool {
        self.get(kind).iter().any(|g| kind.covers(g, declared))
    }
}

/// One element of a sequence pattern (path segments, tokens, process arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem<'a> {
    /// Exactly this segment.
    Lit(&'a str),
    /// Any one segment the wildcards take.
    One,
    /// Any number of segments the wildcards take, including none.
    Any,
}

/// Which segments the wildcards of a sequence pattern stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    /// Every segment: path segments and tokens.
    Every,
    /// Arguments that are not options, i.e. do not start with `-`: process arguments, so that
    /// a wildcard never lets a guest add `--output=...` or `-c key=value`.
    NonOption,
}

impl Wild {
    fn takes(self, segment: &str) -> bool {
        self == Self::Every || !segment.starts_with('-')
    }
}

/// A sequence pattern: its elements and what its wildcards take.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seq<'a> {
    elems: Vec<Elem<'a>>,
    wild: Wild,
}

/// A path pattern (already valid) as segments; `/` has none.
fn path_pattern(pattern: &str) -> Seq<'_> {
    let elems = if pattern == "/" {
        Vec::new()
    } else {
        pattern[1..]
            .split('/')
            .map(|segment| match segment {
                "*" => Elem::One,
                "**" => Elem::Any,
                s => Elem::Lit(s),
            })
            .collect()
    };
    Seq {
        elems,
        wild: Wild::Every,
    }
}

/// The segments of an absolute, normalized path, or `None` if it is not one.
fn path_resource(resource: &str) -> Option<Vec<&str>> {
    let rest = resource.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    if resource.contains('\0') {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    segments
        .iter()
        .all(|s| !matches!(*s, "" | "." | ".."))
        .then_some(segments)
}

/// A token pattern (already valid); `>` is one token followed by any number.
fn token_pattern(pattern: &str) -> Seq<'_> {
    let mut elems = Vec::new();
    for token in pattern.split('.') {
        match token {
            "*" => elems.push(Elem::One),
            ">" => elems.extend([Elem::One, Elem::Any]),
            t => elems.push(Elem::Lit(t)),
        }
    }
    Seq {
        elems,
        wild: Wild::Every,
    }
}

/// The tokens of a concrete name, or `None` if a token is empty, a wildcard or has other
/// characters than the grammar's (ASCII letters, digits, `_`, `-`).
fn token_resource(resource: &str) -> Option<Vec<&str>> {
    check_tokens(resource, Wildcards::Refused)
        .is_ok()
        .then(|| resource.split('.').collect())
}

/// A process pattern (already valid) as its command and argument patterns. `None` stands for
/// a command without argument patterns, which allows any arguments, options included; no
/// sequence pattern means that, since its wildcards never take an option.
fn process_pattern(pattern: &str) -> (&str, Option<Seq<'_>>) {
    let mut words = pattern.split_whitespace();
    let command = words.next().unwrap_or_default();
    let elems: Vec<Elem<'_>> = words
        .map(|word| match word {
            "*" => Elem::One,
            "**" => Elem::Any,
            w => Elem::Lit(w),
        })
        .collect();
    let args = (!elems.is_empty()).then_some(Seq {
        elems,
        wild: Wild::NonOption,
    });
    (command, args)
}

/// A quick, sound but incomplete test of coverage: can each element of `declared` be given to
/// one element of `granted`, in order, so that it matches whatever that element stands for? A
/// granted `**` takes any run of elements its wildcards take, a granted `*` one such literal or
/// a `*`, a literal only the same literal. Both patterns are of one kind, so their wildcards
/// take the same segments. `O(granted × declared)`; it decides most real cases without
/// [`seq_covers`]'s search, including those where that search would reach its bound.
fn aligns(granted: &Seq<'_>, declared: &Seq<'_>) -> bool {
    let takes = |elem: &Elem<'_>| match *elem {
        Elem::Lit(segment) => granted.wild.takes(segment),
        Elem::One | Elem::Any => true,
    };
    let declared = &declared.elems;
    let n = declared.len();
    // after[j]: granted[i + 1..] aligns with declared[j..]; row[j]: granted[i..] does.
    let mut after = vec![false; n + 1];
    after[n] = true;
    for &elem in granted.elems.iter().rev() {
        let mut row = vec![false; n + 1];
        for j in (0..=n).rev() {
            row[j] = match (elem, declared.get(j)) {
                (Elem::Any, next) => after[j] || (next.is_some_and(takes) && row[j + 1]),
                (Elem::One, Some(next @ (Elem::Lit(_) | Elem::One))) => takes(next) && after[j + 1],
                (Elem::Lit(g), Some(Elem::Lit(d))) => g == *d && after[j + 1],
                _ => false,
            };
        }
        after = row;
    }
    after[0]
}

/// The states of a sequence pattern's automaton: `states[p]` is true when the first `p`
/// elements can have matched the input read so far.
type States = Vec<bool>;

/// Follows the empty moves: `**` may match nothing.
fn close(pattern: &Seq<'_>, states: &mut States) {
    for (p, elem) in pattern.elems.iter().enumerate() {
        if states[p] && *elem == Elem::Any {
            states[p + 1] = true;
        }
    }
}

fn start(pattern: &Seq<'_>) -> States {
    let mut states = vec![false; pattern.elems.len() + 1];
    states[0] = true;
    close(pattern, &mut states);
    states
}

/// Reads one segment: `Some(s)` is that segment, `None` a segment that the wildcards take and
/// that equals no literal of the pattern.
fn step(pattern: &Seq<'_>, states: &States, segment: Option<&str>) -> States {
    let wild = segment.is_none_or(|s| pattern.wild.takes(s));
    let mut next = vec![false; states.len()];
    for (p, elem) in pattern.elems.iter().enumerate() {
        if !states[p] {
            continue;
        }
        match *elem {
            Elem::Any if wild => next[p] = true,
            Elem::One if wild => next[p + 1] = true,
            Elem::Lit(lit) if segment == Some(lit) => next[p + 1] = true,
            _ => {}
        }
    }
    close(pattern, &mut next);
    next
}

fn seq_matches(pattern: &Seq<'_>, input: &[&str]) -> bool {
    let mut states = start(pattern);
    for segment in input {
        states = step(pattern, &states, Some(segment));
        if !states.contains(&true) {
            return false;
        }
    }
    states[pattern.elems.len()]
}

/// A bound on the states [`seq_covers`] explores. The states are pairs of a position in the
/// declared pattern and a set of positions in the granted one; only a granted pattern with many
/// `*` after a `**` (`/**/a/*/*/*/*/*/*/*/*/*/*/*/*`), against a declared pattern that puts its
/// literal at many distances, comes near it. Past it the answer is "not covered", which errs
/// on the side of refusing and costs tens of milliseconds at most.
const MAX_COVER_STATES: usize = 1 << 16;

/// Is every sequence `declared` matches also matched by `granted`?
///
/// When [`aligns`] cannot tell, an exact search runs. A declared `*` reads a segment that the
/// wildcards take and no literal of `granted` equals, and a declared `**` any number of such
/// segments: if `granted` accepts those, it accepts any segments the wildcards take in their
/// place, since a granted literal never helps. So the product of `granted`'s automaton (its
/// state sets) with the positions of `declared` is explored, each pair once; any reachable
/// dead state, or a state at the end of `declared` where `granted` is not complete, is a
/// counterexample.
fn seq_covers(granted: &Seq<'_>, declared: &Seq<'_>) -> bool {
    if aligns(granted, declared) {
        return true;
    }
    let mut seen: HashSet<(usize, States)> = HashSet::new();
    let mut todo = vec![(0, start(granted))];
    while let Some((j, states)) = todo.pop() {
        if !states.contains(&true) {
            return false;
        }
        if !seen.insert((j, states.clone())) {
            continue;
        }
        if seen.len() > MAX_COVER_STATES {
            return false;
        }
        match declared.elems.get(j) {
            None if !states[granted.elems.len()] => return false,
            None => {}
            Some(Elem::Lit(segment)) => todo.push((j + 1, step(granted, &states, Some(segment)))),
            Some(Elem::One) => todo.push((j + 1, step(granted, &states, None))),
            Some(Elem::Any) => {
                todo.push((j + 1, states.clone()));
                todo.push((j, step(granted, &states, None)));
            }
        }
    }
    true
}

/// The host part of a valid `net` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern<'a> {
    /// `*`: any DNS name except loopback names.
    AnyName,
    /// `*.suffix`: names with at least one more label, ending in `.suffix`.
    Suffix(&'a str),
    /// This DNS name.
    Name(&'a str),
    /// This address.
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NetPattern<'a> {
    host: HostPattern<'a>,
    /// `None` is `*`.
    port: Option<u16>,
}

/// A concrete host: a lowercased DNS name or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

/// Parses a pattern that [`CapabilityKind::validate`] accepted.
fn net_pattern(pattern: &str) -> Option<NetPattern<'_>> {
    let (host, port) = pattern.rsplit_once(':')?;
    let port = match port {
        "*" => None,
        p => Some(p.parse().ok()?),
    };
    let host = if host == "*" {
        HostPattern::AnyName
    } else if let Some(suffix) = host.strip_prefix("*.") {
        HostPattern::Suffix(suffix)
    } else if let Some(ip) = parse_address(host) {
        HostPattern::Ip(ip)
    } else {
        HostPattern::Name(host)
    };
    Some(NetPattern { host, port })
}

/// `host:port` with a DNS name (any case), an address in any notation [`parse_address`]
/// reads (a bracketed IPv6 literal, IPv4 as `127.0.0.1`, `127.1`, `0x7f000001`, ...), and a
/// port 1-65535 written without sign or leading zero. A host that ends in a number but is no
/// address (`1.2.3.256`) is neither, so it matches nothing.
fn net_resource(resource: &str) -> Option<(Host, u16)> {
    let (host, port) = resource.rsplit_once(':')?;
    if port.is_empty() || port.starts_with('0') || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok()?;
    if host.starts_with('[') {
        return parse_address(host).map(|ip| (Host::Ip(ip), port));
    }
    if host.contains(':') {
        return None;
    }
    if let Some(ip) = parse_address(host) {
        return Some((Host::Ip(ip), port));
    }
    let name = host.to_ascii_lowercase();
    is_dns_name(&name).then_some((Host::Name(name), port))
}

/// A lowercase DNS name as the grammar defines it: labels of 1-63 letters, digits and `-`
/// (not first or last), at most 253 bytes, and not ending in a number.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && !ends_in_number(name)
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `localhost` and the names below it, which resolve to loopback (RFC 6761).
fn is_loopback_name(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// Does `name` end in `.suffix` (so it has at least one more label)?
fn is_below(name: &str, suffix: &str) -> bool {
    name.strip_suffix(suffix)
        .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
}

impl NetPattern<'_> {
    fn matches(&self, (host, port): &(Host, u16)) -> bool {
        let port_ok = self.port.is_none_or(|p| p == *port);
        let host_ok = match (&self.host, host) {
            (HostPattern::AnyName, Host::Name(name)) => !is_loopback_name(name),
            (HostPattern::Suffix(suffix), Host::Name(name)) => is_below(name, suffix),
            (HostPattern::Name(pattern), Host::Name(name)) => pattern == name,
            (HostPattern::Ip(pattern), Host::Ip(ip)) => pattern == ip,
            _ => false,
        };
        port_ok && host_ok
    }

    fn covers(&self, declared: &NetPattern<'_>) -> bool {
        let port_ok = match (self.port, declared.port) {
            (None, _) => true,
            (Some(granted), Some(declared)) => granted == declared,
            (Some(_), None) => false,
        };
        // `*.suffix` matches nothing when no name of 253 bytes fits a label before it.
        let declared_empty = matches!(declared.host, HostPattern::Suffix(s) if s.len() > 251);
        let host_ok = declared_empty
            || match (&self.host, &declared.host) {
                (HostPattern::AnyName, HostPattern::AnyName) => true,
                (HostPattern::AnyName, HostPattern::Name(name) | HostPattern::Suffix(name)) => {
                    !is_loopback_name(name)
                }
                (HostPattern::Suffix(granted), HostPattern::Name(name)) => is_below(name, granted),
                (HostPattern::Suffix(granted), HostPattern::Suffix(declared)) => {
                    granted == declared || is_below(declared, granted)
                }
                (HostPattern::Name(granted), HostPattern::Name(declared)) => granted == declared,
                (HostPattern::Ip(granted), HostPattern::Ip(declared)) => granted == declared,
                _ => false,
            };
        port_ok && host_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CapabilityKind::*;

    #[test]
    fn paths_match_segment_wise() {
        let yes = [
            ("/data/**", "/data"),
            ("/data/**", "/data/a"),
            ("/data/**", "/data/a/b"),
            ("/data/*", "/data/a"),
            ("/", "/"),
            ("/**", "/"),
            ("/**", "/etc/passwd"),
            ("/a/**/b", "/a/b"),
            ("/a/**/b", "/a/x/y/b"),
            ("/data/a b", "/data/a b"),
        ];
        for (pattern, resource) in yes {
            assert!(FsRead.matches(pattern, resource), "{pattern} {resource}");
        }
        let no = [
            ("/data/*", "/database"),
            ("/data/*", "/data"),
            ("/data/*", "/data/a/b"),
            ("/data/**", "/database"),
            ("/", "/data"),
            ("/data", "/Data"),
            ("/a/**/b", "/a/b/c"),
        ];
        for (pattern, resource) in no {
            assert!(!FsWrite.matches(pattern, resource), "{pattern} {resource}");
        }
    }

    #[test]
    fn unnormalized_paths_match_nothing() {
        for resource in [
            "/data/../etc",
            "/data/..",
            "/data/./a",
            "/data//a",
            "/data/",
            "data/a",
            "",
            "/data/a\0",
        ] {
            for pattern in ["/**", "/data/**", "/data/*/**"] {
                assert!(!FsRead.matches(pattern, resource), "{pattern} {resource:?}");
            }
        }
    }

    #[test]
    fn invalid_patterns_match_and_cover_nothing() {
        assert!(!FsRead.matches("/data/", "/data"));
        assert!(!FsRead.covers("/data/", "/data"));
        assert!(!FsRead.covers("/**", "/data/"));
        assert!(!Net.matches("example.com", "example.com:80"));
        assert!(!matches_process("git ** x", "git", &[]));
    }

    #[test]
    fn no_exponential_blowup() {
        let pattern = format!("{}/x", "/**".repeat(64));
        let resource = "/a".repeat(10_000);
        assert!(!FsRead.matches(&pattern, &resource));
        assert!(FsRead.matches(&pattern, &format!("{resource}/x")));
        assert!(FsRead.covers("/**/x", &pattern));
        assert!(FsRead.covers(&pattern, "/**/x"));
        // Decided by alignment; the exact search alone would reach its bound here.
        let granted = format!("/**/a{}/**", "/*".repeat(16));
        let declared = format!("{}{}/**", "/**/a".repeat(20), "/*".repeat(16));
        assert!(FsRead.covers(&granted, &declared));
        let declared = format!("{}/x", "/**/*/a".repeat(64));
        assert!(FsRead.covers("/**/a/**/x", &declared));
        assert!(!FsRead.covers("/**/b/**", &declared));
    }

    #[test]
    fn hosts() {
        let yes = [
            ("api.example.com:443", "api.example.com:443"),
            ("api.example.com:443", "API.Example.COM:443"),
            ("*.example.com:443", "a.example.com:443"),
            ("*.example.com:*", "a.b.example.com:1"),
            ("*:80", "example.com:80"),
            ("*:*", "a:65535"),
            ("127.0.0.1:80", "127.0.0.1:80"),
            ("localhost:80", "localhost:80"),
            ("[::1]:80", "[0:0::1]:80"),
            ("127.0.0.1:80", "127.1:80"),
            ("127.0.0.1:80", "0x7f000001:80"),
            ("127.0.0.1:80", "0X7F000001:80"),
            ("127.0.0.1:80", "0x7f.0.0.1:80"),
            ("127.0.0.1:80", "0177.0.0.1:80"),
            ("127.0.0.1:80", "2130706433:80"),
            ("127.0.0.1:80", "0x7f.0.1:80"),
            ("127.0.0.1:80", "127.0.0.1.:80"),
            ("169.254.169.254:80", "169.254.43518:80"),
        ];
        for (pattern, resource) in yes {
            assert!(Net.matches(pattern, resource), "{pattern} {resource}");
        }
        let no = [
            ("*.example.com:443", "example.com:443"),
            ("*.example.com:443", "badexample.com:443"),
            ("*.example.com:443", "a.example.com:80"),
            ("*:80", "127.0.0.1:80"),
            ("*:80", "localhost:80"),
            ("*:80", "a.localhost:80"),
            ("*:80", "[::1]:80"),
            ("*:*", "10.0.0.1:80"),
            ("127.0.0.1:80", "127.0.0.2:80"),
            ("127.0.0.1:80", "[::ffff:127.0.0.1]:80"),
            ("example.com:80", "example.com:080"),
            ("example.com:80", "example.com.:80"),
            ("example.com:80", "example.com"),
            ("*:*", "a..b:1"),
            ("*:*", "a_b.com:1"),
            ("*:*", "1.2.3:1"),
            ("*:80", "0x7f000001:80"),
            ("*:80", "127.1:80"),
            ("*:80", "2130706433:80"),
            ("*:80", "0177.0.0.1:80"),
            ("*:80", "0x7f000001.:80"),
            ("*.0x7f000001:80", "a.0x7f000001:80"),
            ("*:*", "1.2.3.256:1"),
            ("*:*", "a.09:1"),
            ("*:*", "a.0x1f:1"),
            ("localhost:80", "0x7f000001:80"),
            ("*:*", "[::1:80"),
            ("*:*", "*.example.com:1"),
            ("*:*", "a.com:0"),
            ("*:*", "a.com:65536"),
        ];
        for (pattern, resource) in no {
            assert!(!Net.matches(pattern, resource), "{pattern} {resource}");
        }
    }

    #[test]
    fn host_coverage() {
        let yes = [
            ("*:*", "*:443"),
            ("*:443", "*.example.com:443"),
            ("*:443", "api.example.com:443"),
            ("*.a.b:*", "x.a.b:1"),
            ("*.a.b:*", "*.x.a.b:1"),
            ("*.a.b:*", "*.a.b:1"),
            ("localhost:*", "localhost:80"),
        ];
        for (granted, declared) in yes {
            assert!(Net.covers(granted, declared), "{granted} {declared}");
        }
        let no = [
            ("*:443", "*:*"),
            ("*:443", "127.0.0.1:443"),
            ("*:443", "localhost:443"),
            ("*:443", "*.a.localhost:443"),
            ("*.a.b:*", "a.b:1"),
            ("*.a.b:*", "*:1"),
            ("*.a.b:*", "*.xa.b:1"),
            ("x.a.b:*", "*.a.b:1"),
        ];
        for (granted, declared) in no {
            assert!(!Net.covers(granted, declared), "{granted} {declared}");
        }
    }

    #[test]
    fn tokens() {
        let yes = [
            ("app.cache", "app.cache"),
            ("orders.*", "orders.eu"),
            ("events.>", "events.a"),
            ("events.>", "events.a.b"),
            ("*", "x"),
            (">", "x.y"),
        ];
        for (pattern, resource) in yes {
            assert!(Publish.matches(pattern, resource), "{pattern} {resource}");
        }
        let no = [
            ("events.>", "events"),
            ("orders.*", "orders"),
            ("orders.*", "orders.a.b"),
            ("app.cache", "app.Cache"),
            (">", "a.*"),
            (">", "a.>"),
            (">", "a..b"),
            (">", ""),
            (">", "a b"),
        ];
        for (pattern, resource) in no {
            assert!(
                !Subscribe.matches(pattern, resource),
                "{pattern} {resource}"
            );
        }
        assert!(Storage.covers(">", "*"));
        assert!(Storage.covers("a.>", "a.*.>"));
        assert!(Storage.covers("*.>", "a.b.>"));
        assert!(!Storage.covers("a.*", "a.>"));
        assert!(!Storage.covers("a.>", "a"));
    }

    #[test]
    fn processes() {
        assert!(Process.matches("git", "git"));
        assert!(Process.matches("git", "git push origin"));
        assert!(Process.matches("git", "git log --output=/etc/x"));
        assert!(Process.matches("git status *", "git status src"));
        assert!(!Process.matches("git status *", "git status"));
        assert!(!Process.matches("git status *", "git status a b"));
        assert!(Process.matches("git log **", "git log"));
        assert!(Process.matches("git log **", "git log main src"));
        assert!(Process.matches("git log -n * **", "git log -n 1 main"));
        assert!(!Process.matches("git", "/usr/bin/git"));
        assert!(!Process.matches("/usr/bin/git", "git"));
        assert!(Process.matches("/usr/bin/git", "/usr/bin/git status"));
        assert!(!Process.matches("git", ""));
        assert!(!Process.matches("git", "   "));
        assert!(matches_process("echo *", "echo", &["hello world"]));
        assert!(!matches_process("echo hello", "echo", &["hello world"]));
        assert!(matches_process("echo *", "echo", &[""]));
        assert!(!Process.matches("git log **", "git show"));
        assert!(!Process.matches("git", "/usr/bin/git status"));
        let convert = "/usr/bin/convert * *";
        assert!(matches_process(
            convert,
            "/usr/bin/convert",
            &["in file.png", "out.jpg"]
        ));
        assert!(!Process.matches(convert, "convert a b"));
        assert!(!Process.matches(convert, "/usr/bin/convert a"));

        assert!(Process.covers("git", "git"));
        assert!(Process.covers("git", "git status *"));
        assert!(Process.covers("git", "git log -p **"));
        assert!(!Process.covers("git **", "git"));
        assert!(!Process.covers("git * **", "git"));
        assert!(!Process.covers("git status **", "git"));
        assert!(Process.covers("git * **", "git status **"));
        assert!(!Process.covers("git", "/usr/bin/git"));
    }

    /// Every way a program reads an option is out of reach of `*` and `**`; only a literal
    /// option in the pattern allows one, and the value after it is an ordinary argument.
    #[test]
    fn wildcards_never_take_options() {
        let options: [&[&str]; 9] = [
            &["--output=/etc/x"],
            &["--exec=sh"],
            &["-c", "core.pager=sh"],
            &["--output", "/etc/x"],
            &["-o/etc/x"],
            &["-xvalue"],
            &["-xyz"],
            &["-"],
            &["--"],
        ];
        for option in options {
            for pattern in ["git log **", "git log * **", "git log *"] {
                let mut args = vec!["log"];
                args.extend(option);
                assert!(
                    !matches_process(pattern, "git", &args),
                    "{pattern} {args:?}"
                );
                args.insert(1, "main");
                assert!(
                    !matches_process(pattern, "git", &args),
                    "{pattern} {args:?}"
                );
            }
        }
        let pattern = "git log --oneline -n * **";
        assert!(matches_process(
            pattern,
            "git",
            &["log", "--oneline", "-n", "5"]
        ));
        assert!(matches_process(
            pattern,
            "git",
            &["log", "--oneline", "-n", "5", "main", "src"]
        ));
        assert!(!matches_process(
            pattern,
            "git",
            &["log", "--oneline", "-n", "--output=x"]
        ));
        assert!(!matches_process(
            pattern,
            "git",
            &["log", "--oneline", "-n", "5", "-p"]
        ));
        assert!(!matches_process(pattern, "git", &["log", "-n", "5"]));
        assert!(matches_process(
            "git -c * log",
            "git",
            &["-c", "a=b", "log"]
        ));
        assert!(!matches_process(
            "git -c * log",
            "git",
            &["-c", "-x", "log"]
        ));
        // Not options: an empty argument, a `-` further in, a space before it.
        assert!(matches_process("echo *", "echo", &[""]));
        assert!(matches_process("echo * *", "echo", &["a-b", " -x"]));

        assert!(!Process.covers("git log **", "git log -p **"));
        assert!(!Process.covers("git log *", "git log -p"));
        assert!(Process.covers("git log -p **", "git log -p *"));
        assert!(Process.covers("git log * **", "git log main **"));
        assert!(!Process.covers("git log * **", "git log main -- **"));
        assert!(!Process.covers("git log **", "git log main -- **"));
        assert!(Process.covers("git log -- **", "git log -- *"));
    }

    #[test]
    fn addresses_match_exactly_or_by_star() {
        assert!(Message.matches("billing", "billing"));
        assert!(Message.matches("*", "order-service"));
        for other in ["billing-eu", "Billing", "bill", "billing ", ""] {
            assert!(!Message.matches("billing", other), "{other:?}");
        }
        for invalid in ["", "Billing", "a_b", "a.b", "*", "-a"] {
            assert!(!Message.matches("*", invalid), "{invalid:?}");
        }
        assert!(!Message.matches("bill*", "billing"));
        assert!(Message.covers("*", "billing"));
        assert!(Message.covers("*", "*"));
        assert!(Message.covers("billing", "billing"));
        assert!(!Message.covers("billing", "*"));
        assert!(!Message.covers("billing", "billing-eu"));
    }

    #[test]
    fn environment_names_match_exactly() {
        assert!(Env.matches("LANG", "LANG"));
        for other in ["lang", "LANGUAGE", "LAN", "LANG ", "", "LANG=C"] {
            assert!(!Env.matches("LANG", other), "{other:?}");
        }
        assert!(!Env.matches("LD_PRELOAD", "LD_PRELOAD"));
        assert!(Env.covers("TZ", "TZ"));
        assert!(!Env.covers("TZ", "TZDIR"));
        assert!(!Env.covers("LD_PRELOAD", "LD_PRELOAD"));
        let mut grants = Capabilities::default();
        grants.add(Env, "LANG").unwrap();
        grants.add(Env, "TZ").unwrap();
        assert!(grants.allows(Env, "TZ"));
        assert!(!grants.allows(Env, "GIT_SSH_COMMAND"));
    }

    #[test]
    fn path_coverage() {
        let yes = [
            ("/data/**", "/data"),
            ("/data/**", "/data/**"),
            ("/data/**", "/data/*/x/**"),
            ("/**", "/"),
            ("/*/**", "/**/*"),
            ("/**/*", "/*/**"),
            ("/*/**", "/**/a/**"),
            ("/data/*", "/data/x"),
        ];
        for (granted, declared) in yes {
            assert!(FsRead.covers(granted, declared), "{granted} {declared}");
        }
        let no = [
            ("/data/*", "/data/**"),
            ("/data/*", "/data"),
            ("/data/**", "/**"),
            ("/data/**", "/database"),
            ("/", "/**"),
            ("/*/**", "/**"),
            ("/a/**", "/*/**"),
        ];
        for (granted, declared) in no {
            assert!(!FsRead.covers(granted, declared), "{granted} {declared}");
        }
    }

    #[test]
    fn capability_sets() {
        let mut declared = Capabilities::default();
        declared.add(FsRead, "/data/in/*").unwrap();
        declared.add(FsRead, "/etc/**").unwrap();
        declared.add(Net, "api.example.com:443").unwrap();
        declared.add(Process, "git").unwrap();
        let mut grants = Capabilities::default();
        grants.add(FsRead, "/data/**").unwrap();
        grants.add(Net, "*.example.com:*").unwrap();
        grants.add(Process, "git status").unwrap();
        assert_eq!(
            declared.uncovered_by(&grants),
            vec![(FsRead, "/etc/**".to_owned()), (Process, "git".to_owned())]
        );
        let effective = declared.intersect(&grants);
        assert_eq!(effective.get(FsRead), ["/data/in/*"]);
        assert_eq!(effective.get(Net), ["api.example.com:443"]);
        assert!(effective.get(Process).is_empty());
        assert!(grants.allows(FsRead, "/data/in/x"));
        assert!(!grants.allows(FsRead, "/database"));
        assert!(grants.allows(Net, "api.example.com:8443"));
        assert!(grants.allows_process("git", &["status"]));
        assert!(!grants.allows_process("git", &["push"]));
        assert!(declared.uncovered_by(&declared).is_empty());
        assert_eq!(declared.intersect(&declared), declared);
    }
}
