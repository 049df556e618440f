//! Clients that push against the limits once connected: channels past
//! `--max-sessions`, wrong keys past `--max-auth-tries`, and a DISCONNECT
//! from a client that then keeps its socket open. Each is refused or ended
//! with a log line, the server keeps serving, and nothing leaks.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use russh::ChannelOpenFailure;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::support::client::{Client, collect, current_user, start_and_wait_for};
use crate::support::leaks::Baseline;
use crate::support::{Server, eventually_async, gone};

/// Channels past `--max-sessions` get a channel-open failure (resource
/// shortage); the open ones still run commands, and once some close, new
/// ones open.
#[tokio::test]
async fn sessions_past_the_limit() {
    let server = Server::start_sh(&["--max-sessions", "3"]);
    let baseline = Baseline::take(&server).await;
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(client.channel().await);
    }
    for _ in 0..3 {
        let refused = client.handle.channel_open_session().await;
        assert!(
            matches!(
                refused,
                Err(russh::Error::ChannelOpenFailure(
                    ChannelOpenFailure::ResourceShortage
                ))
            ),
            "{:?}",
            refused.map(|c| c.id())
        );
    }
    for (i, channel) in open.drain(..).enumerate() {
        channel.exec(true, format!("echo open-{i}")).await.unwrap();
        channel.eof().await.unwrap();
        let transcript = collect(channel, Duration::from_secs(20)).await;
        assert_eq!(
            transcript.stdout,
            format!("open-{i}\n").as_bytes(),
            "{transcript:?}"
        );
    }
    // Their slots come back as each session task ends.
    for i in 0..3 {
        let mut channel = None;
        for _ in 0..100 {
            if let Ok(opened) = client.handle.channel_open_session().await {
                channel = Some(opened);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let channel = channel.expect("no channel after the others closed");
        channel.exec(true, format!("echo again-{i}")).await.unwrap();
        open.push(channel);
    }
    for channel in open {
        channel.eof().await.unwrap();
        assert_eq!(
            collect(channel, Duration::from_secs(20)).await.exit_status(),
            Some(0)
        );
    }
    server
        .assert_logged("refused a session channel: too many on this connection")
        .await;
    drop(client);
    baseline.assert_no_leak(&server).await;
}

/// Wrong keys past `--max-auth-tries`: each is refused, the limit is
/// logged, the next attempt ends the connection (russh's client reports
/// it as one more refusal); the right key on a new connection gets in.
#[tokio::test]
async fn wrong_keys_past_the_auth_limit() {
    let server = Server::start_sh(&["--max-auth-tries", "2"]);
    let baseline = Baseline::take(&server).await;
    let config = std::sync::Arc::new(russh::client::Config::default());
    let mut handle = russh::client::connect(config, server.addr, crate::support::client::TrustAll)
        .await
        .unwrap();
    let key = std::sync::Arc::new(russh::keys::load_secret_key(server.keys.stranger(), None).unwrap());
    for attempt in 1..=3 {
        let key = russh::keys::PrivateKeyWithHashAlg::new(key.clone(), None);
        let outcome = handle.authenticate_publickey(current_user(), key).await;
        assert!(!outcome.is_ok_and(|r| r.success()), "attempt {attempt} got in");
        assert!(
            !handle.is_closed() || attempt == 3,
            "closed after attempt {attempt}"
        );
    }
    server.assert_logged("too many authentication attempts").await;
    let closed = eventually_async(Duration::from_secs(20), || handle.is_closed()).await;
    assert!(closed, "connection kept after the limit\n{}", server.log());
    drop(handle);
    baseline.assert_no_leak(&server).await;
}

/// A TCP stream that never half-closes and stays open after the client
/// drops it: the peer that sends DISCONNECT and keeps its socket.
struct HoldsOpen {
    inner: tokio::net::TcpStream,
}

impl AsyncRead for HoldsOpen {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for HoldsOpen {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A client that sends DISCONNECT but keeps its TCP socket open no longer
/// keeps its commands alive: the server closes its end after a short
/// linger and hangs the running command up.
#[tokio::test]
async fn disconnect_without_closing_the_socket() {
    let server = Server::start_sh(&["--hangup-grace", "1s"]);
    let baseline = Baseline::take(&server).await;
    let socket = std::net::TcpStream::connect(server.addr).unwrap();
    // A second descriptor for the same socket: when russh drops its own,
    // the socket stays open.
    let _kept = socket.try_clone().unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = HoldsOpen {
        inner: tokio::net::TcpStream::from_std(socket).unwrap(),
    };
    let client = Client::login_over(stream, &server.keys.identity()).await;
    let (_channel, transcript) = start_and_wait_for(&client, "echo $$; exec sleep 300", "\n").await;
    let pid: i32 = String::from_utf8_lossy(&transcript.stdout)
        .trim()
        .parse()
        .unwrap();
    client
        .handle
        .disconnect(russh::Disconnect::ByApplication, "bye", "")
        .await
        .unwrap();
    assert!(
        eventually_async(Duration::from_secs(20), || gone(pid)).await,
        "command {pid} still running after the client's DISCONNECT\n{}",
        server.log()
    );
    assert!(
        baseline.released(&server).await,
        "server kept the socket: {:?}\n{}",
        crate::support::holdings(server.child.id()),
        server.log()
    );
    server
        .assert_logged("kept its socket open after the disconnect")
        .await;
    server.assert_logged("hung_up=true").await;
    drop(client);
    baseline.assert_no_leak(&server).await;
}
