//! `sesh exec` against `sesh serve`: everything it does against sshd, plus
//! what sshd cannot show (signal forwarding, --timeout, hang-up).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::exec_common as common;
use crate::support::exec::{Remote, sesh_exec};
use crate::support::relay::Relay;
use crate::support::{
    Server, alive, describe, gone, run_with_input, send_signal, wait_for, wait_with_deadline,
};

/// Starts `sesh exec <extra> TARGET -- command` and reads its first line.
fn spawn_first_line(remote: &Remote, extra: &[&str], command: &str) -> (std::process::Child, String) {
    let mut exec = remote.command(extra);
    exec.arg(command).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = exec.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

fn with_serve(checks: &[fn(&Remote)]) {
    let server = Server::start(&[]);
    let remote = Remote::of_serve(&server);
    for check in checks {
        check(&remote);
    }
}

/// Exit statuses, exit signals and the JSON record.
#[test]
fn serve_endings() {
    with_serve(&[common::exit_statuses, common::exit_signals, common::status_json]);
}

/// stdin through cat, stream separation, trailing output, `| head -1`.
#[test]
fn serve_streams() {
    with_serve(&[
        common::stdin_through_cat,
        common::separation_and_trailing_output,
        common::broken_pipe_ends_promptly,
    ]);
}

/// known_hosts, wrong key, the next key after a refused one, agent,
/// encrypted key without a terminal.
#[test]
fn serve_trust_and_auth() {
    with_serve(&[
        common::known_hosts_flow,
        common::wrong_key_refused,
        common::refused_key_then_next,
        common::agent_authentication,
        common::encrypted_key_without_terminal,
        common::rsa_identity,
    ]);
}

/// A non-RFC signal name maps to its local number (SYS@linux -> 128+31).
#[test]
fn platform_signal_names() {
    with_serve(&[|remote| {
        let output = remote.exec(&["-n"], "exec perl -e 'kill q(SYS), $$; sleep 5'", b"");
        assert_eq!(
            output.status.code(),
            Some(128 + libc::SIGSYS),
            "{}",
            describe(&output)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "sesh: remote command killed by signal SYS@linux\n"
        );
    }]);
}

/// Local signals are forwarded to a server that honours them (sesh serve
/// replies to each): the remote trap runs and its exit code comes back.
#[test]
fn local_signals_are_forwarded() {
    let server = Server::start(&[]);
    let remote = Remote::of_serve(&server);
    for (signo, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGINT, "INT"),
        (libc::SIGHUP, "HUP"),
        (libc::SIGQUIT, "QUIT"),
    ] {
        let mut command = remote.command(&["-n"]);
        command
            .arg(format!(
                "trap 'echo trapped-{name}; exit 42' {name}; echo ready; while :; do sleep 0.1; done"
            ))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        send_signal(child.id() as i32, signo);
        line.clear();
        stdout.read_line(&mut line).unwrap();
        let status = wait_with_deadline(&mut child, Duration::from_secs(20)).expect("sesh exec ended");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(line, format!("trapped-{name}\n"));
        assert_eq!(status.code(), Some(42), "{name}: {stderr}");
        // The remote shell may report its `sleep` (`Terminated`); sesh
        // itself says nothing: no refusal, no warning.
        assert!(!stderr.contains("sesh:"), "{name}: {stderr}");
    }
}

/// A signal while sesh still connects (a 200 ms-each-way relay makes the
/// login take over a second) ends it at once with 128+N and its line, and
/// the command is never started: no session on the server, no marker, a
/// `not-started` record.
#[test]
fn a_signal_while_connecting_starts_nothing() {
    let server = Server::start_sh(&[]);
    let relay = Relay::start(server.port(), Duration::from_millis(200), false).unwrap();
    let mut remote = Remote::of_serve(&server);
    remote.target = format!("127.0.0.1:{}", relay.port);
    let dir = tempfile::tempdir().unwrap();
    let (marker, record) = (dir.path().join("ran"), dir.path().join("status.json"));
    let mut command = remote.command(&["-n", "--status-json", record.to_str().unwrap()]);
    command
        .arg(format!("touch {}; sleep 20", marker.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    send_signal(child.id() as i32, libc::SIGTERM);
    let status = wait_with_deadline(&mut child, Duration::from_secs(10)).expect("sesh exec ended");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert_eq!(
        stderr,
        "sesh: signal TERM before the remote command started; it was not run\n"
    );
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(record["outcome"], "not-started", "{record}");
    // Long enough for a command that had been started to have run.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!marker.exists(), "the command ran");
    assert!(!server.log().contains("session started"), "{}", server.log());
}

/// A second SIGINT or SIGTERM hangs up: exit 130 or 143 with the line,
/// and the remote command (which ignores both) is gone.
#[test]
fn second_interrupt_hangs_up() {
    let server = Server::start(&["--hangup-grace", "1s"]);
    let remote = Remote::of_serve(&server);
    for (signo, code, line) in [
        (libc::SIGINT, 130, "sesh: interrupted: session hung up\n"),
        (libc::SIGTERM, 143, "sesh: terminated: session hung up\n"),
    ] {
        let (mut child, first) = spawn_first_line(
            &remote,
            &["-n"],
            "trap '' INT TERM; echo $$; while :; do sleep 0.1; done",
        );
        let pid: i32 = first.trim().parse().unwrap();
        send_signal(child.id() as i32, signo);
        std::thread::sleep(Duration::from_millis(300));
        assert!(alive(pid), "the first signal is only forwarded");
        send_signal(child.id() as i32, signo);
        let status = wait_with_deadline(&mut child, Duration::from_secs(20)).expect("sesh exec ended");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(code), "{stderr}");
        assert_eq!(stderr, line);
        assert!(
            wait_for(Duration::from_secs(10), || gone(pid)),
            "remote pid {pid} left behind"
        );
    }
}

/// `--timeout`: a remote `sleep 60` ends, exit 124 with the line, and no
/// remote process is left, even one that ignores TERM.
#[test]
fn timeout_stops_remote_work() {
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    for command in [
        "echo $$; exec sleep 60",
        "trap '' TERM; echo $$; while :; do sleep 0.1; done",
    ] {
        let output = remote.exec(&["-n", "--timeout", "1s", "--kill-after", "1s"], command, b"");
        assert_eq!(output.status.code(), Some(124), "{}", describe(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "sesh: timed out after 1s\n"
        );
        let pid: i32 = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap();
        assert!(
            wait_for(Duration::from_secs(10), || gone(pid)),
            "remote pid {pid} left behind"
        );
    }
}

/// Connection refused and an unresolvable host: 255, one line each.
#[test]
fn unreachable_hosts() {
    let port = crate::support::sshd::free_port();
    for target in [format!("127.0.0.1:{port}"), "no-such-host.invalid".to_string()] {
        let mut command = sesh_exec();
        command
            .args(["-n", "--connect-timeout", "10s"])
            .arg(&target)
            .arg("true");
        let output = run_with_input(command, b"");
        let text = String::from_utf8_lossy(&output.stderr).to_string();
        assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("sesh: could not"), "{text}");
    }
}

/// `--env` values reach the command when the server accepts them.
#[test]
fn env_is_sent() {
    with_serve(&[|remote| {
        let output = remote.exec(
            &["-n", "--env", "LANG=C.sesh", "--env", "LC_SESH=x"],
            "echo $LANG $LC_SESH",
            b"",
        );
        assert_eq!(output.stdout, b"C.sesh x\n", "{}", describe(&output));
    }]);
}

/// `-t`: the command runs in a pty; without it, no pty.
#[test]
fn pty_only_with_t() {
    with_serve(&[|remote| {
        let output = remote.exec(&["-n", "-t"], "test -t 1 && echo tty", b"");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "tty",
            "{}",
            describe(&output)
        );
        let output = remote.exec(&["-n"], "test -t 1 || echo notty", b"");
        assert_eq!(output.stdout, b"notty\n");
    }]);
}

/// The exit-code table is in `sesh exec --help`.
#[test]
fn help_shows_exit_codes() {
    let output = crate::support::sesh("exec").arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("Exit codes:") && text.contains("128+S") && text.contains("124"),
        "{text}"
    );
}

/// `-t` on a real terminal: raw mode while it runs, SIGWINCH becomes a
/// window-change the remote command sees, and the terminal's mode is
/// restored when sesh exits.
#[test]
fn terminal_raw_mode_and_resize() {
    let server = Server::start(&[]);
    common::terminal_raw_mode_and_resize(&Remote::of_serve(&server));
}

/// A server that stops answering (SIGSTOP) is noticed by keepalives:
/// exit 255 with "connection lost", not a hang.
#[test]
fn dead_server_noticed_by_keepalive() {
    let server = Server::start(&[]);
    let remote = Remote::of_serve(&server);
    let (mut child, _ready) = spawn_first_line(&remote, &["-n", "--keepalive", "1s"], "echo ready; sleep 60");
    send_signal(server.child.id() as i32, libc::SIGSTOP);
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    send_signal(server.child.id() as i32, libc::SIGCONT);
    let Some(status) = status else {
        let _ = child.kill();
        panic!("sesh exec still waiting on a dead server");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(255), "{stderr}");
    assert_eq!(stderr, "sesh: connection to the server lost\n");
}

/// `--connect-timeout`: a server that accepts but never speaks SSH ends the
/// attempt in time with 255 and one line.
#[test]
fn connect_timeout_on_a_silent_server() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = silent.local_addr().unwrap().to_string();
    let mut command = sesh_exec();
    command
        .args(["-n", "--connect-timeout", "1s"])
        .arg(&target)
        .arg("true");
    let begun = std::time::Instant::now();
    let output = run_with_input(command, b"");
    let text = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "took {:?}",
        begun.elapsed()
    );
    assert!(
        text.contains("no SSH handshake") && text.lines().count() == 1,
        "{text}"
    );
    drop(silent);
}
