//! Receive-window auto-tuning on a long path (a delay relay, 80 ms round
//! trip): the window grows to its cap on both sides, and a reader that
//! stops for 10 s while it is there leaves memory within the cap plus a
//! fixed overhead.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::exec::Remote;
use crate::support::relay::Relay;
use crate::support::{Keys, Server, rss_kib};

/// One-way delay of the relay.
const DELAY: Duration = Duration::from_millis(40);
/// The cap under test, and what russh logs when a window reaches it.
const CAP: &str = "8M";
const AT_CAP: &str = "-> 8388608 ";
/// The tuner's lines only, whatever else is logged.
const LOG: &str = "RUST_LOG=sesh=info,russh::window_tuner=debug";
/// Memory allowed on top of the cap: runtime, buffers, the channel queue.
const OVERHEAD_KIB: u64 = 40 * 1024;

/// `sesh exec --window-max 8M` through the relay to `server`.
fn through_relay(server: &Server, relay: &Relay, command: &str) -> Command {
    through_relay_capped(server, relay, command, CAP)
}

/// The same with another cap.
fn through_relay_capped(server: &Server, relay: &Relay, command: &str, cap: &str) -> Command {
    let mut remote = Remote::of_serve(server);
    remote.target = format!("127.0.0.1:{}", relay.port);
    let mut sesh = remote.command(&["--window-max", cap]);
    sesh.arg(command).env("RUST_LOG", LOG.split_once('=').unwrap().1);
    sesh
}

/// Largest RSS of `pid` over `pause`, sampled every 100 ms.
fn peak_over(pid: u32, pause: Duration) -> u64 {
    let end = Instant::now() + pause;
    let mut peak = 0;
    while Instant::now() < end {
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    peak
}

/// Download: sesh exec's window grows to the cap; its reader (this test)
/// then stops for 10 s, and sesh exec's memory stays within the cap plus
/// overhead; every byte arrives afterwards and the exit status is 0.
#[test]
fn client_window_grows_and_a_stalled_reader_stays_bounded() {
    let server = Server::start_sh(&[]);
    let relay = Relay::start(server.addr.port(), DELAY, false).unwrap();
    let total: usize = 200_000_000;
    let mut sesh = through_relay(&server, &relay, &format!("head -c {total} /dev/zero"));
    let mut child = sesh
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0; 1 << 20];
    let mut got = 0;
    while got < 60_000_000 {
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    let peak = peak_over(child.id(), Duration::from_secs(10));
    while let Ok(n @ 1..) = stdout.read(&mut buf) {
        got += n;
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(got, total);
    assert!(
        stderr.contains(AT_CAP),
        "the window never reached {CAP}: {stderr}"
    );
    eprintln!("sesh exec RSS while the reader stopped: {peak} KiB");
    assert!(peak < 8 * 1024 + OVERHEAD_KIB, "sesh exec reached {peak} KiB");
}

/// Upload: sesh serve's window grows to the cap; the command then stops
/// reading for 10 s, and the server's memory stays within the cap plus
/// overhead (what it cannot take yet goes to the input spill); the
/// command gets every byte afterwards.
#[test]
fn server_window_grows_and_a_stalled_command_stays_bounded() {
    let keys = Keys::new();
    let authorized_keys = keys.authorized_keys();
    let args = [
        "--ephemeral-host-key",
        "--authorized-keys",
        authorized_keys.to_str().unwrap(),
        "--shell",
        "/bin/sh",
        "--window-max",
        CAP,
    ];
    let server = Server::start_through(&["env", LOG], keys, &args);
    let before = rss_kib(server.child.id());
    let relay = Relay::start(server.addr.port(), DELAY, false).unwrap();
    let total: usize = 200_000_000;
    let command = "head -c 60000000 >/dev/null; sleep 10; wc -c";
    let mut sesh = through_relay(&server, &relay, command);
    let mut child = sesh
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..total / chunk.len() {
            std::io::Write::write_all(&mut stdin, &chunk).unwrap();
        }
        std::io::Write::write_all(&mut stdin, &vec![b'x'; total % chunk.len()]).unwrap();
    });
    // The command reads 60 MB, then sleeps: sample across its pause.
    std::thread::sleep(Duration::from_secs(2));
    let peak = peak_over(server.child.id(), Duration::from_secs(8));
    writer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        crate::support::describe(&output)
    );
    let left = (total - 60_000_000).to_string();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), left);
    let log = server.log();
    assert!(log.contains(AT_CAP), "the window never reached {CAP}: {log}");
    eprintln!("sesh serve RSS: {before} KiB at rest, {peak} KiB while the command stopped");
    assert!(
        peak < before + 8 * 1024 + OVERHEAD_KIB,
        "sesh serve grew from {before} to {peak} KiB"
    );
}

/// `--window-max 2M` (russh's starting window) keeps the window fixed: on
/// the same long path, where the default grows it, no target ever moves,
/// and every byte still arrives.
#[test]
fn a_cap_at_the_start_keeps_the_window_fixed() {
    let server = Server::start_sh(&[]);
    let relay = Relay::start(server.addr.port(), DELAY, false).unwrap();
    let total = 20_000_000;
    let command = format!("head -c {total} /dev/zero");
    let output = crate::support::run_with_input(through_relay_capped(&server, &relay, &command, "2M"), b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(output.stdout.len(), total);
    assert!(!stderr.contains("channel window target"), "{stderr}");
}
