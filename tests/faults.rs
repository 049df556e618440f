//! Faults: clients killed mid-transfer, servers stopped under load,
//! background jobs holding output open. What must hold: nothing leaks
//! (fds, processes, zombies), every session reports, the next client is
//! served.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use russh::ChannelMsg;

use crate::support::client::{Client, Event, collect};
use crate::support::exec::Remote;
use crate::support::{Server, describe, gone, holdings, settles_to, wait_for};

/// An `ssh` killed by SIGKILL while bytes flow, either way: the command's
/// process group is hung up, and the server returns to the fds it held
/// before, with no child left (running or zombie). Then it serves again.
#[test]
fn client_killed_mid_transfer_leaks_nothing() {
    let server = Server::start(&["--hangup-grace", "1s"]);
    let pid = server.child.id();
    assert!(server.ssh("true", b"").status.success());
    let baseline = holdings(pid);
    for (label, command, upload) in [
        ("download", "echo $$; exec cat /dev/zero", false),
        ("upload", "echo $$; exec cat > /dev/null", true),
    ] {
        let mut ssh = server.ssh_command(&server.keys.identity());
        let mut ssh = ssh
            .arg(command)
            .stdin(if upload { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(ssh.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let command_pid: i32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{label}: {line:?}"));
        if upload {
            let mut stdin = ssh.stdin.take().unwrap();
            std::thread::spawn(move || {
                let block = vec![0u8; 64 * 1024];
                while stdin.write_all(&block).is_ok() {}
            });
        }
        // Mid-transfer: a few MB have moved.
        let mut buf = vec![0u8; 1 << 20];
        if !upload {
            for _ in 0..4 {
                stdout.read_exact(&mut buf).unwrap();
            }
        } else {
            std::thread::sleep(Duration::from_millis(500));
        }
        ssh.kill().unwrap();
        ssh.wait().unwrap();
        assert!(
            wait_for(Duration::from_secs(15), || gone(command_pid)),
            "{label}: command {command_pid} left behind"
        );
        if let Err(now) = settles_to(pid, &baseline, Duration::from_secs(15)) {
            panic!("{label}: server holds {now:?}, before {baseline:?}");
        }
    }
    let output = server.ssh("echo served", b"");
    assert_eq!(output.stdout, b"served\n", "{}", describe(&output));
}

/// A job left running in the background that keeps stdout open: the
/// session waits for it, as sshd does, so its output is not lost, and
/// ends when it ends.
#[test]
fn background_job_holding_stdout_is_waited_for() {
    let server = Server::start(&[]);
    let remote = Remote::of_serve(&server);
    let start = Instant::now();
    let output = remote.exec(&["-n"], "(sleep 1; echo late) & echo early", b"");
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(output.stdout, b"early\nlate\n");
    assert!(start.elapsed() >= Duration::from_secs(1));
    // Redirected away from the session, a job does not hold it open.
    let start = Instant::now();
    let output = remote.exec(&["-n"], "sleep 30 >/dev/null 2>&1 & echo $!", b"");
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "waited for a detached job"
    );
    let job: i32 = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap();
    crate::support::send_signal(job, libc::SIGKILL);
}

/// SIGTERM while nine sessions on three connections run (idle, streaming,
/// and one ignoring SIGHUP): each reports how it ended and closes, and the
/// server exits 0 within the hang-up grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_reports_every_session() {
    let mut server = Server::start(&["--hangup-grace", "1s"]);
    let mut channels = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let client = Client::login(server.addr, &server.keys.identity()).await;
        // The streaming one last: it is not read until the end, and an
        // unread channel stalls its whole connection on the client side.
        for command in [
            "echo ready; exec sleep 300",
            "trap '' HUP; echo ready; while :; do sleep 1; done",
            "echo ready; exec cat /dev/zero",
        ] {
            let mut channel = client.channel().await;
            channel.exec(true, command).await.unwrap();
            wait_for_output(&mut channel).await;
            channels.push(channel);
        }
        clients.push(client);
    }
    crate::support::send_signal(server.child.id() as i32, libc::SIGTERM);
    let transcripts: Vec<_> = channels
        .into_iter()
        .map(|channel| tokio::spawn(collect(channel, Duration::from_secs(30))))
        .collect();
    for (n, transcript) in transcripts.into_iter().enumerate() {
        let transcript = transcript.await.unwrap();
        let expected = if n % 3 == 1 { "KILL" } else { "HUP" };
        assert_eq!(
            transcript.exit_signal().map(|(name, _)| name).as_deref(),
            Some(expected),
            "session {n}: {}",
            transcript.ending()
        );
        assert_eq!(transcript.events.last(), Some(&Event::Close), "session {n}");
    }
    let status = crate::support::wait_with_deadline(&mut server.child, Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", server.log());
    drop(clients);
}

/// Reads until the command's first output.
async fn wait_for_output(channel: &mut russh::Channel<russh::client::Msg>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), channel.wait())
            .await
            .expect("output")
        {
            Some(ChannelMsg::Data { .. }) => return,
            Some(_) => {}
            None => panic!("channel ended before any output"),
        }
    }
}

/// The login grace time bounds logging in, not the connection: a session
/// that runs past it is not cut off.
#[test]
fn login_grace_spares_logged_in_sessions() {
    let server = Server::start_sh(&["--login-grace-time", "1s"]);
    let output = Remote::of_serve(&server).exec(&["-n"], "sleep 3; echo done", b"");
    assert!(output.status.success(), "{}\n{}", describe(&output), server.log());
    assert_eq!(output.stdout, b"done\n");
}

/// Output that cannot be written (a full disk here) is never a success,
/// even when it is the last thing the command printed.
#[test]
fn lost_output_is_a_failure() {
    let server = Server::start_sh(&[]);
    let mut exec = Remote::of_serve(&server).command(&["-n"]);
    exec.arg("echo hello; exit 3")
        .stdout(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let status = exec.status().unwrap();
    assert_eq!(status.code(), Some(141));
}

/// A server stopped right after a client vanished still hangs up that
/// client's command (SIGKILL after the grace, for one ignoring SIGHUP)
/// before it exits: no orphan.
#[test]
fn stop_leaves_no_orphan_of_a_vanished_client() {
    let mut server = Server::start_sh(&["--hangup-grace", "1s"]);
    let mut ssh = server.ssh_command(&server.keys.identity());
    let mut ssh = ssh
        .arg("trap '' HUP; echo $$; exec sleep 123")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(ssh.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: i32 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
    ssh.kill().unwrap();
    ssh.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = server.terminate(Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", server.log());
    assert!(
        wait_for(Duration::from_secs(5), || gone(pid)),
        "pid {pid} outlived the server"
    );
}

/// `--timeout` fires even while whatever reads sesh's stdout has stopped
/// reading: the remote command is stopped and sesh exits 124.
#[test]
fn timeout_fires_while_stdout_is_stalled() {
    let server = Server::start_sh(&[]);
    let mut exec = Remote::of_serve(&server).command(&["-n", "--timeout", "2s", "--kill-after", "1s"]);
    let mut exec = exec
        .arg("echo $$ >&2; exec cat /dev/zero")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Hold the pipe open and never read it.
    let _stalled = exec.stdout.take().unwrap();
    let mut line = String::new();
    let mut stderr = BufReader::new(exec.stderr.take().unwrap());
    stderr.read_line(&mut line).unwrap();
    let pid: i32 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
    let status = crate::support::wait_with_deadline(&mut exec, Duration::from_secs(30));
    if status.is_none() {
        let _ = exec.kill();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(124));
    assert!(
        wait_for(Duration::from_secs(10), || gone(pid)),
        "remote command {pid} left running"
    );
}

/// A closed stderr loses sesh's messages, not its exit code: no panic.
#[test]
fn closed_stderr_is_not_a_panic() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mut exec = crate::support::exec::sesh_exec();
    let mut exec = exec
        .args(["-n", "--connect-timeout", "1s", &target, "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before sesh has anything to say.
    drop(exec.stderr.take());
    let status = crate::support::wait_with_deadline(&mut exec, Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(255));
}

/// SIGINT stops the server like SIGTERM: sessions hung up and reported,
/// exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_like_sigterm() {
    let mut server = Server::start_sh(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let mut channel = client.channel().await;
    channel.exec(true, "echo ready; exec sleep 300").await.unwrap();
    wait_for_output(&mut channel).await;
    crate::support::send_signal(server.child.id() as i32, libc::SIGINT);
    let transcript = collect(channel, Duration::from_secs(30)).await;
    assert_eq!(
        transcript.exit_signal().map(|(name, _)| name).as_deref(),
        Some("HUP"),
        "{}",
        transcript.ending()
    );
    assert_eq!(transcript.events.last(), Some(&Event::Close));
    let status = crate::support::wait_with_deadline(&mut server.child, Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", server.log());
}

/// A client that stops answering (frozen, its TCP still up) is dropped
/// after three unanswered keepalives, and its command hung up.
#[test]
fn keepalive_drops_a_frozen_client() {
    let server = Server::start_sh(&["--keepalive", "1s", "--hangup-grace", "1s"]);
    let mut ssh = server.ssh_command(&server.keys.identity());
    let mut ssh = ssh
        .arg("echo $$; exec sleep 300")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(ssh.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: i32 = line.trim().parse().unwrap_or_else(|_| panic!("{line:?}"));
    crate::support::send_signal(ssh.id() as i32, libc::SIGSTOP);
    let hung_up = wait_for(Duration::from_secs(30), || gone(pid));
    let _ = ssh.kill();
    let _ = ssh.wait();
    assert!(
        hung_up,
        "command {pid} still running with its client frozen: {}",
        server.log()
    );
}
