//! Unit and property tests of the known_hosts reader.

use proptest::prelude::*;

use super::*;

const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const B: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

fn key(text: &str) -> PublicKey {
    PublicKey::from_openssh(text).unwrap()
}

fn check_text(text: &str, host: &str, port: u16, key: &PublicKey) -> Verdict {
    KnownHosts::parse(text).verdict(host, port, key)
}

/// `|1|salt|hash` for `name`, as `ssh-keygen -H` writes it.
fn hashed(salt: &[u8], name: &str) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt).unwrap();
    mac.update(name.as_bytes());
    let hash = mac.finalize().into_bytes();
    let enc = |b: &[u8]| data_encoding::BASE64.encode(b);
    format!("|1|{}|{}", enc(salt), enc(&hash))
}

/// Plain names, `[host]:port`, wildcards, case and comments on keys.
#[test]
fn plain_and_port_entries() {
    let text = format!("# comment\nexample.org {A} a comment\n[127.0.0.1]:2222 {B}\n*.LAN {A}\n");
    assert_eq!(check_text(&text, "example.org", 22, &key(A)), Verdict::Known);
    assert_eq!(check_text(&text, "Example.ORG", 22, &key(A)), Verdict::Known);
    assert_eq!(
        check_text(&text, "example.org", 22, &key(B)),
        Verdict::Changed { line: 2 }
    );
    assert_eq!(check_text(&text, "127.0.0.1", 2222, &key(B)), Verdict::Known);
    assert_eq!(check_text(&text, "127.0.0.1", 22, &key(B)), Verdict::Unknown);
    assert_eq!(check_text(&text, "box.lan", 22, &key(A)), Verdict::Known);
}

/// A hashed entry matches its host only.
#[test]
fn hashed_entries() {
    let text = format!("{} {A}\n", hashed(&[7; 20], "[127.0.0.1]:2222"));
    assert_eq!(check_text(&text, "127.0.0.1", 2222, &key(A)), Verdict::Known);
    assert_eq!(
        check_text(&text, "127.0.0.1", 2222, &key(B)),
        Verdict::Changed { line: 1 }
    );
    assert_eq!(check_text(&text, "127.0.0.2", 2222, &key(A)), Verdict::Unknown);
}

/// Negation, @revoked and @cert-authority.
#[test]
fn markers_and_negation() {
    let text = format!("*.lan,!bad.lan {A}\n@revoked * {B}\n@cert-authority *.lan {B}\n");
    assert_eq!(check_text(&text, "good.lan", 22, &key(A)), Verdict::Known);
    assert_eq!(check_text(&text, "bad.lan", 22, &key(A)), Verdict::Unknown);
    assert_eq!(
        check_text(&text, "good.lan", 22, &key(B)),
        Verdict::Revoked { line: 2 }
    );
}

/// Each kind of malformed line is skipped with a warning naming it, and
/// the good line after them still verifies the host.
#[test]
fn malformed_lines_are_named() {
    let salt = data_encoding::BASE64.encode(&[1; 20]);
    let mut text = format!(
        "garbage\nhost.lan ssh-ed25519 notbase64\nhost.lan ssh-nope AAAA\n@bogus host.lan {A}\n\
         |1|{salt}|short== {A}\n|2|{salt}|{salt} {A}\nhost.lan,,other {A}\n!,host.lan {A}\n@revoked\n"
    )
    .into_bytes();
    text.extend_from_slice(b"\xff host.lan\n");
    text.extend_from_slice(format!("host.lan {A}\r\n").as_bytes());
    let parsed = KnownHosts::parse(&text);
    let expected = [
        "line 1: expected host patterns",
        "line 2: invalid public key",
        "line 3: invalid public key",
        "line 4: unknown marker @bogus",
        "line 5: malformed hashed host name",
        "line 6: malformed hashed host name",
        "line 7: empty host pattern",
        "line 8: empty host pattern",
        "line 9: expected host patterns",
        "line 10: not UTF-8 text",
    ];
    assert_eq!(parsed.warnings.len(), expected.len(), "{:?}", parsed.warnings);
    for (warning, start) in parsed.warnings.iter().zip(expected) {
        assert!(
            warning.starts_with(start),
            "{warning:?} should start with {start:?}"
        );
    }
    assert_eq!(parsed.verdict("host.lan", 22, &key(A)), Verdict::Known);
    assert_eq!(
        parsed.verdict("host.lan", 22, &key(B)),
        Verdict::Changed { line: 11 }
    );
}

/// Learning appends a whole line (adding a missing newline first) that
/// the next check finds.
#[test]
fn learn_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/known_hosts");
    learn(&path, "127.0.0.1", 2222, &key(A)).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"# no newline")
        .unwrap();
    learn(&path, "Example.org", 22, &key(B)).unwrap();
    let file = KnownHosts::read(&path).unwrap();
    assert_eq!(file.verdict("127.0.0.1", 2222, &key(A)), Verdict::Known);
    assert_eq!(file.verdict("example.org", 22, &key(B)), Verdict::Known);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        KnownHosts::read(&dir.path().join("missing"))
            .unwrap()
            .warnings
            .is_empty()
    );
}

/// Host names as they come: DNS names, IPv4 and IPv6 addresses.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![Just(22u16), 1..=u16::MAX]
}

proptest! {
    /// No bytes make the reader panic, and every warning names a line
    /// inside the file.
    #[test]
    fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256), text in "\\PC{0,200}") {
        for input in [&bytes[..], text.as_bytes()] {
            let parsed = KnownHosts::parse(input);
            let lines = input.split(|&b| b == b'\n').count();
            for warning in &parsed.warnings {
                let number: usize = warning["line ".len()..].split(':').next().unwrap().parse().unwrap();
                prop_assert!((1..=lines).contains(&number), "{}", warning);
            }
            let _ = parsed.verdict("host", 22, &key(A));
        }
    }

    /// A host is known by a line that lists it among other patterns, and
    /// a negation of it wins over a wildcard.
    #[test]
    fn listed_host_matches(host in host(), port in port(), others in prop::collection::vec(host(), 0..3)) {
        let name = host_name(&host, port);
        let mut patterns: Vec<String> = others.iter().filter(|o| **o != host).map(|o| host_name(o, port)).collect();
        patterns.insert(patterns.len() / 2, name.clone());
        let text = format!("{} {A}\n", patterns.join(","));
        prop_assert_eq!(check_text(&text, &host, port, &key(A)), Verdict::Known);
        prop_assert_eq!(check_text(&text, &host, port, &key(B)), Verdict::Changed { line: 1 });
        let negated = format!("*,!{name} {A}\n");
        prop_assert_eq!(check_text(&negated, &host, port, &key(A)), Verdict::Unknown);
    }

    /// A hashed entry made for a host matches that host and no other.
    #[test]
    fn hashed_matches_only_its_host(salt in any::<[u8; 20]>(), host in host(), other in host(), port in port()) {
        prop_assume!(other != host);
        let text = format!("{} {A}\n", hashed(&salt, &host_name(&host, port)));
        let parsed = KnownHosts::parse(&text);
        prop_assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        prop_assert_eq!(parsed.verdict(&host, port, &key(A)), Verdict::Known);
        prop_assert_eq!(parsed.verdict(&other, port, &key(A)), Verdict::Unknown);
        let other_port = if port == 22 { 2222 } else { 22 };
        prop_assert_eq!(parsed.verdict(&host, other_port, &key(A)), Verdict::Unknown);
    }

    /// A good line after any bad lines still verifies the host.
    #[test]
    fn good_line_survives_bad_lines(bad in prop::collection::vec("[^\n]{0,40}", 0..6), host in host()) {
        let text: String = bad.iter().map(|l| format!("{l}\n")).collect::<String>() + &format!("{host} {A}\n");
        prop_assert_eq!(check_text(&text, &host, 22, &key(A)), Verdict::Known);
    }
}

/// `@cert-authority` lines are found by host pattern (plain, wildcard,
/// hashed), never match as plain keys, and `@revoked` is looked up per host.
#[test]
fn authorities_and_revocations() {
    let salt = [3u8; 20];
    let text = format!(
        "@cert-authority *.test,[*.test]:* {A}\n@cert-authority {} {B}\n@revoked * {B}\n@revoked other.test {A}\n",
        hashed(&salt, "[10.0.0.1]:2222")
    );
    let parsed = KnownHosts::parse(&text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let lines = |host: &str, port: u16| {
        parsed
            .authorities(host, port)
            .map(|(line, _)| line)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines("box.test", 22), vec![1]);
    assert_eq!(lines("box.test", 2200), vec![1]);
    assert_eq!(lines("10.0.0.1", 2222), vec![2]);
    assert_eq!(lines("10.0.0.1", 22), Vec::<usize>::new());
    assert_eq!(parsed.verdict("box.test", 22, &key(A)), Verdict::Unknown);
    assert_eq!(parsed.revoked("anything", 22, &key(B)), Some(3));
    assert_eq!(parsed.revoked("other.test", 22, &key(A)), Some(4));
    assert_eq!(parsed.revoked("box.test", 22, &key(A)), None);
}

proptest! {
    /// `@cert-authority` lines follow the same host-pattern rule as plain
    /// lines: found for a listed host, not for one a `!` pattern excludes.
    #[test]
    fn authority_patterns(host in host(), port in port(), others in prop::collection::vec(host(), 0..3)) {
        let name = host_name(&host, port);
        let mut patterns: Vec<String> = others.iter().filter(|o| **o != host).map(|o| host_name(o, port)).collect();
        patterns.push(name.clone());
        let listed = KnownHosts::parse(format!("@cert-authority {} {A}\n", patterns.join(",")));
        prop_assert_eq!(listed.authorities(&host, port).count(), 1);
        prop_assert_eq!(listed.verdict(&host, port, &key(A)), Verdict::Unknown);
        let negated = KnownHosts::parse(format!("@cert-authority *,!{name} {A}\n"));
        prop_assert_eq!(negated.authorities(&host, port).count(), 0);
    }
}
