//! `sesh exec` against OpenSSH's sshd presenting a host certificate
//! (`HostCertificate`, made by `ssh-keygen -s -h`): trusted through an
//! `@cert-authority` line with no plain entry, refused with its reason when
//! expired, for another name, or revoked, and falling back to the plain key
//! when no CA on file vouches for it.

use std::process::Output;

use crate::support::certs::{Ca, public_line, with_suffix};
use crate::support::exec::sesh_exec;
use crate::support::sshd::Sshd;
use crate::support::{describe, fingerprint_of, run_with_input};

/// An sshd whose host key `host_ca` certified with `ssh-keygen ARGS`.
fn sshd_certified(host_ca: &Ca, args: &'static [&'static str]) -> Sshd {
    Sshd::start_prepared(|_, host_key| {
        let cert = host_ca.sign(host_key, "sshd-host", args);
        format!("HostCertificate {}", cert.display())
    })
}

/// `sesh exec` to `host` with `known_hosts` holding `lines` (and `extra`
/// flags), in its own HOME.
fn exec(sshd: &Sshd, host: &str, lines: &[String], extra: &[&str]) -> Output {
    run(sshd, host, lines, extra).0
}

/// [`exec`], and the known_hosts file as it is afterwards.
fn run(sshd: &Sshd, host: &str, lines: &[String], extra: &[&str]) -> (Output, String) {
    let home = tempfile::tempdir().unwrap();
    let known = home.path().join("known_hosts");
    std::fs::write(&known, lines.join("\n") + "\n").unwrap();
    let mut command = sesh_exec();
    command
        .env("HOME", home.path())
        .arg("-n")
        .arg("-i")
        .arg(sshd.keys.identity());
    command.arg("--known-hosts").arg(&known).args(extra);
    command
        .arg(format!("{host}:{}", sshd.addr.port()))
        .arg("echo trusted");
    let output = run_with_input(command, b"");
    (output, std::fs::read_to_string(&known).unwrap())
}

/// Exit 255 and one stderr line holding `why`.
fn refused(output: &Output, why: &str) {
    assert_eq!(output.status.code(), Some(255), "{}", describe(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(why), "{why:?} in {stderr}");
}

fn host_key_line(sshd: &Sshd) -> String {
    public_line(&sshd.keys.path("sshd_host_key.pub"))
}

/// Trusted through `@cert-authority` alone (and through a pin of the CA's
/// fingerprint); refused for a name that is not a principal, for a revoked
/// CA and for a revoked host key, each with its reason.
#[test]
fn host_certificate_checks() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "host_ca");
    let sshd = sshd_certified(&ca, &["-h", "-n", "127.0.0.1", "-V", "-5m:+1d"]);
    let port = sshd.addr.port();
    let authority = |hosts: &str| format!("@cert-authority {hosts} {}", ca.public_line());
    let trusted = authority(&format!("[127.0.0.1]:{port}"));
    let output = exec(&sshd, "127.0.0.1", std::slice::from_ref(&trusted), &[]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));
    let wildcard = authority("*");
    let output = exec(&sshd, "127.0.0.1", std::slice::from_ref(&wildcard), &[]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));

    let pin = fingerprint_of(&ca.public());
    let output = exec(&sshd, "127.0.0.1", &[], &["--host-key", &pin]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));

    let output = exec(
        &sshd,
        "localhost",
        &[authority(&format!("[localhost]:{port}"))],
        &[],
    );
    refused(
        &output,
        "principal mismatch: localhost is not among its principals (127.0.0.1)",
    );

    let revoked_ca = format!("@revoked * {}", ca.public_line());
    refused(
        &exec(&sshd, "127.0.0.1", &[trusted.clone(), revoked_ca], &[]),
        "its CA SHA256:",
    );
    let output = exec(
        &sshd,
        "127.0.0.1",
        &[trusted.clone(), format!("@revoked * {}", host_key_line(&sshd))],
        &[],
    );
    refused(&output, "is revoked in");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&sshd.fingerprint));
}

/// An expired host certificate is refused with its end date, even with a
/// CA line that trusts it, and `--accept-new` does not learn its key; a
/// plain entry for its key still admits it, as ssh falls back to it.
#[test]
fn expired_host_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "host_ca");
    let sshd = sshd_certified(&ca, &["-h", "-n", "127.0.0.1", "-V", "20200101:20200102"]);
    let trusted = format!("@cert-authority * {}", ca.public_line());
    refused(
        &exec(&sshd, "127.0.0.1", std::slice::from_ref(&trusted), &[]),
        "expired at 2020-01-02 00:00:00 UTC",
    );
    // --accept-new never learns the key of a certificate its CA line refused.
    let (output, after) = run(
        &sshd,
        "127.0.0.1",
        std::slice::from_ref(&trusted),
        &["--accept-new"],
    );
    refused(&output, "expired at");
    assert_eq!(after, format!("{trusted}\n"));
    let plain = format!("[127.0.0.1]:{} {}", sshd.addr.port(), host_key_line(&sshd));
    let output = exec(&sshd, "127.0.0.1", &[trusted, plain], &[]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));
}

/// A certificate from a CA nobody trusts falls back to the plain key: a
/// plain known_hosts entry (or a pin of the host key) admits it,
/// `--accept-new` learns the plain key, nothing refuses it naming the
/// untrusted CA.
#[test]
fn untrusted_certificate_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "host_ca");
    let other = Ca::new(dir.path(), "other_ca");
    let sshd = sshd_certified(&ca, &["-h", "-n", "127.0.0.1"]);
    let others = format!("@cert-authority * {}", other.public_line());
    let plain = format!("[127.0.0.1]:{} {}", sshd.addr.port(), host_key_line(&sshd));
    let output = exec(&sshd, "127.0.0.1", &[others.clone(), plain], &[]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));
    let output = exec(&sshd, "127.0.0.1", &[], &["--host-key", &sshd.fingerprint]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));
    // --accept-new learns the plain host key, never the certificate.
    let (output, after) = run(&sshd, "127.0.0.1", &[], &["--accept-new"]);
    assert_eq!(output.stdout, b"trusted\n", "{}", describe(&output));
    let learnt = format!("[127.0.0.1]:{} {}", sshd.addr.port(), host_key_line(&sshd));
    assert!(after.contains(&learnt) && !after.contains("cert"), "{after}");
    let why = format!("untrusted CA {}", fingerprint_of(&ca.public()));
    refused(&exec(&sshd, "127.0.0.1", &[others], &[]), &why);
    assert!(with_suffix(&sshd.keys.path("sshd_host_key"), "-cert.pub").exists());
}
