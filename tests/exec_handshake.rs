//! What `sesh exec` asks for in the handshake: host key algorithms ordered
//! by what known_hosts holds (as ssh orders them), and a key exchange init
//! sent with its KEXINIT, guessing the method (RFC 4253 section 7.1), so a
//! server that lists the same method and host key algorithm first answers
//! in the first round trip. Round trips are counted on a delay relay's
//! trace: the times the client had to wait for the server before it could
//! send on.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::exec_config::{public_half, serve_with_host_key};
use crate::support::exec::sesh_exec;
use crate::support::relay::{Direction, Relay};
use crate::support::sshd::Sshd;
use crate::support::{describe, run_with_input};

/// One-way delay: long enough that every flight is a burst of its own.
const DELAY: Duration = Duration::from_millis(25);
const GUESS_TAKEN: &str = "the server takes our guessed key exchange init";
const GUESS_WRONG: &str = "our key exchange guess was wrong";

/// `sesh exec -i KEY --known-hosts FILE -n 127.0.0.1:PORT true`, logging
/// russh's key exchange.
fn exec_true(identity: &Path, known_hosts: &Path, port: u16) -> Command {
    let mut command = sesh_exec();
    command.arg("-n").arg("-i").arg(identity);
    command.arg("--known-hosts").arg(known_hosts);
    command.arg(format!("127.0.0.1:{port}")).arg("true");
    command.env("RUST_LOG", "warn,russh::client::kex=debug");
    command
}

/// How often the client waited: a burst from the server followed by one
/// from the client.
fn waits(relay: &Relay) -> usize {
    let directions: Vec<Direction> = relay.trace().iter().map(|chunk| chunk.direction).collect();
    directions
        .windows(2)
        .filter(|pair| pair[0] == Direction::Down && pair[1] == Direction::Up)
        .count()
}

/// A known_hosts file in `dir` with `line`.
fn known_hosts(dir: &Path, line: &str) -> std::path::PathBuf {
    let path = dir.join("known_hosts");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path
}

/// `sesh exec true` through a traced delay relay to the server on `port`
/// whose host key is `key` (`TYPE BASE64`, filed under the relay's port):
/// its stderr, once it exited 0, and how often it waited.
fn true_through_relay(port: u16, identity: &Path, key: &str) -> (String, usize) {
    let relay = Relay::start(port, DELAY, true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = known_hosts(dir.path(), &format!("[127.0.0.1]:{} {key}", relay.port));
    let output = run_with_input(exec_true(identity, &file, relay.port), b"");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let waits = waits(&relay);
    (String::from_utf8_lossy(&output.stderr).into_owned(), waits)
}

/// sesh exec -> sesh serve: the guess is right (same method, and the host
/// key type on file first), so connect, authenticate, open, `true` and
/// close wait for the server four times: key exchange, authentication,
/// channel open, exec. Without the guess it is five.
#[test]
fn guessed_key_exchange_saves_a_round_trip() {
    let (server, key) = serve_with_host_key();
    let (stderr, waits) = true_through_relay(server.port(), &server.keys.identity(), &key);
    assert!(stderr.contains(GUESS_TAKEN), "{stderr}");
    assert_eq!(waits, 4, "{stderr}");
}

/// sesh exec -> sshd listing another method first: sshd ignores the
/// guessed packet (strict kex on), the right one follows, and the login
/// takes the round trip the guess would have saved, no more.
#[test]
fn wrong_guess_is_ignored_by_sshd() {
    let sshd = Sshd::start_with("KexAlgorithms curve25519-sha256");
    let key = public_half(&sshd.keys.path("sshd_host_key.pub"));
    let (stderr, waits) = true_through_relay(sshd.addr.port(), &sshd.keys.identity(), &key);
    assert!(stderr.contains(GUESS_WRONG), "{stderr}");
    assert_eq!(waits, 5, "{stderr}");
}

/// A server with an Ed25519 and an ECDSA host key, and a known_hosts that
/// holds only the ECDSA one: sesh asks for ECDSA first (as ssh does) and
/// verifies the host, where the default order would get the Ed25519 key
/// and refuse it as a changed key.
#[test]
fn host_key_type_on_file_is_asked_for_first() {
    let sshd = Sshd::start_prepared(|keys, _| {
        let ecdsa = keys.path("ecdsa_host_key");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ecdsa", "-N", "", "-f"])
            .arg(&ecdsa)
            .status()
            .unwrap();
        assert!(status.success());
        format!("HostKey {}", ecdsa.display())
    });
    let public = public_half(&sshd.keys.path("ecdsa_host_key.pub"));
    let dir = tempfile::tempdir().unwrap();
    let line = format!("[127.0.0.1]:{} {public}", sshd.addr.port());
    let file = known_hosts(dir.path(), &line);
    let output = run_with_input(exec_true(&sshd.keys.identity(), &file, sshd.addr.port()), b"");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}
