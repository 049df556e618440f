//! A russh client against `sesh serve`, for what `ssh` cannot show.

use std::time::Duration;

use bytes::Bytes;
use russh::{ChannelMsg, Sig};

use crate::support::client::{AssertOrder, Client, Event, Transcript, collect, record, start_and_wait_for};
use crate::support::{Server, alive, eventually_async, gone, rss_kib};

/// Runs a command on a fresh connection to a fresh server.
async fn run_one(command: &str) -> Transcript {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    client.run(command).await
}

/// Kills the shell itself through perl, which keeps default dispositions
/// (bash ignores some signals).
fn die_by(signal: &str) -> String {
    format!("exec perl -e 'kill q({signal}), $$; sleep 5'")
}

/// exit-signal carries the RFC name for TERM, KILL and USR2, in the
/// contract's order, with no core flag.
#[tokio::test]
async fn exit_signal_rfc_names() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    for signal in ["TERM", "KILL", "USR2", "HUP", "INT", "QUIT", "PIPE", "ALRM"] {
        let transcript = client.run(&format!("echo before; {}", die_by(signal))).await;
        transcript.assert_order();
        assert_eq!(
            transcript.exit_signal(),
            Some((signal.to_string(), false)),
            "{transcript:?}"
        );
        assert_eq!(transcript.stdout, b"before\n");
    }
}

/// SEGV under `ulimit -c unlimited` reports the core dump.
#[tokio::test]
async fn exit_signal_core_dumped() {
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "ulimit -c unlimited; cd {}; {}",
        dir.path().display(),
        die_by("SEGV")
    );
    let transcript = run_one(&command).await;
    transcript.assert_order();
    assert_eq!(
        transcript.exit_signal(),
        Some(("SEGV".to_string(), true)),
        "{transcript:?}"
    );
}

/// Signals outside RFC 4254 get `NAME@linux` names, realtime ones included.
#[tokio::test]
async fn exit_signal_platform_names() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let transcript = client.run(&die_by("SYS")).await;
    transcript.assert_order();
    assert_eq!(
        transcript.exit_signal().map(|s| s.0),
        Some("SYS@linux".to_string())
    );
    let rtmin3 = libc::SIGRTMIN() + 3;
    let transcript = client
        .run(&format!("exec perl -e 'kill {rtmin3}, $$; sleep 5'"))
        .await;
    transcript.assert_order();
    assert_eq!(
        transcript.exit_signal().map(|s| s.0),
        Some("RTMIN+3@linux".to_string())
    );
}

/// A `signal` request reaches the command: its trap runs and its exit
/// status comes back; an unknown signal name changes nothing.
#[tokio::test]
async fn signal_requests_reach_the_command() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let command = "trap 'echo got-usr1; exit 9' USR1; echo ready; while :; do sleep 0.1; done";
    let (channel, mut transcript) = start_and_wait_for(&client, command, "ready").await;
    channel.signal(Sig::Custom("NOPE".into())).await.unwrap();
    channel.signal(Sig::USR1).await.unwrap();
    let rest = collect(channel, Duration::from_secs(20)).await;
    transcript.stdout.extend_from_slice(&rest.stdout);
    assert_eq!(String::from_utf8_lossy(&transcript.stdout), "ready\ngot-usr1\n");
    assert_eq!(rest.exit_status(), Some(9), "{rest:?}");

    let (channel, _) = start_and_wait_for(&client, "echo ready; exec sleep 30", "ready").await;
    channel.signal(Sig::TERM).await.unwrap();
    let rest = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(rest.exit_signal(), Some(("TERM".to_string(), false)), "{rest:?}");
}

/// `env` values on the allow-list are accepted and set; others are
/// refused with a failure reply and never reach the command.
#[tokio::test]
async fn env_allow_list() {
    let server = Server::start(&["--accept-env", "LANG", "--accept-env", "SESH_*"]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel.set_env(true, "LANG", "C.sesh").await.unwrap();
    channel.set_env(true, "SESH_X", "yes").await.unwrap();
    channel.set_env(true, "LD_PRELOAD", "/evil.so").await.unwrap();
    channel.set_env(true, "USER", "mallory").await.unwrap();
    channel
        .exec(true, "echo \"$LANG|$SESH_X|${LD_PRELOAD-unset}|$USER\"")
        .await
        .unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    transcript.assert_order();
    let replies: Vec<_> = transcript
        .events
        .iter()
        .filter(|e| matches!(e, Event::Success | Event::Failure))
        .collect();
    assert_eq!(
        replies,
        [
            &Event::Success,
            &Event::Success,
            &Event::Failure,
            &Event::Failure,
            &Event::Success
        ]
    );
    let user = crate::support::client::current_user();
    assert_eq!(
        String::from_utf8_lossy(&transcript.stdout),
        format!("C.sesh|yes|unset|{user}\n")
    );
}

/// A pty gets the requested size and TERM; window-change resizes it and
/// the command sees SIGWINCH.
#[tokio::test]
async fn pty_size_and_window_change() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let mut channel = client.channel().await;
    channel
        .request_pty(true, "xterm-test", 100, 40, 0, 0, &[])
        .await
        .unwrap();
    channel
        .exec(true, "echo \"term=$TERM size=$(stty size)\"; trap 'echo \"resized=$(stty size)\"; exit 0' WINCH; echo ready; while :; do sleep 0.1; done")
        .await
        .unwrap();
    let mut transcript = Transcript::default();
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        while !String::from_utf8_lossy(&transcript.stdout).contains("ready") {
            record(&mut transcript, channel.wait().await.expect("open"));
        }
    })
    .await;
    assert!(ready.is_ok(), "{transcript:?}");
    channel.window_change(120, 50, 0, 0).await.unwrap();
    let rest = collect(channel, Duration::from_secs(20)).await;
    let text =
        String::from_utf8_lossy(&transcript.stdout).to_string() + &String::from_utf8_lossy(&rest.stdout);
    assert!(text.contains("term=xterm-test size=40 100"), "{text}");
    assert!(text.contains("resized=50 120"), "{text}");
    assert_eq!(rest.exit_status(), Some(0), "{rest:?}");
}

/// Ten channels on one connection run at once, each complete and in order.
#[tokio::test]
async fn ten_concurrent_channels() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let runs = (0..10).map(|i| {
        let client = &client;
        async move {
            (
                i,
                client
                    .run(&format!("sleep 1; seq 1 {}; exit {i}", 20000 + i))
                    .await,
            )
        }
    });
    for (i, transcript) in futures::future::join_all(runs).await {
        transcript.assert_order();
        let expected = crate::support::seq(20000 + i);
        assert!(transcript.stdout == expected, "channel {i}");
        assert_eq!(transcript.exit_status(), Some(i));
    }
}

/// A client that dies mid-command (an `ssh` killed with SIGKILL) leaves no
/// process behind: the group gets SIGHUP, and SIGKILL when it ignores that.
#[tokio::test]
async fn disconnect_leaves_no_process() {
    let server = Server::start(&["--hangup-grace", "1s"]);
    for command in [
        "echo $$; exec sleep 300",
        "sleep 300 & echo $!; wait",
        "trap '' HUP; echo $$; while :; do sleep 1; done",
    ] {
        let mut ssh = server
            .ssh_command(&server.keys.identity())
            .arg(command)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(ssh.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let pid: i32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{command}: no pid in {line:?}"));
        assert!(alive(pid));
        ssh.kill().unwrap();
        ssh.wait().unwrap();
        assert!(
            eventually_async(Duration::from_secs(10), || gone(pid)).await,
            "{command}: pid {pid} left behind"
        );
    }
    // Closing only the channel hangs up too.
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let (channel, transcript) = start_and_wait_for(&client, "echo $$; exec sleep 300", "\n").await;
    let pid: i32 = String::from_utf8_lossy(&transcript.stdout)
        .trim()
        .parse()
        .unwrap();
    channel.close().await.unwrap();
    assert!(
        eventually_async(Duration::from_secs(10), || gone(pid)).await,
        "pid {pid} left behind after CLOSE"
    );
}

/// A reader that pauses for seconds while 20 MB are produced gets every
/// byte, and the server's memory stays bounded meanwhile.
#[tokio::test]
async fn paused_reader_gets_everything_with_bounded_memory() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let before = rss_kib(server.child.id());
    let channel = client.channel().await;
    channel.exec(true, "seq 1 3000000").await.unwrap();
    channel.eof().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = rss_kib(server.child.id());
    let transcript = collect(channel, Duration::from_secs(60)).await;
    transcript.assert_order();
    let expected = crate::support::seq(3000000);
    assert!(expected.len() > 20_000_000);
    assert!(
        transcript.stdout == expected,
        "got {} of {} bytes",
        transcript.stdout.len(),
        expected.len()
    );
    eprintln!("server RSS: {before} KiB before, {during} KiB while the reader paused");
    assert!(
        during < before + 8 * 1024,
        "server grew from {before} to {during} KiB"
    );
}

/// A command that ignores its stdin while writing lots of output finishes
/// even when the client pushes far more stdin than the memory budget: the
/// input spills, the connection never stalls, and memory stays bounded.
#[tokio::test]
async fn ignored_stdin_does_not_deadlock() {
    let server = Server::start(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel
        .exec(true, "sleep 1; head -c 30000000 /dev/zero")
        .await
        .unwrap();
    let (mut reader, writer) = channel.split();
    let push = tokio::spawn(async move {
        let chunk = Bytes::from(vec![b'x'; 32 * 1024]);
        for _ in 0..(40 * 32) {
            if writer.data_bytes(chunk.clone()).await.is_err() {
                return;
            }
        }
        let _ = writer.eof().await;
    });
    let mut transcript = Transcript::default();
    let mut peak = 0;
    let done = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(message) = reader.wait().await {
            peak = peak.max(rss_kib(server.child.id()));
            if matches!(message, ChannelMsg::Close) || record(&mut transcript, message) {
                break;
            }
        }
    })
    .await;
    push.abort();
    assert!(done.is_ok(), "deadlocked after {} bytes", transcript.stdout.len());
    assert_eq!(transcript.stdout.len(), 30_000_000);
    assert_eq!(transcript.exit_status(), Some(0));
    eprintln!("server peak RSS {peak} KiB");
    assert!(peak < 64 * 1024, "server peak RSS {peak} KiB");
}

/// A command that closes its output and runs on: EOF is held only
/// briefly for an exit that may follow (an OpenSSH ControlMaster closes
/// the channel once both EOFs are through), not until the command ends:
/// it arrives seconds before the exit status, which still comes, last
/// before CLOSE.
#[tokio::test]
async fn eof_is_not_held_until_the_command_ends() {
    let server = Server::start_sh(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let mut channel = client.channel().await;
    channel
        .exec(true, "exec >&- 2>&-; sleep 3; exit 3")
        .await
        .unwrap();
    channel.eof().await.unwrap();
    let (mut eof_at, mut exit_at) = (None, None);
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Eof => eof_at = Some(std::time::Instant::now()),
                ChannelMsg::ExitStatus { exit_status } => {
                    assert_eq!(exit_status, 3);
                    exit_at = Some(std::time::Instant::now());
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the channel never closed");
    let (Some(eof_at), Some(exit_at)) = (eof_at, exit_at) else {
        panic!("EOF {eof_at:?}, exit status {exit_at:?}");
    };
    let gap = exit_at.saturating_duration_since(eof_at);
    assert!(
        gap >= Duration::from_secs(2),
        "EOF came only {gap:?} before the exit status"
    );
}
