//! `sesh exec` with a known_hosts file that has malformed lines, against
//! `sesh serve`: each bad line is skipped with a warning naming the file
//! and line, once, and the good line after them still verifies the host.

use crate::exec_config::serve_with_host_key;
use crate::support::exec::sesh_exec;
use crate::support::{describe, run_with_input};

/// Malformed lines and patterns: garbage, a bad key, an unknown marker, a
/// broken hashed name, an empty pattern, bytes that are not UTF-8. The host
/// is verified by the last line; with two sessions (fan-out) each warning
/// still appears once.
#[test]
fn malformed_lines_skipped() {
    let (server, key) = serve_with_host_key();
    let name = format!("[127.0.0.1]:{}", server.port());
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let mut text = format!(
        "garbage\n{name} ssh-ed25519 notbase64\n@bogus {name} {key}\n|1|c2FsdA==|aGFzaA== {key}\n{name},,x {key}\n"
    )
    .into_bytes();
    text.extend_from_slice(b"\xff\xfe\n");
    text.extend_from_slice(format!("{name} {key}\n").as_bytes());
    std::fs::write(&known_hosts, text).unwrap();
    let target = format!("127.0.0.1:{}", server.port());
    for hosts in [&["-H", &target, "-H", &target, "--no-prefix"][..], &[&target]] {
        let mut command = sesh_exec();
        command.arg("-n").arg("-i").arg(server.keys.identity());
        command.arg("--known-hosts").arg(&known_hosts).args(hosts);
        command.args(["--", "echo in"]);
        let output = run_with_input(command, b"");
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        for (line, why) in [
            (1, "expected host patterns, a key type and a key"),
            (2, "invalid public key"),
            (3, "unknown marker @bogus"),
            (4, "malformed hashed host name"),
            (5, "empty host pattern"),
            (6, "not UTF-8 text"),
        ] {
            let expected = format!("{}: line {line}: {why}", known_hosts.display());
            assert_eq!(stderr.matches(&expected).count(), 1, "{expected} once:\n{stderr}");
        }
        assert!(!stderr.contains("line 7"), "{stderr}");
    }
}
