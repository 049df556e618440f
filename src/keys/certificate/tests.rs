use proptest::prelude::*;
use russh::keys::ssh_key::certificate::{Builder, CertType};
use russh::keys::{Certificate, PrivateKey};

use super::*;

fn key() -> PrivateKey {
    crate::keys::generate_ed25519().unwrap()
}

/// A certificate for a fresh key, signed by `ca`.
fn cert(
    ca: &PrivateKey,
    kind: CertType,
    principals: &[&str],
    window: (u64, u64),
    critical: &[(&str, &str)],
) -> Certificate {
    let subject = key();
    let mut builder = Builder::new(
        [7u8; 16],
        subject.public_key().key_data().clone(),
        window.0,
        window.1,
    )
    .unwrap();
    builder
        .serial(42)
        .unwrap()
        .key_id("alice@test")
        .unwrap()
        .cert_type(kind)
        .unwrap();
    for principal in principals {
        builder.valid_principal(*principal).unwrap();
    }
    if principals.is_empty() {
        builder.all_principals_valid().unwrap();
    }
    for (name, value) in critical {
        builder.critical_option(*name, *value).unwrap();
    }
    builder.sign(ca).unwrap()
}

const NOW: u64 = 1_700_000_000;
const OPEN: (u64, u64) = (NOW - 60, NOW + 3600);

fn at<'a>(kind: CertType, principals: Principals<'a>) -> Expected<'a> {
    Expected {
        kind,
        principals,
        now: NOW,
    }
}

/// A good user and host certificate pass, and `signed_by` names the CA.
#[test]
fn good_certificates_pass() {
    let ca = key();
    let user = cert(
        &ca,
        CertType::User,
        &["alice"],
        OPEN,
        &[("force-command", "true")],
    );
    assert_eq!(
        check(&user, &at(CertType::User, Principals::Name("alice"))),
        Ok(())
    );
    assert!(signed_by(&user, ca.public_key()));
    assert!(!signed_by(&user, key().public_key()));
    let host = cert(&ca, CertType::Host, &["box.test"], OPEN, &[]);
    assert_eq!(
        check(&host, &at(CertType::Host, Principals::Name("box.test"))),
        Ok(())
    );
    assert!(describe(&user).starts_with("ID \"alice@test\" serial 42 CA SHA256:"));
}

/// Each failed check is refused with its own reason.
#[test]
fn each_reason_named() {
    let ca = key();
    let alice = Principals::Name("alice");
    let cases = [
        (
            cert(&ca, CertType::User, &["alice"], (0, NOW - 1), &[]),
            CertType::User,
            "expired at 2023-11-14 22:13:19 UTC",
        ),
        (
            cert(&ca, CertType::User, &["alice"], (NOW + 10, u64::MAX), &[]),
            CertType::User,
            "not valid before 2023-11-14 22:13:30 UTC",
        ),
        (
            cert(&ca, CertType::User, &["bob"], OPEN, &[]),
            CertType::User,
            "principal mismatch: alice is not among its principals (bob)",
        ),
        (
            cert(&ca, CertType::User, &[], OPEN, &[]),
            CertType::User,
            "it lists no principals",
        ),
        (
            cert(&ca, CertType::Host, &["alice"], OPEN, &[]),
            CertType::User,
            "it is a host certificate, not a user certificate",
        ),
        (
            cert(&ca, CertType::User, &["alice"], OPEN, &[]),
            CertType::Host,
            "it is a user certificate, not a host certificate",
        ),
        (
            cert(&ca, CertType::User, &["alice"], OPEN, &[("verify-required", "")]),
            CertType::User,
            "unsupported critical option verify-required",
        ),
        (
            cert(&ca, CertType::Host, &["alice"], OPEN, &[("force-command", "x")]),
            CertType::Host,
            "unsupported critical option force-command",
        ),
    ];
    for (cert, kind, why) in cases {
        assert_eq!(check(&cert, &at(kind, alice)), Err(why.to_string()));
    }
}

/// `always:forever` certificates are valid at any time; an empty host
/// principal list admits every host name.
#[test]
fn open_ended() {
    let ca = key();
    let host = cert(&ca, CertType::Host, &[], (0, u64::MAX), &[]);
    for now in [0, NOW, u64::MAX - 1] {
        let expected = Expected {
            kind: CertType::Host,
            principals: Principals::Name("any"),
            now,
        };
        assert_eq!(check(&host, &expected), Ok(()));
    }
    assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc(u64::MAX), "forever");
}

proptest! {
    /// A name is a principal exactly when it is listed verbatim: patterns
    /// in a certificate (`*.test`) never match other names, as OpenSSH 9.2
    /// refuses them.
    #[test]
    fn name_rule(listed in prop::collection::vec("[a*?.]{1,4}", 1..5), name in "[a*?.]{1,4}") {
        let got = principals_ok(&listed, CertType::User, Principals::Name(&name)).is_ok();
        prop_assert_eq!(got, listed.contains(&name));
        let host = principals_ok(&listed, CertType::Host, Principals::Name(&name)).is_ok();
        prop_assert_eq!(host, got);
    }

    /// `principals=` admits when the lists share a name, and never an
    /// empty certificate list.
    #[test]
    fn any_of_rule(listed in prop::collection::vec("[ab]{1,2}", 0..4), wanted in prop::collection::vec("[ab]{1,2}", 0..4)) {
        let got = principals_ok(&listed, CertType::User, Principals::AnyOf(&wanted)).is_ok();
        prop_assert_eq!(got, listed.iter().any(|p| wanted.contains(p)));
    }

    /// Dates round-trip through the calendar: the day after is one day on.
    #[test]
    fn utc_is_monotonic(secs in 0u64..253_402_300_799) {
        let (a, b) = (utc(secs), utc(secs + 86_400));
        prop_assert!(a < b, "{} !< {}", a, b);
        prop_assert_eq!(a.len(), "1970-01-01 00:00:00 UTC".len());
    }
}
