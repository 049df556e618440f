//! The failure modes of connection reuse (MULTIPLEX.md 4.13), each forced
//! for real against sesh serve: a master killed, stopped or cut off from
//! its server; a master dying around the start of a command (at most
//! once); concurrent first calls; idle expiry racing calls; a killed
//! caller; a foreign uid; a long path; garbage clients; version skew.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::exec_reuse::{Reusing, child_output, serve_logins};
use crate::support::exec::Remote;
use crate::support::{Server, describe, gone, run_with_input, send_signal, wait_for};

fn spawn(reusing: &Reusing, script: &str) -> (std::process::Child, String) {
    let mut command = reusing.remote.command(&["-n"]);
    command
        .arg(script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut first = [0u8; 64];
    let n = child.stdout.as_mut().unwrap().read(&mut first).unwrap();
    (child, String::from_utf8_lossy(&first[..n]).to_string())
}

/// A master SIGKILLed mid-session: its passenger ends at once with 255 and
/// the "master died" line (never a rerun); the next call starts a new
/// master, with no cleanup by hand.
#[test]
fn master_killed_mid_session() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    let (mut child, first) = spawn(&reusing, "echo started; sleep 30");
    assert_eq!(first, "started\n");
    let pid = reusing.master_pid().expect("a master");
    let begun = Instant::now();
    send_signal(pid, libc::SIGKILL);
    let (code, stderr) = child_output(&mut child);
    assert_eq!(code, Some(255));
    assert!(begun.elapsed() < Duration::from_secs(5), "{:?}", begun.elapsed());
    assert!(
        stderr.contains(&format!(
            "mux master pid {pid} died; the remote command may still be running"
        )),
        "{stderr}"
    );
    let next = reusing.exec("exit 6");
    assert_eq!(next.status.code(), Some(6), "{}", describe(&next));
    assert!(next.stderr.is_empty(), "{}", describe(&next));
    assert_ne!(reusing.master_pid(), Some(pid));
}

/// A wedged (SIGSTOPped) master: a new call runs direct after one warning
/// within the hello deadline, with the remote's own code; `-O check` says
/// 255 promptly. Nothing hangs.
#[test]
fn master_stopped() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let pid = reusing.master_pid().expect("a master");
    send_signal(pid, libc::SIGSTOP);
    let begun = Instant::now();
    let output = reusing.exec("exit 5");
    let took = begun.elapsed();
    let check = reusing.control("check");
    send_signal(pid, libc::SIGCONT);
    assert_eq!(output.status.code(), Some(5), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not answering; running without the mux master"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(check.status.code(), Some(255), "{}", describe(&check));
}

/// The server stops answering: the master's keepalives notice, every
/// passenger ends with 255 and a line saying the connection is lost (via
/// the master), and the socket is removed.
#[test]
fn server_gone() {
    let server = Server::start_sh(&[]);
    let mut reusing = Reusing::new(Remote::of_serve(&server), "30s");
    reusing
        .remote
        .options
        .extend(["--keepalive".to_string(), "1s".to_string()]);
    let (mut child, first) = spawn(&reusing, "echo started; sleep 30");
    assert_eq!(first, "started\n");
    let serve_pid = server.child.id() as i32;
    send_signal(serve_pid, libc::SIGSTOP);
    let begun = Instant::now();
    let (code, stderr) = child_output(&mut child);
    let sockets_left = reusing.sockets();
    send_signal(serve_pid, libc::SIGCONT);
    assert_eq!(code, Some(255));
    assert!(stderr.contains("via the mux master"), "{stderr}");
    assert!(begun.elapsed() < Duration::from_secs(15), "{:?}", begun.elapsed());
    assert!(
        wait_for(Duration::from_secs(5), || reusing.sockets().is_empty()),
        "socket left: {sockets_left:?}"
    );
}

/// At most once: a master that dies right after the go runs the command
/// once and its passenger says it may still be running (255, no rerun);
/// masters that die before confirming are retried and then the call runs
/// direct, once.
#[test]
fn never_twice() {
    let server = Server::start_sh(&[]);
    for (fault, code) in [("exit-after-go", 255), ("exit-before-opened", 0)] {
        let mut reusing = Reusing::new(Remote::of_serve(&server), "30s");
        reusing.remote.envs.push(("SESH_MUX_FAULT".into(), fault.into()));
        let marker = reusing.dir.path().join("marker");
        let output = reusing.exec(&format!("echo ran >> {}; sleep 1", marker.display()));
        assert_eq!(output.status.code(), Some(code), "{fault}: {}", describe(&output));
        std::thread::sleep(Duration::from_secs(2));
        let runs = std::fs::read_to_string(&marker).unwrap_or_default();
        assert_eq!(runs.lines().count(), 1, "{fault}: {}", describe(&output));
    }
}

/// 20 concurrent first calls to a cold host share one login (the lock),
/// each with its own output and code.
#[test]
fn concurrent_first_calls_one_login() {
    let server = Server::start_sh(&["--max-sessions", "30"]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    let outputs: Vec<_> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..20)
            .map(|i| {
                scope.spawn({
                    let reusing = &reusing;
                    move || (i, reusing.exec(&format!("echo call-{i}; exit {i}")))
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for (i, output) in outputs {
        assert_eq!(output.status.code(), Some(i), "{}", describe(&output));
        assert_eq!(String::from_utf8_lossy(&output.stdout), format!("call-{i}\n"));
        assert!(output.stderr.is_empty(), "{}", describe(&output));
    }
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// 300 calls around a 1 s persist (every tenth waits just about the idle
/// time first): no failure, every command ran exactly once.
#[test]
fn idle_expiry_race() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "1s");
    let marker = reusing.dir.path().join("marker");
    let mut warnings = Vec::new();
    for i in 0..300u32 {
        if i % 10 == 9 {
            // 0.95 s to 1.05 s: straddling the master's expiry.
            std::thread::sleep(Duration::from_millis(950 + u64::from(i * 7 % 100)));
        }
        let output = reusing.exec(&format!("echo {i} >> {}; echo {i}", marker.display()));
        assert_eq!(output.status.code(), Some(0), "call {i}: {}", describe(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("{i}\n"),
            "call {i}"
        );
        if !output.stderr.is_empty() {
            warnings.push(String::from_utf8_lossy(&output.stderr).to_string());
        }
    }
    let runs: Vec<u32> = std::fs::read_to_string(&marker)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(runs, (0..300).collect::<Vec<_>>(), "each call ran once, in order");
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// A caller SIGKILLed: the master closes that channel (the remote command
/// goes) and another session on the same master carries on.
#[test]
fn caller_killed() {
    let server = Server::start_sh(&["--hangup-grace", "1s"]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    let (mut other, first) = spawn(&reusing, "echo other; sleep 3; echo done");
    assert_eq!(first, "other\n");
    let (mut victim, first) = spawn(&reusing, "echo $$; exec sleep 30");
    let remote_pid: i32 = first.trim().parse().unwrap();
    send_signal(victim.id() as i32, libc::SIGKILL);
    let _ = victim.wait();
    assert!(
        wait_for(Duration::from_secs(10), || gone(remote_pid)),
        "remote sleep left behind"
    );
    let mut rest = String::new();
    other.stdout.take().unwrap().read_to_string(&mut rest).unwrap();
    let (code, _) = child_output(&mut other);
    assert_eq!((code, rest.as_str()), (Some(0), "done\n"));
}

/// Another uid is refused by the master even when the directory and the
/// socket let it connect; a directory open to others makes sesh refuse
/// the mux with one warning and run direct.
#[test]
fn foreign_uid_refused() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let socket = reusing.sockets().pop().expect("a socket");
    let open = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for dir in [
        reusing.dir.path().to_path_buf(),
        reusing.run_dir(),
        reusing.mux_dir(),
    ] {
        open(&dir, 0o711);
    }
    open(&socket, 0o666);
    let script = "use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die qq(connect: $!\\n); \
                  my $n = sysread($s, my $buf, 64); print defined $n ? $n : -1;";
    let mut perl = Command::new("runuser");
    perl.args(["-u", "nobody", "--", "perl", "-e", script])
        .arg(&socket);
    let output = run_with_input(perl, b"");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "0",
        "no hello for nobody: {}",
        describe(&output)
    );
    open(&socket, 0o600);
    let output = reusing.exec("exit 4");
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is open to group or others (needs 0700); running without the mux master"),
        "{stderr}"
    );
    open(&reusing.mux_dir(), 0o700);
    assert!(reusing.exec("true").stderr.is_empty());
}

/// A runtime directory so long the socket path passes the unix limit: one
/// warning, the command runs direct with its own code.
#[test]
fn long_path_runs_direct() {
    let server = Server::start_sh(&[]);
    let mut reusing = Reusing::new(Remote::of_serve(&server), "30s");
    let long = reusing.run_dir().join("d".repeat(100));
    std::fs::create_dir(&long).unwrap();
    reusing.remote.envs[1].1 = long;
    let output = reusing.exec("exit 3");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("over the 107-byte limit"), "{stderr}");
}

/// Garbage clients cost only themselves: a 10 MiB length is dropped at
/// once, a request without fds after its deadline, and a real call goes
/// through meanwhile.
#[test]
fn garbage_clients() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let socket = reusing.sockets().pop().expect("a socket");
    let frame = |body: &str| [&(body.len() as u32).to_be_bytes()[..], body.as_bytes()].concat();
    let hello = frame(&format!(
        r#"{{"t":"hello","proto":"sesh-mux","v":{},"pid":1}}"#,
        sesh::client::mux::VERSION
    ));
    let mut huge = UnixStream::connect(&socket).unwrap();
    huge.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    huge.write_all(&hello).unwrap();
    huge.write_all(&(10u32 << 20).to_be_bytes()).unwrap();
    let mut fdless = UnixStream::connect(&socket).unwrap();
    fdless.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    fdless.write_all(&hello).unwrap();
    let new = r#"{"t":"new","command":[116,114,117,101],"stdin":false,"env":[],"timeout":null,"kill_after":{"secs":1,"nanos":0},"verbose":false}"#;
    fdless.write_all(&frame(new)).unwrap();
    let begun = Instant::now();
    let output = reusing.exec("echo fine");
    assert_eq!(output.stdout, b"fine\n", "{}", describe(&output));
    assert!(begun.elapsed() < Duration::from_secs(2), "{:?}", begun.elapsed());
    let mut rest = Vec::new();
    let _ = huge.read_to_end(&mut rest);
    let begun = Instant::now();
    let _ = fdless.read_to_end(&mut rest);
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "fd-less client held {:?}",
        begun.elapsed()
    );
}

/// A master of another protocol version, or an OpenSSH master, at the
/// socket: sesh runs direct (a warning for the skew, silence for
/// OpenSSH's, which is not ours to use) and leaves it alone.
#[test]
fn version_skew_and_openssh_master() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let socket = reusing.sockets().pop().expect("a socket");
    assert_eq!(reusing.control("exit").status.code(), Some(0));
    assert!(wait_for(Duration::from_secs(5), || !socket.exists()));
    let skew = br#"{"t":"hello","proto":"sesh-mux","v":99,"pid":1}"#;
    let openssh: &[u8] = &[0, 0, 0, 1, 0, 0, 0, 4];
    for (hello, warning) in [(&skew[..], Some("version 99")), (openssh, None)] {
        let listener = UnixListener::bind(&socket).unwrap();
        let answer = [&(hello.len() as u32).to_be_bytes()[..], hello].concat();
        let fake = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.write_all(&answer).unwrap();
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
            rest
        });
        let output = reusing.exec("exit 9");
        assert_eq!(output.status.code(), Some(9), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        match warning {
            Some(text) => assert!(stderr.contains(text) && stderr.lines().count() == 1, "{stderr}"),
            None => assert!(stderr.is_empty(), "{stderr}"),
        }
        assert!(
            fake.join().unwrap().is_empty(),
            "sesh sent nothing to a foreign master"
        );
        std::fs::remove_file(&socket).unwrap();
    }
}

/// At the server's session limit (sshd MaxSessions 2), 6 concurrent calls
/// all succeed through the master: it opens sibling connections and
/// queues, with no login per call (sshd logs only the siblings' logins).
#[test]
fn max_sessions_siblings() {
    let sshd = crate::support::sshd::Sshd::start_with("MaxSessions 2\n");
    let reusing = Reusing::new(Remote::of_sshd(&sshd), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let outputs: Vec<_> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..6)
            .map(|i| {
                scope.spawn({
                    let reusing = &reusing;
                    move || (i, reusing.exec(&format!("sleep 1; echo {i}")))
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for (i, output) in outputs {
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{i}\n"));
        assert!(output.stderr.is_empty(), "{}", describe(&output));
    }
    let logins = crate::exec_reuse::sshd_logins(&sshd);
    assert!((2..=4).contains(&logins), "{logins} logins: {}", sshd.log());
}

/// One slow caller does not stall the others on its master: while A's
/// stdout (50 MB coming) is not read at all, B's calls run; then A gets
/// every byte and its own exit code.
#[test]
fn slow_caller_does_not_stall_others() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let mut command = reusing.remote.command(&["-n"]);
    command
        .arg("head -c 50000000 /dev/zero; exit 7")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut slow = command.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let begun = Instant::now();
    for i in 0..20 {
        let output = reusing.exec(&format!("echo {i}"));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("{i}\n"),
            "{}",
            describe(&output)
        );
    }
    let took = begun.elapsed();
    let mut got = Vec::new();
    slow.stdout.take().unwrap().read_to_end(&mut got).unwrap();
    let status = crate::support::wait_with_deadline(&mut slow, Duration::from_secs(30)).unwrap();
    assert_eq!((got.len(), status.code()), (50_000_000, Some(7)));
    assert!(got.iter().all(|&b| b == 0));
    assert!(
        took < Duration::from_secs(20),
        "20 calls took {took:?} beside a stalled reader"
    );
}
