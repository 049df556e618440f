//! `sesh exec` behaviour every server must give the same way; run against
//! OpenSSH's sshd (exec_sshd.rs) and sesh serve (exec_serve.rs).

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::exec::{Remote, sesh_exec};
use crate::support::{describe, pattern_bytes, run_in_pieces, run_with_input, wait_with_deadline};

/// exit N comes back as N, with nothing on stderr.
pub fn exit_statuses(remote: &Remote) {
    for code in [0, 1, 44, 255] {
        let output = remote.exec(&["-n"], &format!("exit {code}"), b"");
        assert_eq!(output.status.code(), Some(code), "{}", describe(&output));
        assert!(output.stderr.is_empty(), "{}", describe(&output));
    }
    let verbose = remote.exec(&["-n", "-v"], "exit 3", b"");
    assert!(String::from_utf8_lossy(&verbose.stderr).contains("sesh: remote command exited with status 3"));
}

/// TERM, KILL and SEGV (core dumped) map to 143, 137, 139 with the line.
pub fn exit_signals(remote: &Remote) {
    let dir = tempfile::tempdir().unwrap();
    let kill = |signal: &str| format!("exec perl -e 'kill q({signal}), $$; sleep 5'");
    let cases = [
        (
            kill("TERM"),
            143,
            "sesh: remote command killed by signal TERM\n".to_string(),
        ),
        (
            kill("KILL"),
            137,
            "sesh: remote command killed by signal KILL\n".to_string(),
        ),
        (
            format!(
                "ulimit -c unlimited; cd {}; {}",
                dir.path().display(),
                kill("SEGV")
            ),
            139,
            "sesh: remote command killed by signal SEGV (core dumped)\n".to_string(),
        ),
    ];
    for (command, code, line) in cases {
        let output = remote.exec(&["-n"], &command, b"");
        assert_eq!(
            output.status.code(),
            Some(code),
            "{command}: {}",
            describe(&output)
        );
        assert_eq!(String::from_utf8_lossy(&output.stderr), line);
    }
}

/// The JSON record tells a remote `exit 143` from a SIGTERM.
pub fn status_json(remote: &Remote) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    let path_arg = path.to_str().unwrap();
    let read = || -> serde_json::Value { serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap() };
    let output = remote.exec(&["-n", "--status-json", path_arg], "exit 143", b"");
    assert_eq!(output.status.code(), Some(143));
    let status = read();
    assert_eq!(
        (status["outcome"].as_str(), status["exit_status"].as_u64()),
        (Some("exited"), Some(143))
    );
    let output = remote.exec(
        &["-n", "--status-json", path_arg],
        "exec perl -e 'kill q(TERM), $$'",
        b"",
    );
    assert_eq!(output.status.code(), Some(143));
    let signal = read();
    assert_eq!(
        (signal["outcome"].as_str(), signal["signal"].as_str()),
        (Some("killed"), Some("TERM"))
    );
}

/// MBs of stdin through `cat`, in small and large writes, come back
/// byte-identical; stdin EOF reaches the command and the channel stays open.
pub fn stdin_through_cat(remote: &Remote) {
    let data = pattern_bytes(5 * 1024 * 1024, 11);
    for piece in [113, 1024 * 1024] {
        let mut command = remote.command(&[]);
        command.arg("cat; echo after-eof >&2");
        let output = run_in_pieces(command, &data, piece);
        assert!(output.status.success(), "{}", describe(&output));
        assert!(
            output.stdout == data,
            "cat returned {} of {} bytes",
            output.stdout.len(),
            data.len()
        );
        assert_eq!(output.stderr, b"after-eof\n");
    }
}

/// stdout and stderr stay apart; 50 quick runs lose no trailing output.
pub fn separation_and_trailing_output(remote: &Remote) {
    let output = remote.exec(&["-n"], "echo out; echo err >&2; echo out2", b"");
    assert_eq!(
        (output.stdout.as_slice(), output.stderr.as_slice()),
        (&b"out\nout2\n"[..], &b"err\n"[..])
    );
    for run in 0..50 {
        let output = remote.exec(&["-n"], "echo hello", b"");
        assert_eq!(output.stdout, b"hello\n", "run {run}: {}", describe(&output));
    }
}

/// `sesh exec ... yes | head -1` ends promptly.
pub fn broken_pipe_ends_promptly(remote: &Remote) {
    let mut command = remote.command(&["-n"]);
    command.arg("yes").stdout(Stdio::piped()).stderr(Stdio::piped());
    let begun = Instant::now();
    let mut child = command.spawn().unwrap();
    let mut first = [0u8; 2];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let status = crate::support::wait_with_deadline(&mut child, Duration::from_secs(20));
    let Some(status) = status else {
        let _ = child.kill();
        panic!("sesh exec kept running after its stdout closed");
    };
    assert_eq!(&first, b"y\n");
    assert_eq!(status.code(), Some(141), "{status:?}");
    assert!(begun.elapsed() < Duration::from_secs(15));
}

/// An unknown host is refused with its fingerprint and the fix;
/// `--accept-new` learns it, and the next run passes without the flag; a
/// changed key is refused naming the file and line.
pub fn known_hosts_flow(remote: &Remote) {
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let kh = known_hosts.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut command = sesh_exec();
        command
            .arg("-n")
            .arg("-i")
            .arg(&remote.identity)
            .args(["--known-hosts", kh])
            .args(extra);
        command.arg(&remote.target).arg("echo in");
        run_with_input(command, b"")
    };
    let unknown = run(&[]);
    let text = String::from_utf8_lossy(&unknown.stderr).to_string();
    assert_eq!(unknown.status.code(), Some(255), "{}", describe(&unknown));
    assert!(
        text.contains(&remote.fingerprint) && text.contains("--accept-new"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!known_hosts.exists());

    let learned = run(&["--accept-new"]);
    assert_eq!(learned.stdout, b"in\n", "{}", describe(&learned));
    let again = run(&[]);
    assert_eq!(again.stdout, b"in\n", "{}", describe(&again));

    // Someone else's key for the same [host]:port: refused, always.
    let other = std::fs::read_to_string(remote.stranger.with_extension("pub")).unwrap();
    let other_key: Vec<&str> = other.split_whitespace().take(2).collect();
    std::fs::write(
        &known_hosts,
        format!(
            "# header\n[{}]:{} {}\n",
            remote.host,
            remote.port,
            other_key.join(" ")
        ),
    )
    .unwrap();
    for extra in [&[][..], &["--accept-new"][..]] {
        let changed = run(extra);
        let text = String::from_utf8_lossy(&changed.stderr).to_string();
        assert_eq!(changed.status.code(), Some(255), "{}", describe(&changed));
        assert!(changed.stdout.is_empty());
        assert!(
            text.contains("HOST KEY CHANGED") && text.contains(&format!("{kh} line 2")),
            "{text}"
        );
    }
}

/// A key the server does not accept: 255 and a line naming what was tried.
pub fn wrong_key_refused(remote: &Remote) {
    let command = remote.command_as(&remote.stranger, "true");
    let output = run_with_input(command, b"");
    let text = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        text.contains("refused") && text.contains(&remote.stranger.display().to_string()),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

/// A refused key does not end the login: with the stranger's identity file
/// first (signed at once, refused) the next file is tried and accepted, and
/// likewise after an agent key the server refuses (asked about first).
pub fn refused_key_then_next(remote: &Remote) {
    let identities = [remote.stranger.as_path(), remote.identity.as_path()];
    let output = run_with_input(remote.command_with(&identities, "echo second-file"), b"");
    assert_eq!(output.stdout, b"second-file\n", "{}", describe(&output));

    let dir = tempfile::tempdir().unwrap();
    let agent = crate::support::agent::Agent::start(dir.path());
    agent.add(&remote.stranger);
    let mut command = remote.command(&["-n"]);
    command
        .env("SSH_AUTH_SOCK", &agent.socket)
        .arg("echo after-agent");
    let output = run_with_input(command, b"");
    drop(agent);
    assert_eq!(output.stdout, b"after-agent\n", "{}", describe(&output));
}

/// Authentication through a real ssh-agent holding the key (no -i).
pub fn agent_authentication(remote: &Remote) {
    let dir = tempfile::tempdir().unwrap();
    let agent = crate::support::agent::Agent::start(dir.path());
    agent.add(&remote.identity);
    let mut command = sesh_exec();
    command
        .env("SSH_AUTH_SOCK", &agent.socket)
        .env("HOME", dir.path());
    command
        .args(["-n", "--host-key", &remote.fingerprint])
        .arg(&remote.target)
        .arg("echo via-agent");
    let output = run_with_input(command, b"");
    drop(agent);
    assert_eq!(output.stdout, b"via-agent\n", "{}", describe(&output));
}

/// A copy of `remote`'s identity in `dir`, encrypted with the passphrase
/// `secret`.
pub fn locked_copy(remote: &Remote, dir: &std::path::Path) -> std::path::PathBuf {
    let key = dir.join("locked");
    std::fs::copy(&remote.identity, &key).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-p", "-N", "secret", "-P", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    key
}

/// An encrypted key with no terminal to ask on fails at once with a reason.
pub fn encrypted_key_without_terminal(remote: &Remote) {
    let dir = tempfile::tempdir().unwrap();
    let key = locked_copy(remote, dir.path());
    let mut command = remote.command_as(&key, "true");
    // No controlling terminal, as under CI or cron.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::setsid();
            Ok(())
        });
    }
    let begun = Instant::now();
    let output = run_with_input(command, b"");
    let text = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    assert!(
        text.contains("encrypted") && text.contains("no terminal"),
        "{text}"
    );
    assert!(begun.elapsed() < Duration::from_secs(10));
}

/// An RSA identity signs with rsa-sha2 (OpenSSH refuses SHA-1 signatures).
pub fn rsa_identity(remote: &Remote) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_rsa");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let mut authorized = std::fs::OpenOptions::new()
        .append(true)
        .open(&remote.authorized_keys)
        .unwrap();
    std::io::Write::write_all(&mut authorized, public.as_bytes()).unwrap();
    let command = remote.command_as(&key, "echo rsa");
    let output = run_with_input(command, b"");
    assert_eq!(output.stdout, b"rsa\n", "{}", describe(&output));
}

/// `-t` on a real terminal (a pty of the test's): raw mode while it runs, SIGWINCH becomes a
/// window-change the remote command sees, and the terminal's mode is
/// restored when sesh exits.
pub fn terminal_raw_mode_and_resize(remote: &Remote) {
    use std::os::fd::AsRawFd;

    use nix::pty::{Winsize, openpty};
    use nix::sys::termios::{LocalFlags, tcgetattr};

    let size = Winsize {
        ws_row: 30,
        ws_col: 90,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(&size, None).unwrap();
    let before = tcgetattr(&pty.slave).unwrap();
    assert!(before.local_flags.contains(LocalFlags::ICANON));
    let mut command = remote.command(&["-t"]);
    command.arg("echo size=$(stty size); trap 'echo resized=$(stty size); exit 0' WINCH; echo ready; while :; do sleep 0.1; done");
    crate::support::on_terminal(&mut command, &pty.slave);
    let mut child = command.spawn().unwrap();
    let mut master = std::fs::File::from(pty.master);
    let mut seen = String::new();
    let read_until = |master: &mut std::fs::File, marker: &str, seen: &mut String| {
        let mut buf = [0u8; 4096];
        while !seen.contains(marker) {
            let n = master.read(&mut buf).unwrap_or(0);
            assert!(n > 0, "terminal closed before {marker:?}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    read_until(&mut master, "ready", &mut seen);
    let during = tcgetattr(&pty.slave).unwrap();
    assert!(
        !during.local_flags.contains(LocalFlags::ICANON),
        "not in raw mode"
    );
    let bigger = Winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize; the kernel signals the
    // terminal's foreground group (sesh) with SIGWINCH.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &bigger) };
    read_until(&mut master, "resized=", &mut seen);
    let status = wait_with_deadline(&mut child, Duration::from_secs(20));
    let Some(status) = status else {
        let _ = child.kill();
        panic!("sesh exec did not end: {seen:?}");
    };
    assert_eq!(status.code(), Some(0), "{seen}");
    assert!(seen.contains("size=30 90"), "{seen}");
    assert!(seen.contains("resized=40 120"), "{seen}");
    let after = tcgetattr(&pty.slave).unwrap();
    assert!(
        after.local_flags.contains(LocalFlags::ICANON),
        "terminal left in raw mode"
    );
    drop(pty.slave);
}
