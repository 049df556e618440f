//! Load and soak: many sessions one after another, many at once, and a
//! slow reader against a fast writer. The suite runs them small; with
//! `SESH_SOAK=1` they run at full size (README "Robustness"): 10,000
//! sequential sessions, 500 concurrent ones five times over, three minutes
//! of slow reading. Figures go to stderr (`--nocapture` shows them).

use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::client::Client;
use crate::support::exec::Remote;
use crate::support::{Holdings, Server, holdings, rss_kib};

/// How big: the suite's size, or the soak's.
struct Scale {
    sequential: usize,
    concurrent_rounds: usize,
    slow_reading: Duration,
}

fn scale() -> Scale {
    if std::env::var_os("SESH_SOAK").is_some() {
        Scale {
            sequential: 10_000,
            concurrent_rounds: 5,
            slow_reading: Duration::from_secs(180),
        }
    } else {
        Scale {
            sequential: 300,
            concurrent_rounds: 1,
            slow_reading: Duration::from_secs(6),
        }
    }
}

/// Sessions one after another, each on a new connection: the server's
/// fds, threads and memory do not grow with their number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_sessions_leak_nothing() {
    let server = Server::start(&["--shell", "/bin/sh"]);
    let pid = server.child.id();
    let total = scale().sequential;
    let mut samples: Vec<(usize, Holdings)> = Vec::new();
    let started = Instant::now();
    for n in 0..total {
        let client = Client::login(server.addr, &server.keys.identity()).await;
        let transcript = client.run(&format!("echo {n}")).await;
        assert_eq!(
            transcript.stdout,
            format!("{n}\n").as_bytes(),
            "session {n}: {}",
            transcript.ending()
        );
        drop(client);
        if n % (total / 10) == 0 || n == total - 1 {
            // Let the last connection wind down before counting.
            tokio::time::sleep(Duration::from_millis(200)).await;
            samples.push((n, holdings(pid)));
        }
    }
    eprintln!(
        "{total} sequential sessions in {:.1} s; server after session n:",
        started.elapsed().as_secs_f64()
    );
    for (n, held) in &samples {
        eprintln!("  {n:>6}: {held:?}");
    }
    // The first sample is after one session: everything lazily made
    // (runtime threads, buffers) exists by then.
    let first = samples[1].1;
    let last = samples.last().unwrap().1;
    assert!(last.fds <= first.fds, "fds grew: {first:?} -> {last:?}");
    assert!(
        last.threads <= first.threads + 2,
        "threads grew: {first:?} -> {last:?}"
    );
    assert!(
        last.rss_kib <= first.rss_kib + 4 * 1024,
        "memory grew: {first:?} -> {last:?}"
    );
    assert_eq!(last.children, 0);
}

/// 500 sessions at once, ten channels on each of 50 connections, each
/// printing its own numbers: every one completes with every byte right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_sessions() {
    let server = Arc::new(Server::start(&["--shell", "/bin/sh", "--max-connections", "60"]));
    for round in 0..scale().concurrent_rounds {
        let started = Instant::now();
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let connections: Vec<_> = (0..50)
            .map(|c| {
                let server = server.clone();
                let peak = peak.clone();
                tokio::spawn(async move {
                    let client = Client::login(server.addr, &server.keys.identity()).await;
                    let commands: Vec<String> = (0..10)
                        .map(|s| {
                            let first = (c * 10 + s) * 1000;
                            format!("seq {first} {}", first + 5000)
                        })
                        .collect();
                    let sessions = commands.iter().map(|command| client.run(command));
                    for (s, transcript) in futures::future::join_all(sessions).await.into_iter().enumerate() {
                        let first = (c * 10 + s) * 1000;
                        let expected = seq_from(first, first + 5000);
                        assert!(
                            transcript.stdout == expected && transcript.exit_status() == Some(0),
                            "connection {c} session {s}: {} bytes, {}",
                            transcript.stdout.len(),
                            transcript.ending()
                        );
                    }
                    peak.fetch_max(rss_kib(server.child.id()), std::sync::atomic::Ordering::Relaxed);
                })
            })
            .collect();
        for connection in connections {
            connection.await.expect("a connection's sessions");
        }
        eprintln!(
            "round {round}: 500 concurrent sessions in {:.1} s, server RSS up to {} KiB",
            started.elapsed().as_secs_f64(),
            peak.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

/// `seq first last` as bytes.
fn seq_from(first: usize, last: usize) -> Vec<u8> {
    (first..=last)
        .map(|n| format!("{n}\n"))
        .collect::<String>()
        .into_bytes()
}

/// `sesh exec` streaming `cat /dev/zero` into a reader that takes 64 KiB
/// every 5 ms: neither the server's nor the client's memory climbs.
#[test]
fn slow_reader_fast_writer_memory_flat() {
    let server = Server::start(&[]);
    let remote = Remote::of_serve(&server);
    let mut exec = remote.command(&["-n"]);
    let mut exec = exec.arg("cat /dev/zero").stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = exec.stdout.take().unwrap();
    let duration = scale().slow_reading;
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next_sample = started + Duration::from_millis(500);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    while started.elapsed() < duration {
        stdout.read_exact(&mut buf).expect("zeros keep coming");
        total += buf.len() as u64;
        std::thread::sleep(Duration::from_millis(5));
        if Instant::now() >= next_sample {
            samples.push((rss_kib(server.child.id()), rss_kib(exec.id())));
            next_sample += Duration::from_millis(500);
        }
    }
    exec.kill().unwrap();
    exec.wait().unwrap();
    let half = samples.len() / 2;
    let peak = |from: &[(u64, u64)]| {
        from.iter()
            .fold((0, 0), |(s, c), &(server, client)| (s.max(server), c.max(client)))
    };
    let (early, late) = (peak(&samples[..half]), peak(&samples[half..]));
    eprintln!(
        "{} MB read slowly in {:.0} s; peak RSS server/client: first half {early:?} KiB, second half {late:?} KiB",
        total / 1_000_000,
        duration.as_secs_f64()
    );
    assert!(late.0 <= early.0 + 2048, "server memory climbed: {samples:?}");
    assert!(late.1 <= early.1 + 2048, "client memory climbed: {samples:?}");
}
