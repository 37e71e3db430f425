//! IP addresses: reading a host that is numeric in any notation, and telling public addresses
//! from special-purpose ones.
//!
//! A host is an address whenever some parser on the way to a socket would read it as one, so
//! that a name pattern can never be satisfied by an address in disguise (`0x7f000001` is
//! `127.0.0.1` to the C resolver). Whether an address is public follows the IANA IPv4 and
//! IPv6 Special-Purpose Address Registries, <https://www.iana.org/assignments/iana-ipv4-special-registry/>
//! and <https://www.iana.org/assignments/iana-ipv6-special-registry/>.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Reads `host` as an IP address, in any notation that a resolver or URL parser accepts.
///
/// IPv4 is read as the C resolver's `inet_aton` and the WHATWG URL standard read it: one to
/// four dot-separated numbers, each decimal, octal (a leading `0`) or hexadecimal (`0x`),
/// the last filling the remaining bytes (`127.1`, `0x7f000001`, `0177.0.0.1`, `2130706433`),
/// and one trailing dot allowed. IPv6 is a literal with or without brackets (`[::1]`, `::1`).
/// `None` means `host` is not an address; it may still not be a valid name (see
/// [`CapabilityKind::Net`](crate::CapabilityKind::Net)).
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use airssys_contract::parse_address;
/// let loopback = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
/// for host in ["127.0.0.1", "127.1", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "2130706433"] {
///     assert_eq!(parse_address(host), loopback, "{host}");
/// }
/// assert_eq!(parse_address("[::1]"), Some("::1".parse().unwrap()));
/// assert_eq!(parse_address("example.com"), None);
/// ```
pub fn parse_address(host: &str) -> Option<IpAddr> {
    if let Some(inner) = host.strip_prefix('[') {
        return inner.strip_suffix(']')?.parse().ok().map(IpAddr::V6);
    }
    if host.contains(':') {
        return host.parse().ok().map(IpAddr::V6);
    }
    parse_ipv4(host).map(IpAddr::V4)
}

/// Does `host` end in a number, so that no parser reads it as a name? This is the WHATWG
/// test: its last label (after one trailing dot) is all digits or a valid `0x` number. Such a
/// host is an address or nothing at all (`1.2.3.256`, `09`).
pub(crate) fn ends_in_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())) || parse_number(last).is_some()
}

fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let mut numbers = [0u32; 4];
    let mut count = 0;
    for part in host.split('.') {
        *numbers.get_mut(count)? = parse_number(part)?;
        count += 1;
    }
    let (last, leading) = numbers[..count].split_last()?;
    if leading.iter().any(|&n| n > 0xff) || u64::from(*last) >> (8 * (4 - leading.len())) != 0 {
        return None;
    }
    let high = leading
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, &n)| acc | n << (24 - 8 * i));
    Some(Ipv4Addr::from_bits(high | last))
}

/// One number of an IPv4 host: `0x` hexadecimal (`0x` alone is 0, as in WHATWG), a leading
/// `0` octal, otherwise decimal; no sign, at most `u32::MAX`.
fn parse_number(part: &str) -> Option<u32> {
    let (digits, radix) = match part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        Some("") => return Some(0),
        Some(hex) => (hex, 16),
        None if part.len() > 1 && part.starts_with('0') => (&part[1..], 8),
        None => (part, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// Is `ip` globally reachable, so that a connection to it leaves the host's own networks?
///
/// An address is global when the most specific block of the IANA special-purpose registry
/// that holds it says "Globally Reachable: True", or when no block holds it. "N/A" counts as
/// not global (the 6to4 prefixes, Teredo). Multicast (`224.0.0.0/4`, `ff00::/8`), the
/// deprecated IPv4-compatible (`::/96`) and site-local (`fec0::/10`) IPv6 blocks, which the
/// registries do not list, are not global either. An IPv6 address that carries an IPv4 one
/// (IPv4-mapped, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is global only if
/// the embedded address is too, so `64:ff9b::7f00:1` is not.
///
/// ```
/// use airssys_contract::is_global;
/// assert!(is_global("93.184.215.14".parse().unwrap()));
/// assert!(!is_global("100.100.100.200".parse().unwrap())); // Shared Address Space
/// assert!(!is_global("64:ff9b::a9fe:a9fe".parse().unwrap())); // NAT64 of 169.254.169.254
/// ```
pub fn is_global(ip: IpAddr) -> bool {
    non_global_block(ip).is_none()
}

/// The registry name of the block that makes `ip` not global (`"Loopback"`, `"Shared Address
/// Space"`), or `None` when [`is_global`] is true. For an IPv6 address that is global itself
/// but embeds a non-global IPv4 address, it is the name of the IPv4 block.
///
/// ```
/// use airssys_contract::non_global_block;
/// assert_eq!(non_global_block("::ffff:10.0.0.1".parse().unwrap()), Some("IPv4-mapped Address"));
/// assert_eq!(non_global_block("64:ff9b::a00:1".parse().unwrap()), Some("Private-Use"));
/// assert_eq!(non_global_block("2606:4700::1111".parse().unwrap()), None);
/// ```
pub fn non_global_block(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => v4_block(ip),
        IpAddr::V6(ip) => v6_block(ip).or_else(|| embedded_ipv4(ip).and_then(v4_block)),
    }
}

fn v4_block(ip: Ipv4Addr) -> Option<&'static str> {
    most_specific(IPV4, |net, len| {
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        ip.to_bits() & mask == net.to_bits() & mask
    })
}

fn v6_block(ip: Ipv6Addr) -> Option<&'static str> {
    most_specific(IPV6, |net, len| {
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        ip.to_bits() & mask == net.to_bits() & mask
    })
}

/// Of the rows whose block holds the address, the one with the longest prefix decides.
fn most_specific<A: Copy>(rows: &[Row<A>], holds: impl Fn(A, u32) -> bool) -> Option<&'static str> {
    rows.iter()
        .filter(|&&(net, len, ..)| holds(net, len))
        .max_by_key(|&&(_, len, ..)| len)
        .and_then(|&(.., name, global)| (!global).then_some(name))
}

/// The IPv4 address an IPv6 address carries, where one of the well-known formats says so.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let low = Ipv4Addr::from_bits(ip.to_bits() as u32);
    match ip.segments() {
        // IPv4-mapped (RFC 4291, 2.5.5.2), IPv4-compatible (RFC 4291, 2.5.5.1), NAT64 (RFC 6052).
        [0, 0, 0, 0, 0, 0xffff | 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
        [0x2002, high, low, ..] => {
            Some(Ipv4Addr::from_bits(u32::from(high) << 16 | u32::from(low)))
        }
        _ => None,
    }
}

/// A registry row: the block's first address, its prefix length, its registry name and its
/// "Globally Reachable" value.
type Row<A> = (A, u32, &'static str, bool);

/// The IANA IPv4 Special-Purpose Address Registry (as updated 2025), then multicast. A
/// "Globally Reachable" of N/A is written `false`.
#[rustfmt::skip]
const IPV4: &[Row<Ipv4Addr>] = &[
    (Ipv4Addr::new(0, 0, 0, 0),         8,   "This network", false),
    (Ipv4Addr::new(0, 0, 0, 0),         32,  "This host on this network", false),
    (Ipv4Addr::new(10, 0, 0, 0),        8,   "Private-Use", false),
    (Ipv4Addr::new(100, 64, 0, 0),      10,  "Shared Address Space", false),
    (Ipv4Addr::new(127, 0, 0, 0),       8,   "Loopback", false),
    (Ipv4Addr::new(169, 254, 0, 0),     16,  "Link Local", false),
    (Ipv4Addr::new(172, 16, 0, 0),      12,  "Private-Use", false),
    (Ipv4Addr::new(192, 0, 0, 0),       24,  "IETF Protocol Assignments", false),
    (Ipv4Addr::new(192, 0, 0, 0),       29,  "IPv4 Service Continuity Prefix", false),
    (Ipv4Addr::new(192, 0, 0, 8),       32,  "IPv4 dummy address", false),
    (Ipv4Addr::new(192, 0, 0, 9),       32,  "Port Control Protocol Anycast", true),
    (Ipv4Addr::new(192, 0, 0, 10),      32,  "Traversal Using Relays around NAT Anycast", true),
    (Ipv4Addr::new(192, 0, 0, 170),     32,  "NAT64/DNS64 Discovery", false),
    (Ipv4Addr::new(192, 0, 0, 171),     32,  "NAT64/DNS64 Discovery", false),
    (Ipv4Addr::new(192, 0, 2, 0),       24,  "Documentation (TEST-NET-1)", false),
    (Ipv4Addr::new(192, 31, 196, 0),    24,  "AS112-v4", true),
    (Ipv4Addr::new(192, 52, 193, 0),    24,  "AMT", true),
    (Ipv4Addr::new(192, 88, 99, 0),     24,  "Deprecated (6to4 Relay Anycast)", false), // N/A
    (Ipv4Addr::new(192, 88, 99, 2),     32,  "6a44-relay anycast address", false),
    (Ipv4Addr::new(192, 168, 0, 0),     16,  "Private-Use", false),
    (Ipv4Addr::new(192, 175, 48, 0),    24,  "Direct Delegation AS112 Service", true),
    (Ipv4Addr::new(198, 18, 0, 0),      15,  "Benchmarking", false),
    (Ipv4Addr::new(198, 51, 100, 0),    24,  "Documentation (TEST-NET-2)", false),
    (Ipv4Addr::new(203, 0, 113, 0),     24,  "Documentation (TEST-NET-3)", false),
    (Ipv4Addr::new(240, 0, 0, 0),       4,   "Reserved", false),
    (Ipv4Addr::new(255, 255, 255, 255), 32,  "Limited Broadcast", false),
    // Not in the registry: multicast (RFC 5771) never reaches a single public host.
    (Ipv4Addr::new(224, 0, 0, 0),       4,   "Multicast", false),
];

/// The IANA IPv6 Special-Purpose Address Registry (as updated 2025), then the deprecated and
/// multicast blocks it does not list. A "Globally Reachable" of N/A is written `false`.
#[rustfmt::skip]
const IPV6: &[Row<Ipv6Addr>] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1),              128, "Loopback Address", false),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),              128, "Unspecified Address", false),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),         96,  "IPv4-mapped Address", false),
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),      96,  "IPv4-IPv6 Translat.", true),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),      48,  "IPv4-IPv6 Translat.", false),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),          64,  "Discard-Only Address Block", false),
    (Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0),          64,  "Dummy IPv6 Prefix", false),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),         23,  "IETF Protocol Assignments", false),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),         32,  "TEREDO", false), // N/A
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 1),         128, "Port Control Protocol Anycast", true),
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 2),         128, "Traversal Using Relays around NAT Anycast", true),
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 3),         128, "DNS-SD Service Registration Protocol Anycast", true),
    (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0),         48,  "Benchmarking", false),
    (Ipv6Addr::new(0x2001, 3, 0, 0, 0, 0, 0, 0),         32,  "AMT", true),
    (Ipv6Addr::new(0x2001, 4, 0x112, 0, 0, 0, 0, 0),     48,  "AS112-v6", true),
    (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0),      28,  "Deprecated (previously ORCHID)", false),
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0),      28,  "ORCHIDv2", true),
    (Ipv6Addr::new(0x2001, 0x30, 0, 0, 0, 0, 0, 0),      28,  "Drone Remote ID Protocol Entity Tags (DETs) Prefix", true),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),     32,  "Documentation", false),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),         16,  "6to4", false), // N/A
    (Ipv6Addr::new(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48,  "Direct Delegation AS112 Service", true),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),         20,  "Documentation", false),
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0),         16,  "Segment Routing (SRv6) SIDs", false),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),         7,   "Unique-Local", false),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),         10,  "Link-Local Unicast", false),
    // Not in the registry: deprecated by RFC 4291 (2.5.5.1) and RFC 3879, and multicast.
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),              96,  "IPv4-compatible Address (deprecated)", false),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),         10,  "Site-Local (deprecated)", false),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0),         8,   "Multicast", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(host: &str) -> Option<Ipv4Addr> {
        match parse_address(host)? {
            IpAddr::V4(ip) => Some(ip),
            IpAddr::V6(_) => None,
        }
    }

    #[test]
    fn every_ipv4_notation_is_an_address() {
        let loopback = Some(Ipv4Addr::LOCALHOST);
        for host in [
            "127.0.0.1",
            "127.1",
            "127.0.1",
            "0x7f000001",
            "0X7F000001",
            "0x7f.0.0.1",
            "0x7f.1",
            "0177.0.0.1",
            "0177.1",
            "00000177.0.0.01",
            "2130706433",
            "017700000001",
            "0x7f.0.0x0.1",
            "127.0.0.1.",
            "0x7f000001.",
        ] {
            assert_eq!(v4(host), loopback, "{host}");
        }
        assert_eq!(v4("0"), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(v4("0x"), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(v4("1.16777215"), Some(Ipv4Addr::new(1, 255, 255, 255)));
        assert_eq!(v4("1.2.65535"), Some(Ipv4Addr::new(1, 2, 255, 255)));
        assert_eq!(v4("4294967295"), Some(Ipv4Addr::BROADCAST));
        assert_eq!(v4("169.254.43518"), Some(Ipv4Addr::new(169, 254, 169, 254)));
    }

    #[test]
    fn what_is_not_an_address() {
        for host in [
            "",
            ".",
            "..",
            "1..2",
            ".1",
            "1.2.3.4.5",
            "256.0.0.1",
            "1.16777216",
            "1.2.65536",
            "1.2.3.256",
            "4294967296",
            "08",
            "0x1g",
            "0xx1",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.2.3.4..",
            "example.com",
            "0x7f000001.com",
            "localhost",
            "[::1",
            "::1]",
            "[127.0.0.1]",
            "[fe80::1%eth0]",
            "::g",
            "\u{661}27.0.0.1",
        ] {
            assert_eq!(parse_address(host), None, "{host:?}");
        }
    }

    #[test]
    fn ipv6_with_or_without_brackets() {
        let one: IpAddr = "::1".parse().unwrap();
        for host in ["[::1]", "::1", "[0:0::1]", "[0000:0:0:0:0:0:0:1]"] {
            assert_eq!(parse_address(host), Some(one), "{host}");
        }
        assert_eq!(
            parse_address("[::ffff:127.0.0.1]"),
            Some("::ffff:7f00:1".parse().unwrap())
        );
    }

    #[test]
    fn numeric_endings() {
        for host in ["1", "a.1", "a.0x1f", "a.0x", "a.09", "1.2.3.256", "a.1."] {
            assert!(ends_in_number(host), "{host}");
        }
        for host in ["a", "a.b1", "1.a", "0x1g", "a.0xg", "a..", "1e5", ""] {
            assert!(!ends_in_number(host), "{host}");
        }
    }

    /// Every registry row, by a sample address inside it: `(address, block or None if global)`.
    const REGISTRY: &[(&str, Option<&str>)] = &[
        ("0.0.0.0", Some("This host on this network")),
        ("0.1.2.3", Some("This network")),
        ("10.0.0.1", Some("Private-Use")),
        ("10.255.255.255", Some("Private-Use")),
        ("100.64.0.1", Some("Shared Address Space")),
        ("100.100.100.200", Some("Shared Address Space")),
        ("100.127.255.255", Some("Shared Address Space")),
        ("127.0.0.1", Some("Loopback")),
        ("127.255.255.254", Some("Loopback")),
        ("169.254.169.254", Some("Link Local")),
        ("172.16.0.1", Some("Private-Use")),
        ("172.31.255.255", Some("Private-Use")),
        ("192.0.0.1", Some("IPv4 Service Continuity Prefix")),
        ("192.0.0.8", Some("IPv4 dummy address")),
        ("192.0.0.9", None),
        ("192.0.0.10", None),
        ("192.0.0.11", Some("IETF Protocol Assignments")),
        ("192.0.0.170", Some("NAT64/DNS64 Discovery")),
        ("192.0.0.171", Some("NAT64/DNS64 Discovery")),
        ("192.0.0.255", Some("IETF Protocol Assignments")),
        ("192.0.2.1", Some("Documentation (TEST-NET-1)")),
        ("192.31.196.1", None),
        ("192.52.193.1", None),
        ("192.88.99.1", Some("Deprecated (6to4 Relay Anycast)")),
        ("192.88.99.2", Some("6a44-relay anycast address")),
        ("192.168.1.1", Some("Private-Use")),
        ("192.175.48.1", None),
        ("198.18.0.1", Some("Benchmarking")),
        ("198.19.255.255", Some("Benchmarking")),
        ("198.51.100.1", Some("Documentation (TEST-NET-2)")),
        ("203.0.113.1", Some("Documentation (TEST-NET-3)")),
        ("224.0.0.1", Some("Multicast")),
        ("239.255.255.250", Some("Multicast")),
        ("240.0.0.1", Some("Reserved")),
        ("255.255.255.254", Some("Reserved")),
        ("255.255.255.255", Some("Limited Broadcast")),
        ("::1", Some("Loopback Address")),
        ("::", Some("Unspecified Address")),
        ("::ffff:8.8.8.8", Some("IPv4-mapped Address")),
        ("::ffff:127.0.0.1", Some("IPv4-mapped Address")),
        ("64:ff9b::808:808", None),
        ("64:ff9b::7f00:1", Some("Loopback")),
        ("64:ff9b::a9fe:a9fe", Some("Link Local")),
        ("64:ff9b::6464:64c8", Some("Shared Address Space")),
        ("64:ff9b:1::808:808", Some("IPv4-IPv6 Translat.")),
        ("100::1", Some("Discard-Only Address Block")),
        ("100:0:0:1::1", Some("Dummy IPv6 Prefix")),
        ("2001::1", Some("TEREDO")),
        ("2001:1::1", None),
        ("2001:1::2", None),
        ("2001:1::3", None),
        ("2001:1::4", Some("IETF Protocol Assignments")),
        ("2001:2::1", Some("Benchmarking")),
        ("2001:3::1", None),
        ("2001:4:112::1", None),
        ("2001:5::1", Some("IETF Protocol Assignments")),
        ("2001:10::1", Some("Deprecated (previously ORCHID)")),
        ("2001:20::1", None),
        ("2001:2f:ffff::1", None),
        ("2001:30::1", None),
        ("2001:3f::1", None),
        ("2001:40::1", Some("IETF Protocol Assignments")),
        ("2001:1ff:ffff::1", Some("IETF Protocol Assignments")),
        ("2001:200::1", None),
        ("2001:db8::1", Some("Documentation")),
        ("2002:808:808::1", Some("6to4")),
        ("2002:7f00:1::1", Some("6to4")),
        ("2620:4f:8000::1", None),
        ("3fff::1", Some("Documentation")),
        ("3fff:fff::1", Some("Documentation")),
        ("3fff:1000::1", None),
        ("5f00::1", Some("Segment Routing (SRv6) SIDs")),
        ("fc00::1", Some("Unique-Local")),
        ("fd00:ec2::254", Some("Unique-Local")),
        ("fe80::1", Some("Link-Local Unicast")),
        ("febf::1", Some("Link-Local Unicast")),
        ("fec0::1", Some("Site-Local (deprecated)")),
        ("::7f00:1", Some("IPv4-compatible Address (deprecated)")),
        ("::808:808", Some("IPv4-compatible Address (deprecated)")),
        ("ff02::1", Some("Multicast")),
        ("ff0e::1", Some("Multicast")),
    ];

    #[test]
    fn registry_rows() {
        for &(ip, block) in REGISTRY {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(non_global_block(ip), block, "{ip}");
            assert_eq!(is_global(ip), block.is_none(), "{ip}");
        }
    }

    #[test]
    fn ordinary_unicast_is_global() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450::1",
            "2001:4860:4860::8888",
            "1::1",
            "2003::1",
            "fbff::1",
            "fe00::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_global(ip), "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_too() {
        for (v6, v4) in [
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::1.2.3.4", "1.2.3.4"),
            ("64:ff9b::102:304", "1.2.3.4"),
            ("2002:102:304::5", "1.2.3.4"),
        ] {
            let v6: Ipv6Addr = v6.parse().unwrap();
            assert_eq!(embedded_ipv4(v6), Some(v4.parse().unwrap()), "{v6}");
        }
        assert_eq!(embedded_ipv4("2606:4700::1".parse().unwrap()), None);
        for v4 in [
            "127.0.0.1",
            "10.1.2.3",
            "100.64.0.1",
            "169.254.169.254",
            "0.0.0.0",
        ] {
            let bits = v4.parse::<Ipv4Addr>().unwrap().to_bits();
            let nat64 = Ipv6Addr::from_bits(0x64_ff9b_u128 << 96 | u128::from(bits));
            assert!(!is_global(IpAddr::V6(nat64)), "{nat64}");
        }
    }
}
