//! `sesh test`: against its own embedded server every check passes; against
//! OpenSSH's sshd it completes and names sshd's known differences.

use std::process::Command;

use crate::support::describe;
use crate::support::sshd::Sshd;

fn sesh_test() -> Command {
    crate::support::sesh("test")
}

fn verdicts(report: &serde_json::Value) -> Vec<(String, String)> {
    report["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| {
            (
                o["check"].as_str().unwrap().to_string(),
                o["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// With no target, every check passes against the embedded sesh serve, and
/// the table says so.
#[test]
fn embedded_server_passes_every_check() {
    let output = sesh_test().output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        text.contains("21 passed, 0 failed, 0 differ, 0 skipped"),
        "{text}"
    );
}

/// Against sshd the run completes (no crash, no hang), nothing fails, and
/// sshd's known differences are reported as such.
#[test]
fn sshd_differences_are_reported() {
    let sshd = Sshd::start();
    let mut command = sesh_test();
    command.arg("--json").arg("-i").arg(sshd.keys.identity());
    command
        .args(["--host-key", &sshd.fingerprint])
        .arg(format!("127.0.0.1:{}", sshd.addr.port()));
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    let verdicts = verdicts(&report);
    assert_eq!(verdicts.len(), 21);
    let differing: Vec<&str> = verdicts
        .iter()
        .filter(|(_, v)| v == "differs")
        .map(|(c, _)| c.as_str())
        .collect();
    // Root logins: sshd names SIGSYS "SIG@openssh.com", refuses signal
    // requests without privilege separation, and leaves non-pty commands
    // running when the client goes. Depending on timing it may also send
    // exit-status before EOF ("order", and with output queued behind a
    // small window, "small-window"), which loses nothing.
    for known in ["signal-names", "signal-request", "hangup"] {
        assert!(differing.contains(&known), "{known} should differ: {verdicts:?}");
    }
    let allowed = [
        "signal-names",
        "signal-request",
        "hangup",
        "order",
        "small-window",
    ];
    assert!(differing.iter().all(|c| allowed.contains(c)), "{verdicts:?}");
    assert!(
        verdicts.iter().all(|(_, v)| v == "pass" || v == "differs"),
        "{verdicts:?}"
    );
}

/// `--only` runs just the named checks; an unknown name is one line and 255.
#[test]
fn only_selects_checks() {
    let output = sesh_test()
        .args(["--only", "keepalive,exit-status", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<String> = verdicts(&report).into_iter().map(|(c, _)| c).collect();
    assert_eq!(names, ["exit-status", "keepalive"]);

    let output = sesh_test().args(["--only", "nope"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(255));
    assert!(
        text.starts_with("sesh: unknown check \"nope\"") && text.lines().count() == 1,
        "{text}"
    );
}

/// A target nothing listens on: 255 and one line.
#[test]
fn unreachable_target() {
    let port = crate::support::sshd::free_port();
    let output = sesh_test().arg(format!("127.0.0.1:{port}")).output().unwrap();
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&output.stderr).lines().count(), 1);
}
