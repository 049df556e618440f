//! `sesh exec` against OpenSSH's sshd, started by the test on a free
//! loopback port with its own config and keys.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::exec_common as common;
use crate::support::exec::Remote;
use crate::support::sshd::Sshd;
use crate::support::{describe, send_signal, wait_with_deadline};

/// One sshd for a group of checks (each check is independent of the others).
fn with_sshd(checks: &[fn(&Remote)]) {
    let sshd = Sshd::start();
    let remote = Remote::of_sshd(&sshd);
    for check in checks {
        check(&remote);
    }
}

/// Exit statuses, exit signals (TERM, KILL, SEGV with core) and the JSON
/// record, as sshd reports them.
#[test]
fn sshd_endings() {
    with_sshd(&[common::exit_statuses, common::exit_signals, common::status_json]);
}

/// stdin through cat, stream separation, trailing output, `| head -1`.
#[test]
fn sshd_streams() {
    with_sshd(&[
        common::stdin_through_cat,
        common::separation_and_trailing_output,
        common::broken_pipe_ends_promptly,
    ]);
}

/// known_hosts, wrong key, the next key after a refused one, agent,
/// encrypted key without a terminal.
#[test]
fn sshd_trust_and_auth() {
    with_sshd(&[
        common::known_hosts_flow,
        common::wrong_key_refused,
        common::refused_key_then_next,
        common::agent_authentication,
        common::encrypted_key_without_terminal,
        common::rsa_identity,
    ]);
}

/// Whether this test runs as root: Debian's sshd refuses `signal` requests
/// for root logins, which is what the refusal tests need (CI runs as root).
fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

const REFUSED_TAIL: &str = "; session closed, the remote command may still be running";

/// SIGTERM and SIGINT to `sesh exec` end it within seconds even when sshd
/// refuses to forward them (root login): 143/130, the refusal line, the
/// `signal-refused` record. As another user sshd delivers them: the remote
/// `sleep` dies of the signal, same codes.
#[test]
fn sshd_refused_signals_still_stop_sesh() {
    let sshd = Sshd::start();
    let remote = Remote::of_sshd(&sshd);
    let dir = tempfile::tempdir().unwrap();
    let status_path = dir.path().join("status.json");
    for (signo, name, code) in [(libc::SIGTERM, "TERM", 143), (libc::SIGINT, "INT", 130)] {
        let mut command = remote.command(&["-n", "--status-json", status_path.to_str().unwrap()]);
        command
            .arg("echo $$; exec sleep 444")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let remote_pid: i32 = line.trim().parse().unwrap_or_else(|_| panic!("no pid: {line:?}"));
        let sent = Instant::now();
        send_signal(child.id() as i32, signo);
        let status = wait_with_deadline(&mut child, Duration::from_secs(20));
        let took = sent.elapsed();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        // sshd leaves a refused command running: clean up after it.
        send_signal(remote_pid, libc::SIGKILL);
        let status = status.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("{name}: sesh exec still running 20 s after the signal")
        });
        assert_eq!(status.code(), Some(code), "{name}: {stderr}");
        // The contract says 2 s; the limit leaves room for a loaded machine.
        assert!(took < Duration::from_secs(5), "{name}: took {took:?}");
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&status_path).unwrap()).unwrap();
        if root() {
            assert_eq!(
                stderr,
                format!("sesh: the server refused signal {name}{REFUSED_TAIL}\n")
            );
            assert_eq!(
                (record["outcome"].as_str(), record["refused_signal"].as_str()),
                (Some("signal-refused"), Some(name))
            );
        } else {
            assert_eq!(stderr, format!("sesh: remote command killed by signal {name}\n"));
            assert_eq!(record["outcome"], "killed");
        }
    }
}

/// `--timeout 2s` on `sleep 60` returns 124 in about 2 s: a TERM sshd
/// refuses closes the session at once, without waiting for `--kill-after`.
#[test]
fn sshd_timeout_with_refused_term() {
    let sshd = Sshd::start();
    let remote = Remote::of_sshd(&sshd);
    let begun = Instant::now();
    let output = remote.exec(
        &["-n", "--timeout", "2s", "--kill-after", "30s"],
        "echo $$; exec sleep 60",
        b"",
    );
    let took = begun.elapsed();
    if let Ok(pid) = String::from_utf8_lossy(&output.stdout).trim().parse::<i32>() {
        send_signal(pid, libc::SIGKILL);
    }
    assert_eq!(output.status.code(), Some(124), "{}", describe(&output));
    // About 3 s (2 s of timeout, then sshd's refusal): generous for load.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let expected = if root() {
        format!("sesh: timed out after 2s: the server refused signal TERM{REFUSED_TAIL}\n")
    } else {
        "sesh: timed out after 2s\n".to_string()
    };
    assert_eq!(String::from_utf8_lossy(&output.stderr), expected);
}
