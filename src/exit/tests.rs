//! The exit-code contract, pinned: codes, lines and records.

use super::*;

fn killed(name: &str, core_dumped: bool) -> Ending {
    Ending::Killed {
        name: name.into(),
        core_dumped,
        message: String::new(),
    }
}

/// Every row of the contract maps to its code.
#[test]
fn codes() {
    assert_eq!(Ending::Exited(0).code(), 0);
    assert_eq!(Ending::Exited(44).code(), 44);
    assert_eq!(Ending::Exited(300).code(), 255);
    assert_eq!(killed("TERM", false).code(), 143);
    assert_eq!(killed("KILL", false).code(), 137);
    assert_eq!(killed("SEGV", true).code(), 139);
    assert_eq!(killed("SYS@linux", false).code(), 128 + libc::SIGSYS as u8);
    assert_eq!(killed("SIG@openssh.com", false).code(), 255);
    assert_eq!(Ending::NoStatus.code(), 255);
    assert_eq!(Ending::Failed("x".into()).code(), 255);
    assert_eq!(Ending::TimedOut(Duration::from_secs(1)).code(), 124);
    assert_eq!(Ending::Interrupted(libc::SIGINT).code(), 130);
    assert_eq!(Ending::Interrupted(libc::SIGTERM).code(), 143);
    assert_eq!(Ending::NotStarted(libc::SIGINT).code(), 130);
    assert_eq!(
        Ending::NotStarted(libc::SIGUSR1).code(),
        128 + libc::SIGUSR1 as u8
    );
    let refused = |signo, timeout| Ending::SignalRefused {
        signo,
        answered: true,
        timeout,
    };
    assert_eq!(refused(libc::SIGTERM, None).code(), 143);
    assert_eq!(refused(libc::SIGINT, None).code(), 130);
    assert_eq!(refused(libc::SIGHUP, None).code(), 129);
    assert_eq!(refused(libc::SIGQUIT, None).code(), 131);
    assert_eq!(refused(libc::SIGTERM, Some(Duration::from_secs(2))).code(), 124);
    assert_eq!(Ending::BrokenPipe.code(), 141);
}

/// The stderr lines are the contract's words.
#[test]
fn messages() {
    assert_eq!(Ending::Exited(3).message(false), None);
    assert_eq!(
        Ending::Exited(3).message(true).unwrap(),
        "remote command exited with status 3"
    );
    assert_eq!(
        killed("SEGV", true).message(false).unwrap(),
        "remote command killed by signal SEGV (core dumped)"
    );
    let with_message = Ending::Killed {
        name: "TERM".into(),
        core_dumped: false,
        message: "bye".into(),
    };
    assert_eq!(
        with_message.message(false).unwrap(),
        "remote command killed by signal TERM: bye"
    );
    assert_eq!(
        Ending::NotStarted(libc::SIGTERM).message(false).unwrap(),
        "signal TERM before the remote command started; it was not run"
    );
    assert_eq!(
        Ending::NoStatus.message(false).unwrap(),
        "remote command ended without an exit status"
    );
    assert_eq!(
        Ending::TimedOut(Duration::from_secs(3)).message(false).unwrap(),
        "timed out after 3s"
    );
    let refused = Ending::SignalRefused {
        signo: libc::SIGTERM,
        answered: true,
        timeout: None,
    };
    assert_eq!(
        refused.message(false).unwrap(),
        "the server refused signal TERM; session closed, the remote command may still be running"
    );
    let silent = Ending::SignalRefused {
        signo: libc::SIGINT,
        answered: false,
        timeout: Some(Duration::from_secs(2)),
    };
    assert_eq!(
        silent.message(false).unwrap(),
        "timed out after 2s: the server did not answer signal INT; session closed, \
         the remote command may still be running"
    );
}

/// A refused signal has its own outcome, never `killed`; under
/// `--timeout` it stays `timed-out`, naming the refused signal.
#[test]
fn records_of_refused_signals() {
    let refused = |timeout| Ending::SignalRefused {
        signo: libc::SIGTERM,
        answered: true,
        timeout,
    };
    let local = serde_json::to_value(refused(None).record("h", Duration::ZERO)).unwrap();
    assert_eq!(local["outcome"], "signal-refused");
    assert_eq!(local["refused_signal"], "TERM");
    assert_eq!(local["exit_code"], 143);
    assert!(local.get("signal").is_none());
    let timed =
        serde_json::to_value(refused(Some(Duration::from_secs(1))).record("h", Duration::ZERO)).unwrap();
    assert_eq!(timed["outcome"], "timed-out");
    assert_eq!(timed["refused_signal"], "TERM");
    assert_eq!(timed["exit_code"], 124);
}

/// A remote `exit 143` and a remote SIGTERM share a code but not a record.
#[test]
fn records_tell_status_from_signal() {
    let status = serde_json::to_value(Ending::Exited(143).record("h", Duration::ZERO)).unwrap();
    let signal = serde_json::to_value(killed("TERM", false).record("h", Duration::ZERO)).unwrap();
    assert_eq!(status["exit_code"], signal["exit_code"]);
    assert_eq!(status["outcome"], "exited");
    assert_eq!(status["exit_status"], 143);
    assert_eq!(signal["outcome"], "killed");
    assert_eq!(signal["signal"], "TERM");
    assert!(signal.get("exit_status").is_none());
}

/// A command never started because of a signal says so: scripts can tell
/// it from one that ran and was interrupted.
#[test]
fn record_of_a_command_never_started() {
    let record = serde_json::to_value(Ending::NotStarted(libc::SIGINT).record("h", Duration::ZERO)).unwrap();
    assert_eq!(record["outcome"], "not-started");
    assert_eq!(record["exit_code"], 130);
    assert!(record.get("signal").is_none() && record.get("exit_status").is_none());
}
