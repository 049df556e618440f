//! `sesh serve` as a whole: startup errors, limits, requests it refuses,
//! and its orderly stop on SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use russh::ChannelMsg;

use crate::support::client::{AssertOrder, Client, Event, collect};
use crate::support::{Keys, Server, describe};

fn sesh() -> Command {
    crate::support::sesh("serve")
}

/// Runs `sesh serve` with arguments that must fail at startup; returns stderr.
pub(crate) fn startup_error(args: &[&str]) -> String {
    let mut child = sesh()
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status = crate::support::wait_with_deadline(&mut child, Duration::from_secs(20));
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("sesh serve {args:?} did not stop");
    });
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(status.code(), Some(255), "{stderr}");
    stderr
}

/// A missing authorized_keys, an unreadable host key and a port in use are
/// each one line naming the problem.
#[test]
fn startup_errors_are_one_line() {
    let keys = Keys::new();
    let ak = keys.authorized_keys();
    let ak = ak.to_str().unwrap();
    let missing = startup_error(&["--ephemeral-host-key", "--authorized-keys", "/nonexistent/ak"]);
    assert!(
        missing.contains("could not read authorized keys /nonexistent/ak"),
        "{missing}"
    );
    assert_eq!(missing.trim().lines().count(), 1, "{missing}");

    let garbage = keys.path("garbage_key");
    std::fs::write(&garbage, "not a key").unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bad_key = startup_error(&["--host-key", garbage.to_str().unwrap(), "--authorized-keys", ak]);
    assert!(
        bad_key.contains(&format!("could not read host key {}", garbage.display())),
        "{bad_key}"
    );
    assert_eq!(bad_key.trim().lines().count(), 1, "{bad_key}");

    let server = Server::start(&[]);
    let listen = server.addr.to_string();
    let in_use = startup_error(&[
        "--ephemeral-host-key",
        "--authorized-keys",
        ak,
        "--listen",
        &listen,
    ]);
    assert!(
        in_use.contains(&format!("could not listen on {listen}")),
        "{in_use}"
    );
    assert!(in_use.to_lowercase().contains("in use"), "{in_use}");
}

/// The host key is created on first start (ed25519, mode 0600 in
/// directories made 0700, readable by ssh-keygen) and the same key is used
/// on the next start.
#[test]
fn host_key_created_then_reused() {
    let keys = Keys::new();
    let state = keys.path("state");
    let key_path = state.join("sesh/ssh_host_ed25519_key");
    let start = |keys: &Keys| {
        let mut child = sesh()
            .args(["--listen", "127.0.0.1:0", "--authorized-keys"])
            .arg(keys.authorized_keys())
            .env("XDG_STATE_HOME", &state)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(stderr);
        while !line.contains("listening on") {
            line.clear();
            assert!(std::io::BufRead::read_line(&mut reader, &mut line).unwrap() > 0);
        }
        crate::support::send_signal(child.id() as i32, libc::SIGTERM);
        child.wait().unwrap();
        line.split("host key ").nth(1).unwrap().trim().to_string()
    };
    let first = start(&keys);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("sesh")), 0o700);
    let keygen = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&key_path)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&keygen.stdout).to_string();
    assert!(
        printed.contains(&first) && printed.contains("(ED25519)"),
        "{printed} vs {first}"
    );
    assert_eq!(start(&keys), first, "a second start made a new key");
}

/// A second exec on a channel, an unknown subsystem and a signal before
/// the command starts are refused; the session still works.
#[tokio::test]
async fn refused_requests() {
    let server = Server::start(&["--subsystem", "echo=echo subsystem-ran"]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel.request_subsystem(true, "nope").await.unwrap();
    channel.exec(true, "echo first").await.unwrap();
    channel.exec(true, "echo second").await.unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    transcript.assert_order();
    assert_eq!(
        transcript.events[..3],
        [Event::Failure, Event::Success, Event::Failure],
        "{transcript:?}"
    );
    assert_eq!(transcript.stdout, b"first\n");

    let channel = client.channel().await;
    channel.request_subsystem(true, "echo").await.unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(transcript.stdout, b"subsystem-ran\n", "{transcript:?}");
}

/// `shell` runs the login shell as a login shell reading commands from stdin.
#[tokio::test]
async fn shell_request_runs_login_shell() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel.request_shell(true).await.unwrap();
    channel
        .data_bytes(&b"echo \"argv0=$0\"; exit 6\n"[..])
        .await
        .unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    transcript.assert_order();
    assert!(
        String::from_utf8_lossy(&transcript.stdout).starts_with("argv0=-"),
        "{transcript:?}"
    );
    assert_eq!(transcript.exit_status(), Some(6));
}

/// Data sent before the exec request is delivered to the command.
#[tokio::test]
async fn input_before_exec_is_kept() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel.data_bytes(&b"early bytes\n"[..]).await.unwrap();
    channel.exec(true, "cat").await.unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(transcript.stdout, b"early bytes\n", "{transcript:?}");
}

/// `--max-sessions` refuses channels past the limit on one connection,
/// and frees the slot when a session ends.
#[tokio::test]
async fn session_limit() {
    let server = Server::start(&["--max-sessions", "2"]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let first = client.channel().await;
    let _second = client.channel().await;
    assert!(
        client.handle.channel_open_session().await.is_err(),
        "third channel opened"
    );
    first.exec(true, "true").await.unwrap();
    first.eof().await.unwrap();
    collect(first, Duration::from_secs(20)).await.assert_order();
    let mut opened = false;
    for _ in 0..50 {
        if client.handle.channel_open_session().await.is_ok() {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(opened, "slot not freed after the session ended");
}

/// `--max-connections` refuses connections past the limit; the existing
/// one keeps working.
#[tokio::test]
async fn connection_limit() {
    let server = Server::start(&["--max-connections", "1"]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let refused = Client::connect(
        server.addr,
        &server.keys.identity(),
        &crate::support::client::current_user(),
    )
    .await;
    assert!(refused.is_err());
    assert_eq!(client.run("echo still").await.stdout, b"still\n");
}

/// A connection that does not authenticate within the login grace time
/// is dropped.
#[test]
fn login_grace_time() {
    use std::io::Read;
    let server = Server::start(&["--login-grace-time", "1s"]);
    let mut socket = std::net::TcpStream::connect(server.addr).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let begun = Instant::now();
    let mut buf = Vec::new();
    let _ = socket.read_to_end(&mut buf);
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "not dropped after {:?}",
        begun.elapsed()
    );
    assert!(String::from_utf8_lossy(&buf).starts_with("SSH-2.0-"));
}

/// SIGTERM: running sessions are hung up and report exit-signal HUP before
/// CLOSE, new connections are refused, and the server exits 0.
#[tokio::test]
async fn sigterm_hangs_up_and_exits_zero() {
    let mut server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let mut channel = client.channel().await;
    channel.exec(true, "echo ready; exec sleep 300").await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), channel.wait())
            .await
            .expect("ready")
        {
            Some(ChannelMsg::Data { .. }) => break,
            Some(_) => {}
            None => panic!("channel ended"),
        }
    }
    crate::support::send_signal(server.child.id() as i32, libc::SIGTERM);
    let transcript = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(
        transcript.exit_signal(),
        Some(("HUP".to_string(), false)),
        "{transcript:?}"
    );
    assert_eq!(transcript.events.last(), Some(&Event::Close));
    let status = crate::support::wait_with_deadline(&mut server.child, Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", server.log());
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "still accepting"
    );
}

/// The OpenSSH client sees a refused login (wrong user) as exit 255.
#[test]
fn openssh_wrong_user() {
    let server = Server::start(&[]);
    let mut ssh = server.ssh_command(&server.keys.identity());
    let output = ssh.args(["-l", "nobody-here", "true"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
}

/// `--shell` runs commands with that shell instead of the login shell; a
/// missing one is a startup error.
#[test]
fn shell_option() {
    let server = Server::start(&["--shell", "/bin/sh"]);
    let output = server.ssh("readlink /proc/$$/exe", b"");
    let expected = std::fs::canonicalize("/bin/sh").unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        expected.to_str().unwrap(),
        "{}",
        describe(&output)
    );
    let keys = Keys::new();
    let ak = keys.authorized_keys();
    let missing = startup_error(&[
        "--ephemeral-host-key",
        "--authorized-keys",
        ak.to_str().unwrap(),
        "--shell",
        "/no/shell",
    ]);
    assert!(missing.contains("--shell /no/shell: no such file"), "{missing}");
}

/// One log line per session start and end, with peer, user, command, how
/// it ended, bytes each way and duration.
#[test]
fn session_log_lines() {
    let server = Server::start(&[]);
    let output = server.ssh("cat; echo done; exit 3", b"12345");
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(crate::support::wait_for(Duration::from_secs(10), || server
        .log()
        .contains("session ended")));
    let log = server.log();
    let user = crate::support::client::current_user();
    let started = log
        .lines()
        .find(|l| l.contains("session started"))
        .expect("a start line");
    let ended = log
        .lines()
        .find(|l| l.contains("session ended"))
        .expect("an end line");
    for line in [started, ended] {
        assert!(
            line.contains("peer=127.0.0.1:") && line.contains(&format!("user={user}")),
            "{line}"
        );
        assert!(line.contains("command=cat; echo done; exit 3"), "{line}");
    }
    for field in ["ending=exit 3", "bytes_in=5", "bytes_out=10", "duration_ms="] {
        assert!(ended.contains(field), "{field} missing: {ended}");
    }
}

/// `--listen` is repeatable, IPv4 and IPv6 alike: every address is served,
/// and the command sees which one the client came to.
#[test]
fn listens_on_every_address() {
    let server = Server::start_with(Keys::new(), &["--listen", "[::1]:0", "--listen", "127.0.0.2:0"]);
    // The start is announced at the first line; the others follow it.
    crate::support::wait_for(Duration::from_secs(10), || {
        server.log().matches("listening on").count() == 3
    });
    let log = server.log();
    let addresses: Vec<std::net::SocketAddr> = log
        .lines()
        .filter_map(|line| line.split("listening on ").nth(1))
        .map(|rest| rest.split(',').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(addresses.len(), 3, "{log}");
    for address in &addresses {
        let target = match address {
            std::net::SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
            std::net::SocketAddr::V4(v4) => v4.to_string(),
        };
        let mut command = crate::support::exec::sesh_exec();
        command
            .arg("-n")
            .arg("-i")
            .arg(server.keys.identity())
            .args(["--host-key", &server.fingerprint()])
            .arg(&target)
            .arg("echo $SSH_CONNECTION");
        let output = crate::support::run_with_input(command, b"");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = stdout.split_whitespace().collect();
        assert!(output.status.success(), "{target}: {}", describe(&output));
        assert_eq!(fields[2], address.ip().to_string(), "{stdout}");
        assert_eq!(fields[3], address.port().to_string(), "{stdout}");
    }
}
