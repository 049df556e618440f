//! The builtin SFTP server's limits as a session: bounded memory on big
//! files, the session contract's order, no signals, and a hang-up or a
//! server stop that ends it promptly with nothing left behind.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use russh::Sig;

use crate::support::client::{Client, Event, collect_half};
use crate::support::leaks::Baseline;
use crate::support::transfer::Peer;
use crate::support::{Server, describe, wait_for};

/// The server's peak resident memory (VmHWM) in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A sparse file of `len` bytes: big to transfer, free to make.
fn sparse(path: &std::path::Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// Downloading and uploading a 256 MiB file through the builtin (1 GiB
/// with `SESH_SOAK=1`, the README's figure) keeps the server's peak
/// resident memory under 40 MiB: nothing buffers a whole file.
#[test]
fn big_transfers_keep_memory_bounded() {
    let size: u64 = if std::env::var_os("SESH_SOAK").is_some() {
        1 << 30
    } else {
        256 << 20
    };
    let server = Server::start_sh(&[]);
    let pid = server.child.id();
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (source, down, up) = (
        dir.path().join("big"),
        dir.path().join("down"),
        dir.path().join("up"),
    );
    sparse(&source, size);
    let before = peak_kib(pid);
    let batch = format!(
        "get {} {}\nput {} {}\n",
        source.display(),
        down.display(),
        down.display(),
        up.display()
    );
    let output = peer.sftp_batch(&batch);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(std::fs::metadata(&up).unwrap().len(), size);
    let peak = peak_kib(pid);
    eprintln!("sftp get+put of {size} bytes: server VmHWM {before} KiB before, {peak} KiB after");
    assert!(peak < 40 * 1024, "server peak {peak} KiB for a {size}-byte file");
}

/// A client that vanishes mid-download (killed) hangs the builtin up: the
/// session is logged as cancelled (SIGHUP) and hung up, and the server is
/// back to its baseline of descriptors with nothing left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_cancels_the_builtin() {
    let server = Server::start_sh(&[]);
    let baseline = Baseline::take(&server).await;
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("big"), dir.path().join("partial"));
    sparse(&source, 8 << 30);
    std::fs::write(
        peer.home.path().join("batch"),
        format!("get {} {}\n", source.display(), target.display()),
    )
    .unwrap();
    let mut sftp = Command::new("sftp");
    sftp.env("HOME", peer.home.path())
        .args(["-P", &server.port().to_string(), "-F", "/dev/null", "-i"])
        .arg(server.keys.identity())
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .arg("-b")
        .arg(peer.home.path().join("batch"))
        .arg("127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = sftp.spawn().unwrap();
    let started = wait_for(Duration::from_secs(30), || {
        std::fs::metadata(&target).is_ok_and(|m| m.len() > 4 << 20)
    });
    // sftp and its ssh are one process group, started by this test.
    // SAFETY: killpg has no memory-safety preconditions.
    unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    assert!(started, "the download never started:\n{}", server.log());
    // Cancelled, not merely run out of input: it reports SIGHUP, as a
    // hung-up command would.
    server.assert_logged("ending=signal HUP hung_up=true").await;
    baseline.assert_no_leak(&server).await;
}

/// SIGTERM to the server during a download hangs the builtin up (its
/// session reports SIGHUP) and the server exits 0 within its grace period.
#[test]
fn server_stop_ends_a_transfer() {
    let mut server = Server::start_sh(&[]);
    let peer = Peer::of(&server);
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("big"), dir.path().join("partial"));
    sparse(&source, 8 << 30);
    let batch = format!("get {} {}\n", source.display(), target.display());
    let client = std::thread::spawn(move || peer.sftp_batch(&batch));
    let started = wait_for(Duration::from_secs(30), || {
        std::fs::metadata(&target).is_ok_and(|m| m.len() > 4 << 20)
    });
    assert!(started, "the download never started:\n{}", server.log());
    let status = server.terminate(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "serve did not stop: {status:?}\n{}",
        server.log()
    );
    let output = client.join().unwrap();
    assert!(
        !output.status.success(),
        "the cut download succeeded: {}",
        describe(&output)
    );
    // The builtin was hung up and reported it before the server exited.
    let log = server.log();
    assert!(log.contains("ending=signal HUP hung_up=false"), "{log}");
}

/// Over a raw channel the builtin keeps the session contract: the
/// subsystem is accepted, a signal is refused (it takes none), INIT gets
/// VERSION 3, and client EOF ends it with data, EOF, exit-status 0, CLOSE.
#[tokio::test]
async fn raw_channel_keeps_the_contract() {
    let server = Server::start_sh(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let (read, write) = client.channel().await.split();
    write.request_subsystem(true, "sftp").await.unwrap();
    write.signal_with_reply(Sig::TERM).await.unwrap();
    // SSH_FXP_INIT, version 3: length 5, type 1, uint32 3.
    write.data(&[0, 0, 0, 5, 1, 0, 0, 0, 3][..]).await.unwrap();
    write.eof().await.unwrap();
    let transcript = collect_half(read, Duration::from_secs(20)).await;
    assert_eq!(
        transcript.events[..2],
        [Event::Success, Event::Failure],
        "{transcript:?}"
    );
    assert_eq!(transcript.order_problem(), None, "{transcript:?}");
    assert_eq!(transcript.exit_status(), Some(0), "{transcript:?}");
    // SSH_FXP_VERSION (type 2), version 3, then the extensions.
    assert_eq!(
        transcript.stdout.get(4..9),
        Some(&[2, 0, 0, 0, 3][..]),
        "{transcript:?}"
    );
    let text = String::from_utf8_lossy(&transcript.stdout);
    assert!(text.contains("posix-rename@openssh.com"), "{text}");
}

/// A packet longer than the builtin takes (1 MiB against 256 KiB) ends the
/// session with exit status 1, in order, instead of reading on out of step.
#[tokio::test]
async fn oversized_packet_ends_the_session() {
    let server = Server::start_sh(&[]);
    let client = Client::login(server.addr, &server.keys.identity()).await;
    let (read, write) = client.channel().await.split();
    write.request_subsystem(true, "sftp").await.unwrap();
    write.data(&(1u32 << 20).to_be_bytes()[..]).await.unwrap();
    write.data(&vec![0xffu8; 64 * 1024][..]).await.unwrap();
    let transcript = collect_half(read, Duration::from_secs(20)).await;
    assert_eq!(transcript.order_problem(), None, "{transcript:?}");
    assert_eq!(transcript.exit_status(), Some(1), "{transcript:?}");
    server.assert_logged("a packet over the limit").await;
}
