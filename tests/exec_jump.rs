//! Jump hosts (`sesh exec -J`) with the real peers: private OpenSSH sshds
//! as bastions, `sesh serve` and a second sshd as targets. sesh runs with
//! its own HOME (support/jump.rs), as a user's would be.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::exec::Remote;
use crate::support::jump::{Home, bastion, forwarded_to, hop, through};
use crate::support::sshd::Sshd;
use crate::support::{Server, describe, pattern_bytes, run_with_input, send_signal, wait_with_deadline};

/// Several MB each way through `cat` and the exit code, intact.
fn assert_round_trip(command: Command) {
    let data = pattern_bytes(4 * 1024 * 1024, 5);
    let output = run_with_input(command, &data);
    assert_eq!(output.status.code(), Some(7), "{}", describe(&output));
    assert!(
        output.stdout == data,
        "got {} of {} bytes back",
        output.stdout.len(),
        data.len()
    );
}

/// One hop: `-J bastion` to `sesh serve` and to a second sshd; 4 MB each
/// way and the exit code arrive intact; `-J none` goes directly.
#[test]
fn one_hop_to_serve_and_sshd() {
    let bastion = bastion();
    let home = Home::new(&[&bastion]);
    let server = Server::start_sh(&[]);
    let sshd = Sshd::start();
    for remote in [Remote::of_serve(&server), Remote::of_sshd(&sshd)] {
        assert_round_trip(through(&remote, &home, &hop(&bastion), &[], "cat; exit 7"));
    }
    let direct = through(&Remote::of_serve(&server), &home, "none", &["-n"], "exit 3");
    let output = run_with_input(direct, b"");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(bastion.log().contains("Accepted publickey"), "{}", bastion.log());
}

/// Two hops: `-J a,b` dials a, reaches b through it, and the target
/// (`sesh serve`, then an sshd) through b; 4 MB each way and the exit code
/// arrive intact, and the route was the one asked for: a forwarded to b,
/// b to each target. (The bastions' "Transferred" lines are no evidence:
/// sshd writes one only when its peer closes without a reset.)
#[test]
fn two_hops() {
    let (first, second) = (bastion(), bastion());
    let home = Home::new(&[&first, &second]);
    let server = Server::start_sh(&[]);
    let sshd = Sshd::start();
    let jumps = format!("{},{}", hop(&first), hop(&second));
    for remote in [Remote::of_serve(&server), Remote::of_sshd(&sshd)] {
        assert_round_trip(through(&remote, &home, &jumps, &[], "cat; exit 7"));
        assert!(forwarded_to(&second, remote.port), "{}", second.log());
        assert!(!forwarded_to(&first, remote.port), "{}", first.log());
    }
    assert!(forwarded_to(&first, second.addr.port()), "{}", first.log());
}

/// A bastion that does not admit the key: 255 and one line naming it.
#[test]
fn bastion_refuses_the_key() {
    let bastion = bastion();
    let home = Home::new(&[]);
    std::fs::write(
        home.path().join(".ssh/known_hosts"),
        bastion.known_hosts_line() + "\n",
    )
    .unwrap();
    let server = Server::start_sh(&[]);
    let output = run_with_input(
        through(&Remote::of_serve(&server), &home, &hop(&bastion), &["-n"], "true"),
        b"",
    );
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("sesh: jump host {} refused the key: ", hop(&bastion));
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A target the bastion cannot reach: 255, the bastion named with the
/// channel it could not open.
#[test]
fn bastion_cannot_reach_target() {
    let bastion = bastion();
    let home = Home::new(&[&bastion]);
    let nowhere = crate::support::sshd::free_port();
    let mut sesh = crate::support::exec::sesh_exec();
    sesh.env("HOME", home.path())
        .args(["-n", "--host-key", "SHA256:x", "-J", &hop(&bastion)])
        .arg(format!("127.0.0.1:{nowhere}"))
        .arg("true");
    let output = run_with_input(sesh, b"");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "sesh: jump host {} could not open a channel to 127.0.0.1:{nowhere}: connect failed\n",
        hop(&bastion)
    );
    assert_eq!(stderr, expected);
}

/// A bastion whose host key is not in known_hosts is refused (the target's
/// `--host-key` pin does not apply to it), naming the hop.
#[test]
fn unknown_bastion_refused() {
    let bastion = bastion();
    let home = Home::new(&[&bastion]);
    std::fs::write(home.path().join(".ssh/known_hosts"), "").unwrap();
    let server = Server::start_sh(&[]);
    let output = run_with_input(
        through(&Remote::of_serve(&server), &home, &hop(&bastion), &["-n"], "true"),
        b"",
    );
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("sesh: jump host {}: host [127.0.0.1]:", hop(&bastion));
    assert!(
        stderr.starts_with(&expected) && stderr.contains("is not known"),
        "{stderr}"
    );
}

/// Every process below `pid` (for an sshd: its per-connection processes).
fn descendants(pid: u32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = vec![pid as i32];
    while let Some(pid) = queue.pop() {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten();
        for task in tasks {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}

/// What fails mid-session.
enum Fault {
    /// The bastion's session processes get this signal.
    Bastion(i32),
    /// The target (`sesh serve` and its command) is killed.
    Target,
}

/// Runs a long command through a bastion, lets `fault` happen once the
/// command runs, and returns sesh's output and how long it took after that.
fn mid_session(fault: Fault, extra: &[&str]) -> (Output, Duration) {
    let bastion = bastion();
    let home = Home::new(&[&bastion]);
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let mut sesh = through(&remote, &home, &hop(&bastion), extra, "echo started; sleep 60");
    sesh.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = sesh.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut started = [0u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut started).unwrap();
    assert_eq!(&started, b"started\n");
    let (victims, signo) = match fault {
        Fault::Bastion(signo) => (descendants(bastion.pid()), signo),
        Fault::Target => {
            // The server first: killed after its command, it could still
            // report the command's SIGKILL before it died.
            let mut all = vec![server.child.id() as i32];
            all.extend(descendants(server.child.id()));
            (all, libc::SIGKILL)
        }
    };
    assert!(!victims.is_empty(), "no session process to fail");
    for pid in &victims {
        send_signal(*pid, signo);
    }
    let hit = Instant::now();
    let status = wait_with_deadline(&mut child, Duration::from_secs(60));
    let took = hit.elapsed();
    for pid in &victims {
        send_signal(*pid, libc::SIGKILL);
    }
    if status.is_none() {
        let _ = child.kill();
    }
    (child.wait_with_output().unwrap(), took)
}

/// The target killed mid-session while the bastion is fine: the line
/// blames the server, not the bastion (which answers the probe).
#[test]
fn target_killed_behind_live_bastion() {
    let (output, took) = mid_session(Fault::Target, &[]);
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert_eq!(
        output.stderr,
        b"sesh: connection to the server lost\n",
        "{}",
        describe(&output)
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// A bastion killed mid-session: sesh ends at once with 255 and the
/// jump-host line.
#[test]
fn bastion_killed_mid_session() {
    let (output, took) = mid_session(Fault::Bastion(libc::SIGKILL), &[]);
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("sesh: connection to jump host 127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.trim_end().ends_with(" lost"), "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// A bastion frozen mid-session (SIGSTOP, as a partition looks): with a
/// 1 s keepalive the session ends within seconds, 255, naming the bastion
/// (the target's keepalive noticed first; the bastion did not answer).
#[test]
fn bastion_frozen_mid_session() {
    let (output, took) = mid_session(Fault::Bastion(libc::SIGSTOP), &["--keepalive", "1s"]);
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("sesh: connection to jump host 127.0.0.1:"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// Twenty hosts behind one bastion share one connection to it: one login
/// in the bastion's log, every host ran, five at a time.
#[test]
fn fanout_shares_one_bastion_login() {
    let bastion = bastion();
    let home = Home::new(&[&bastion]);
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let mut sesh = crate::support::exec::sesh_exec();
    sesh.env("HOME", home.path())
        .args(["-n", "--parallel", "5", "--no-prefix", "-J", &hop(&bastion)])
        .arg("-i")
        .arg(&remote.identity)
        .args(["--host-key", &remote.fingerprint]);
    for _ in 0..20 {
        sesh.args(["-H", &remote.target]);
    }
    sesh.args(["--", "echo ran"]);
    let output = run_with_input(sesh, b"");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(output.stdout, b"ran\n".repeat(20), "{}", describe(&output));
    let logins = bastion.log().matches("Accepted publickey").count();
    assert_eq!(logins, 1, "{}", bastion.log());
}

/// Twenty hosts behind a bastion that refuses the key: each fails with the
/// jump-host line, after one attempt on the bastion, not twenty.
#[test]
fn fanout_refused_bastion_tried_once() {
    let bastion = bastion();
    let home = Home::new(&[]);
    std::fs::write(
        home.path().join(".ssh/known_hosts"),
        bastion.known_hosts_line() + "\n",
    )
    .unwrap();
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let mut sesh = crate::support::exec::sesh_exec();
    sesh.env("HOME", home.path())
        .args(["-n", "--json", "-J", &hop(&bastion)])
        .arg("-i")
        .arg(&remote.identity)
        .args(["--host-key", &remote.fingerprint]);
    for _ in 0..20 {
        sesh.args(["-H", &remote.target]);
    }
    sesh.args(["--", "true"]);
    let output = run_with_input(sesh, b"");
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let refused = format!("jump host {} refused the key", hop(&bastion));
    assert_eq!(stdout.matches(&refused).count(), 20, "{stdout}");
    let attempts = bastion.log().matches("Failed publickey").count();
    assert_eq!(attempts, 1, "{}", bastion.log());
}
