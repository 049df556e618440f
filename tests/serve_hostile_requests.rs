//! Absurd requests on an authenticated session: `exec` commands of odd
//! sizes and bytes, floods of `env` requests and huge values, `pty-req`
//! and `window-change` with absurd sizes, requests after the command
//! started, unknown signals and subsystems. Each gets a clear reply (and a
//! log line where it is refused), the server keeps serving, and nothing
//! leaks (descriptors, processes).

use std::time::Duration;

use russh::{ChannelMsg, Sig};

use crate::support::Server;
use crate::support::client::{
    Client, Event, Transcript, collect, collect_half, first_reply_then_close, record, start_and_wait_for,
};
use crate::support::leaks::Baseline;

/// Commands of odd sizes and bytes: 1 MB cannot even travel (russh refuses
/// packets past 256 KiB, as sshd does, and drops the connection with a log
/// line); 200 KB travels but is past the kernel's 128 KiB limit for one
/// argument, so the exec gets a failure reply and a log line; 100 KB runs;
/// bytes that are not UTF-8 reach the shell as they are, as with sshd.
#[tokio::test]
async fn exec_commands_of_odd_sizes_and_bytes() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;
    let padded = |len: usize| format!(": {}; echo ran", "x".repeat(len));

    let client = Client::login(server.addr, &server.keys.identity()).await;
    let mut channel = client.channel().await;
    let _ = channel.exec(true, padded(1_000_000)).await;
    let ended = tokio::time::timeout(Duration::from_secs(20), channel.wait()).await;
    assert!(matches!(ended, Ok(None)), "channel still open: {ended:?}");
    server.assert_logged("connection ended: Bad packet size").await;

    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    channel.exec(true, padded(200_000)).await.unwrap();
    let reply = first_reply_then_close(channel).await;
    assert!(matches!(reply, Some(ChannelMsg::Failure)), "{reply:?}");
    server.assert_logged("Argument list too long").await;

    let transcript = client.run(&padded(100_000)).await;
    assert_eq!(transcript.stdout, b"ran\n", "{transcript:?}");

    let channel = client.channel().await;
    channel
        .exec(true, &b"printf '%s' '\xff\xfe' | od -An -tx1"[..])
        .await
        .unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(
        String::from_utf8_lossy(&transcript.stdout).trim(),
        "ff fe",
        "{transcript:?}"
    );
    drop(client);
    baseline.assert_no_leak(&server).await;
}

/// 10,000 `env` requests: the first 64 variables are accepted, the rest
/// refused with failure replies and a single log line, and the command
/// sees exactly the 64. A 200 KB value is refused (past the 64 KiB a
/// channel may hold) while a small one after it is accepted; a 1 MB one
/// cannot travel and ends the connection.
#[tokio::test]
async fn env_floods_and_huge_values() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let channel = client.channel().await;
    let (mut read, write) = channel.split();
    // Replies are read while requests go out, so neither side waits on a
    // full queue.
    let replies = tokio::spawn(async move {
        let (mut ok, mut refused) = (0, 0);
        while ok + refused < 10_000 {
            match read.wait().await {
                Some(ChannelMsg::Success) => ok += 1,
                Some(ChannelMsg::Failure) => refused += 1,
                Some(_) => {}
                None => break,
            }
        }
        (ok, refused, read)
    });
    for i in 0..10_000 {
        write.set_env(true, format!("LC_{i}"), "v").await.unwrap();
    }
    let (ok, refused, read) = tokio::time::timeout(Duration::from_secs(60), replies)
        .await
        .expect("every env request answered")
        .unwrap();
    assert_eq!((ok, refused), (64, 9_936));
    write.exec(true, "env | grep -c '^LC_'").await.unwrap();
    write.eof().await.unwrap();
    let transcript = collect_half(read, Duration::from_secs(20)).await;
    assert_eq!(transcript.stdout, b"64\n", "{transcript:?}");
    let limit_lines = server.log().matches("refused env requests past").count();
    assert_eq!(limit_lines, 1, "{}", server.log());

    let channel = client.channel().await;
    channel.set_env(true, "LANG", "y".repeat(200_000)).await.unwrap();
    channel.set_env(true, "LC_ALL", "C").await.unwrap();
    channel.exec(true, "echo ${#LANG} $LC_ALL").await.unwrap();
    channel.eof().await.unwrap();
    let transcript = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(
        transcript.events[..3],
        [Event::Failure, Event::Success, Event::Success],
        "{transcript:?}"
    );
    assert_eq!(transcript.stdout, b"0 C\n", "{transcript:?}");

    let channel = client.channel().await;
    let (mut read, write) = channel.split();
    let _ = write.set_env(true, "LANG", "z".repeat(1_000_000)).await;
    let ended = tokio::time::timeout(Duration::from_secs(20), read.wait()).await;
    assert!(matches!(ended, Ok(None)), "channel still open: {ended:?}");
    server.assert_logged("connection ended: Bad packet size").await;
    drop(client);
    baseline.assert_no_leak(&server).await;
}

/// `pty-req` with zero sizes and with 4294967295 everywhere is accepted
/// and clamped to what a terminal holds; `window-change` with absurd sizes
/// resizes the same way; a second `pty-req` or `exec` on a running channel
/// is refused.
#[tokio::test]
async fn absurd_pty_sizes_and_late_requests() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;
    let client = Client::login(server.addr, &server.keys.identity()).await;
    for (size, shown) in [(0, "0 0"), (u32::MAX, "65535 65535")] {
        let channel = client.channel().await;
        channel
            .request_pty(true, "xterm", size, size, size, size, &[])
            .await
            .unwrap();
        channel.exec(true, "stty size").await.unwrap();
        let transcript = collect(channel, Duration::from_secs(20)).await;
        assert_eq!(transcript.events[..2], [Event::Success, Event::Success]);
        assert_eq!(String::from_utf8_lossy(&transcript.stdout).trim(), shown);
    }

    let channel = client.channel().await;
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    let command = "echo ready; while read line; do echo \"size=$(stty size)\"; done";
    channel.exec(true, command).await.unwrap();
    let (mut read, write) = channel.split();
    let mut transcript = Transcript::default();
    for (size, shown) in [(u32::MAX, "size=65535 65535"), (0, "size=0 0")] {
        write.window_change(size, size, size, size).await.unwrap();
        // The resize and the line take different paths to the pty: ask
        // again until the new size shows (bounded).
        let seen = tokio::time::timeout(Duration::from_secs(20), async {
            while !String::from_utf8_lossy(&transcript.stdout).contains(shown) {
                write.data_bytes(&b"x\n"[..]).await.unwrap();
                let wait = tokio::time::timeout(Duration::from_millis(200), read.wait()).await;
                if let Ok(message) = wait {
                    record(&mut transcript, message.expect("channel open"));
                }
            }
        })
        .await;
        assert!(seen.is_ok(), "never saw {shown:?}: {transcript:?}");
    }
    write.request_pty(true, "xterm", 10, 10, 0, 0, &[]).await.unwrap();
    write.exec(true, "echo second").await.unwrap();
    write.data_bytes(&b"\x04"[..]).await.unwrap();
    let rest = collect_half(read, Duration::from_secs(20)).await;
    let replies: Vec<_> = transcript
        .events
        .iter()
        .chain(&rest.events)
        .filter(|e| matches!(e, Event::Success | Event::Failure))
        .collect();
    assert_eq!(
        replies,
        [&Event::Success, &Event::Success, &Event::Failure, &Event::Failure],
        "{transcript:?} {rest:?}"
    );
    assert!(
        !String::from_utf8_lossy(&rest.stdout).contains("second"),
        "{rest:?}"
    );
    assert_eq!(rest.exit_status(), Some(0), "{rest:?}");
    drop((write, client));
    baseline.assert_no_leak(&server).await;
}

/// A signal with an unknown name and a subsystem nobody configured are
/// refused with a log line each; the command goes on undisturbed.
#[tokio::test]
async fn unknown_signal_and_subsystem() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let (channel, _) = start_and_wait_for(&client, "echo ready; read line; echo got=$line", "ready").await;
    channel
        .signal(Sig::Custom("NO-SUCH-SIGNAL".into()))
        .await
        .unwrap();
    server.assert_logged("refused an unknown signal").await;
    channel.data_bytes(&b"line\n"[..]).await.unwrap();
    let rest = collect(channel, Duration::from_secs(20)).await;
    assert_eq!(rest.stdout, b"got=line\n", "{rest:?}");
    assert_eq!(rest.exit_status(), Some(0), "{rest:?}");

    let channel = client.channel().await;
    channel
        .request_subsystem(true, "no-such-subsystem")
        .await
        .unwrap();
    let reply = first_reply_then_close(channel).await;
    assert!(matches!(reply, Some(ChannelMsg::Failure)), "{reply:?}");
    server.assert_logged("refused an unknown subsystem").await;
    drop(client);
    baseline.assert_no_leak(&server).await;
}
