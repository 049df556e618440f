//! `sesh exec` against OpenSSH's sshd, started by the test on a free
//! loopback port with its own config and keys.

use crate::exec_common as common;
use crate::support::exec::Remote;
use crate::support::sshd::Sshd;

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

/// known_hosts, wrong key, agent, encrypted key without a terminal.
#[test]
fn sshd_trust_and_auth() {
    with_sshd(&[
        common::known_hosts_flow,
        common::wrong_key_refused,
        common::agent_authentication,
        common::encrypted_key_without_terminal,
        common::rsa_identity,
    ]);
}
