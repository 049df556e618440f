//! Which peer addresses a login may come from: `from=` in
//! `authorized_keys` (wildcards, CIDR blocks, `!` negation) and a user
//! certificate's `source-address` critical option (addresses and CIDR
//! blocks only, as sshd reads it). sesh does no reverse DNS, like sshd's
//! `UseDNS no`.

use std::net::IpAddr;

/// `from=` semantics: a negated match (`!pattern`) refuses, otherwise any
/// match admits. Patterns are wildcards or CIDR blocks, matched against the
/// peer's address (sesh does no reverse DNS, like sshd's `UseDNS no`).
pub fn from_allows(patterns: &[String], peer: IpAddr) -> bool {
    let peer = canonical(peer);
    let text = peer.to_string();
    crate::pattern::list_matches(patterns.iter().map(String::as_str), |pattern| {
        match pattern.split_once('/') {
            Some((net, bits)) => cidr_contains(net, bits, peer),
            None => crate::pattern::matches(pattern, &text),
        }
    })
}

/// IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) are matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn cidr_contains(net: &str, bits: &str, peer: IpAddr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (canonical(net), peer) {
        (IpAddr::V4(n), IpAddr::V4(p)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(p) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(p)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(p) & mask
        }
        _ => false,
    }
}

/// A certificate's `source-address` (comma-separated addresses and CIDR
/// blocks): whether `peer` is inside it. An entry that is neither makes
/// the whole option unreadable, which refuses the login (fail closed).
pub fn source_address_allows(list: &str, peer: IpAddr) -> Result<bool, String> {
    let peer = canonical(peer);
    let mut inside = false;
    for entry in list.split(',') {
        let (net, bits) = entry.split_once('/').unwrap_or((entry, ""));
        let Ok(address) = net.parse::<IpAddr>() else {
            return Err(format!(
                "source-address entry {entry:?} is not an address or CIDR block"
            ));
        };
        let bits = match bits {
            "" if address.is_ipv4() => "32",
            "" => "128",
            bits => bits,
        };
        let valid = bits
            .parse::<u32>()
            .is_ok_and(|b| b <= if address.is_ipv4() { 32 } else { 128 });
        if !valid {
            return Err(format!("source-address entry {entry:?} has a bad prefix length"));
        }
        inside |= cidr_contains(net, bits, peer);
    }
    Ok(inside)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `from=`: wildcards, CIDR, negation, IPv4-mapped peers.
    #[test]
    fn from_patterns() {
        let p = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(from_allows(&p(&["127.0.0.1"]), lo));
        assert!(from_allows(&p(&["127.*"]), lo));
        assert!(from_allows(&p(&["127.0.0.0/8"]), lo));
        assert!(!from_allows(&p(&["10.0.0.0/8"]), lo));
        assert!(!from_allows(&p(&["127.*", "!127.0.0.1"]), lo));
        assert!(from_allows(
            &p(&["127.0.0.1"]),
            "::ffff:127.0.0.1".parse().unwrap()
        ));
        assert!(from_allows(&p(&["::1/128"]), "::1".parse().unwrap()));
        assert!(!from_allows(&p(&["0.0.0.0/33", "x/8"]), lo));
        assert!(!from_allows(&p(&[]), lo));
    }

    /// `source-address`: addresses, CIDR blocks, bad entries refuse.
    #[test]
    fn source_addresses() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(source_address_allows("127.0.0.1", lo), Ok(true));
        assert_eq!(source_address_allows("10.9.9.9/32,127.0.0.0/8", lo), Ok(true));
        assert_eq!(source_address_allows("10.9.9.9/32", lo), Ok(false));
        assert_eq!(source_address_allows("::1", "::1".parse().unwrap()), Ok(true));
        for bad in ["", "127.*", "127.0.0.1/33", "host.example", "10.0.0.0/x"] {
            assert!(source_address_allows(bad, lo).is_err(), "{bad}");
        }
    }

    proptest! {
        /// `from=` with any patterns and any peer never panics.
        #[test]
        fn from_never_panics(patterns in prop::collection::vec("\\PC{0,20}", 0..4), ip in any::<std::net::IpAddr>()) {
            let _ = from_allows(&patterns, ip);
        }

        /// `source-address` with any text and any peer never panics.
        #[test]
        fn source_address_never_panics(list in "\\PC{0,30}", ip in any::<std::net::IpAddr>()) {
            let _ = source_address_allows(&list, ip);
        }
    }
}
