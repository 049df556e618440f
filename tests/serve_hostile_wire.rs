//! Hostile bytes on the wire before anyone logs in: garbage banners, broken
//! packets, connections that stall, floods past `--max-connections`. Each
//! is refused or dropped with a log line, and afterwards the server still
//! serves and holds no more descriptors or processes than before.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::client::{Client, current_user};
use crate::support::leaks::Baseline;
use crate::support::{Server, eventually_async};

/// A banner a hostile client sends before its packets.
const BANNER: &[u8] = b"SSH-2.0-hostile\r\n";

/// Bytes no SSH peer would send, the same on every run.
fn noise(len: usize) -> Vec<u8> {
    crate::support::pattern_bytes(len, 0x9e37_79b9_7f4a_7c15)
}

/// A packet header promising `length` bytes, and a few of them.
fn packet_header(length: u32) -> Vec<u8> {
    let mut bytes = length.to_be_bytes().to_vec();
    bytes.extend_from_slice(&[0; 12]);
    bytes
}

/// How a connection ended from the client's side.
#[derive(Debug, PartialEq)]
enum End {
    /// The server closed (EOF or reset) within the time limit.
    Closed(Vec<u8>),
    /// Still open when the limit came.
    StillOpen(Vec<u8>),
}

/// Reads everything the server sends until it closes or `within` passes.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> End {
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return End::Closed(received),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => return End::StillOpen(received),
        }
    }
}

/// Connects, sends `payload` (a write the server cuts short is fine) and
/// reads until the server closes or 20 s pass. The socket stays open, so
/// whether the server really let go of its end shows in its descriptors.
async fn send_and_wait(addr: SocketAddr, payload: &[u8]) -> (End, TcpStream) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let _ = stream.write_all(payload).await;
    let end = read_until_closed(&mut stream, Duration::from_secs(20)).await;
    (end, stream)
}

/// Sends each case on a connection of its own and checks that the server
/// ends it by itself: the client reads the end, and the server holds no
/// descriptor for it while the client still has its socket open.
async fn assert_refused(server: &Server, baseline: &Baseline, cases: &[(&str, Vec<u8>)]) {
    for (name, payload) in cases {
        let (end, _open) = send_and_wait(server.addr, payload).await;
        assert!(matches!(end, End::Closed(_)), "{name}: not refused: {end:?}");
        assert!(
            baseline.released(server).await,
            "{name}: the server kept its end open\n{}",
            server.log()
        );
    }
}

/// Garbage where the client's banner belongs (an HTTP request, 64 KiB of
/// noise, a banner line far past the 255 bytes RFC 4253 allows, a line
/// with no end) is refused at once with a log line.
#[tokio::test]
async fn garbage_instead_of_a_banner() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;
    let mut long_banner = b"SSH-2.0-".to_vec();
    long_banner.extend(std::iter::repeat_n(b'A', 100_000));
    long_banner.extend_from_slice(b"\r\n");
    let cases = [
        ("http request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("64 KiB of noise", noise(64 * 1024)),
        ("long banner", long_banner),
        ("endless line", vec![b'A'; 300]),
    ];
    assert_refused(&server, &baseline, &cases).await;
    // The line comes a moment after the socket closes.
    let logged = || server.log().matches("invalid SSH version string").count() == cases.len();
    assert!(
        eventually_async(Duration::from_secs(10), logged).await,
        "{}",
        server.log()
    );
    baseline.assert_no_leak(&server).await;
}

/// After a valid banner: a packet cut short by the client's close, packets
/// claiming 1 GiB and 300 KiB (past the 256 KiB limit), and an empty one
/// (russh takes it for the end and waits for the client to close: the
/// server closes after a short linger). Each ends the connection with a
/// log line, well before the login grace time of 2 minutes.
#[tokio::test]
async fn broken_packets() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;

    // Cut short: the client closes after 16 of the 4096 bytes promised.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(BANNER).await.unwrap();
    stream.write_all(&packet_header(4096)).await.unwrap();
    drop(stream);

    let with_banner = |packet: Vec<u8>| [BANNER.to_vec(), packet].concat();
    let cases = [
        ("1 GiB packet", with_banner(packet_header(1 << 30))),
        ("300 KiB packet", with_banner(packet_header(300 * 1024))),
        ("empty packet", with_banner(vec![0; 4])),
    ];
    assert_refused(&server, &baseline, &cases).await;
    for line in [
        "early eof",
        "Bad packet size: 1073741824",
        "Bad packet size: 307200",
        "connection closed before authentication",
    ] {
        server.assert_logged(line).await;
    }
    baseline.assert_no_leak(&server).await;
}

/// A connection that sends nothing, and one that sends its banner and then
/// stalls in key exchange, are both dropped after `--login-grace-time`
/// and give their `--max-connections` slots back.
#[tokio::test]
async fn stalled_logins_dropped_after_grace_time() {
    let server = Server::start_sh(&["--login-grace-time", "2s", "--max-connections", "2"]);
    let baseline = Baseline::take(&server).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled.write_all(BANNER).await.unwrap();
    for (name, stream) in [("silent", &mut silent), ("stalled in kex", &mut stalled)] {
        let end = read_until_closed(stream, Duration::from_secs(30)).await;
        let End::Closed(received) = end else {
            panic!("{name} connection still open: {end:?}\n{}", server.log());
        };
        assert!(received.starts_with(b"SSH-2.0-"), "{name}: {received:?}");
    }
    // Both still open on this side: the server has let go of its own end.
    assert!(baseline.released(&server).await, "sockets kept\n{}", server.log());
    drop((silent, stalled));
    let logged = || server.log().matches("login grace time over").count() == 2;
    assert!(
        eventually_async(Duration::from_secs(10), logged).await,
        "{}",
        server.log()
    );
    // Both slots are free again: two logins at once.
    let first = Client::login_when_admitted(server.addr, &server.keys.identity()).await;
    let second = Client::login_when_admitted(server.addr, &server.keys.identity()).await;
    assert_eq!(second.run("echo two").await.stdout, b"two\n");
    drop((first, second));
    baseline.assert_no_leak(&server).await;
}

/// Connections past `--max-connections` get the server's banner and a
/// DISCONNECT saying "too many connections" (the OpenSSH client shows it),
/// while the sessions already running go on unaffected; once they end, a
/// new connection gets in.
#[tokio::test]
async fn connections_past_the_limit_are_told_why() {
    let server = Server::start_sh(&["--max-connections", "2"]);
    let baseline = Baseline::take(&server).await;
    let first = Client::login(server.addr, &server.keys.identity()).await;
    let second = Client::login(server.addr, &server.keys.identity()).await;
    let running = first.channel().await;
    running.exec(true, "read line; echo got $line").await.unwrap();

    for _ in 0..5 {
        let (end, _) = send_and_wait(server.addr, BANNER).await;
        let End::Closed(received) = end else {
            panic!("extra connection kept open: {end:?}");
        };
        assert_too_many(&received);
    }
    let ssh = crate::support::ssh_with(&server.ssh_command(&server.keys.identity()), "true", b"");
    assert_eq!(ssh.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&ssh.stderr);
    assert!(stderr.contains("too many connections"), "{stderr}");
    assert!(
        Client::connect(server.addr, &server.keys.identity(), &current_user())
            .await
            .is_err()
    );

    running.data_bytes(&b"more\n"[..]).await.unwrap();
    running.eof().await.unwrap();
    let transcript = crate::support::client::collect(running, Duration::from_secs(20)).await;
    assert_eq!(transcript.stdout, b"got more\n", "{transcript:?}");
    assert_eq!(second.run("echo second").await.stdout, b"second\n");
    drop((first, second));
    let admitted = Client::login_when_admitted(server.addr, &server.keys.identity()).await;
    assert_eq!(admitted.run("echo in").await.stdout, b"in\n");
    drop(admitted);
    server
        .assert_logged("refused a connection: too many connections")
        .await;
    baseline.assert_no_leak(&server).await;
}

/// What a refused connection receives: a banner, then an unencrypted
/// DISCONNECT with reason 12 (too many connections) and a description.
fn assert_too_many(received: &[u8]) {
    let text = String::from_utf8_lossy(received);
    let Some(end) = received.windows(2).position(|w| w == b"\r\n") else {
        panic!("no banner: {text:?}");
    };
    assert!(received.starts_with(b"SSH-2.0-"), "{text:?}");
    let packet = &received[end + 2..];
    assert!(packet.len() > 10, "no packet after the banner: {text:?}");
    let payload = &packet[5..];
    assert_eq!(payload[0], 1, "not a DISCONNECT: {text:?}");
    assert_eq!(&payload[1..5], &12u32.to_be_bytes(), "{text:?}");
    assert!(text.contains("too many connections"), "{text:?}");
}
