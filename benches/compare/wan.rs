//! Scenario 7, the WAN section: the four pairs through a delay relay at
//! each round-trip time asked for (50 ms and 10 ms by default): 256 MiB
//! down and up, and connect + authenticate + `true` in ms and in round
//! trips; first the relay's own raw TCP rate, which must stay far above
//! every SSH figure. `--wan-trace` also prints, per pair, every chunk the
//! relay saw on one `true` run, to count its round trips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::measure::{self, Counted};
use crate::peers::{Pair, Peers, ServerKind};
use crate::relay::{Direction, Relay};
use crate::report::{Report, Row};
use crate::scenarios::Settings;

/// How much of the WAN section, and which part of it.
pub struct WanSettings {
    /// Round-trip times, in ms.
    pub rtts: Vec<u64>,
    pub pairs: Vec<Pair>,
    pub bytes: u64,
    pub runs: usize,
    pub latency_runs: usize,
    /// Bytes of the relay's raw TCP check.
    pub raw_bytes: u64,
    pub trace: bool,
}

impl WanSettings {
    /// 2 min 41 s with tuned windows (7 min with the old fixed ones): the
    /// 50 ms rounds dominate, three of them, and the 10 ms ones are a fifth.
    pub fn full() -> Self {
        Self {
            rtts: vec![50, 10],
            pairs: Pair::ALL.to_vec(),
            bytes: 256 << 20,
            runs: 3,
            latency_runs: 5,
            raw_bytes: 1 << 30,
            trace: false,
        }
    }

    pub fn tiny() -> Self {
        Self {
            rtts: vec![4],
            pairs: Pair::ALL.to_vec(),
            bytes: 1 << 20,
            runs: 1,
            latency_runs: 1,
            raw_bytes: 16 << 20,
            trace: false,
        }
    }
}

/// Every measurement of one pair at one round-trip time.
#[derive(Default)]
struct Figures {
    down: Vec<f64>,
    up: Vec<f64>,
    true_ms: Vec<f64>,
}

pub fn wan(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    let wan = &settings.wan;
    for &rtt in &wan.rtts {
        let one_way = Duration::from_micros(rtt * 500);
        let (direct, relayed) = (
            raw_rate(None, wan.raw_bytes)?,
            raw_rate(Some(one_way), wan.raw_bytes)?,
        );
        for (what, rate) in [("loopback alone", direct), ("relay alone", relayed)] {
            let what = format!("{rtt} ms RTT, {what}: raw TCP {}", size(wan.raw_bytes));
            report.rows.push(Row::new("wan", what, "MB/s", vec![rate]));
        }
        let serve = Relay::start(peers.serve.port, one_way, wan.trace)?;
        let sshd = Relay::start(peers.sshd.port, one_way, wan.trace)?;
        peers.trust(serve.port, ServerKind::SeshServe)?;
        peers.trust(sshd.port, ServerKind::Sshd)?;
        let relay = |pair: &Pair| match pair.1 {
            ServerKind::SeshServe => &serve,
            ServerKind::Sshd => &sshd,
        };
        if wan.trace {
            for pair in &wan.pairs {
                measure::run(peers.client_at(*pair, relay(pair).port, "true"))?;
                print_trace(*pair, rtt, relay(pair));
            }
        }
        let ports: Vec<u16> = wan.pairs.iter().map(|pair| relay(pair).port).collect();
        let figures = rounds(peers, wan, &ports)?;
        for (pair, figures) in wan.pairs.iter().zip(figures) {
            rows(report, rtt, *pair, wan.bytes, figures);
        }
    }
    Ok(())
}

/// Every pair's runs, each pair reaching its server through `ports[i]`;
/// the contenders alternate inside every round, as in the other scenarios.
fn rounds(peers: &Peers, wan: &WanSettings, ports: &[u16]) -> Result<Vec<Figures>, String> {
    let mut figures: Vec<Figures> = wan.pairs.iter().map(|_| Figures::default()).collect();
    for round in 0..wan.runs.max(wan.latency_runs) {
        for ((pair, figures), port) in wan.pairs.iter().zip(&mut figures).zip(ports) {
            if round < wan.latency_runs {
                let took = measure::run(peers.client_at(*pair, *port, "true"))?;
                figures.true_ms.push(took.as_secs_f64() * 1000.0);
            }
            if round < wan.runs {
                figures.down.push(download(peers, *pair, *port, wan.bytes)?);
                figures.up.push(upload(peers, *pair, *port, wan.bytes)?);
            }
        }
    }
    Ok(figures)
}

fn rows(report: &mut Report, rtt: u64, pair: Pair, bytes: u64, figures: Figures) {
    let size = size(bytes);
    let rtts = figures.true_ms.iter().map(|ms| ms / rtt as f64).collect();
    for (what, unit, values) in [
        (format!("{rtt} ms RTT, {size} down: {pair}"), "MB/s", figures.down),
        (format!("{rtt} ms RTT, {size} up: {pair}"), "MB/s", figures.up),
        (format!("{rtt} ms RTT, true: {pair}"), "ms", figures.true_ms),
        (format!("{rtt} ms RTT, true in RTTs: {pair}"), "RTT", rtts),
    ] {
        report.rows.push(Row::new("wan", what, unit, values));
    }
}

/// "256 MiB", "1 MiB": the transfer's size as the rows name it.
pub fn size(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

fn rate(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

fn download(peers: &Peers, pair: Pair, port: u16, bytes: u64) -> Result<f64, String> {
    let start = Instant::now();
    let command = format!("head -c {bytes} /dev/zero");
    let got = Counted::spawn(peers.client_at(pair, port, &command))?
        .finish()
        .map_err(|e| format!("download {pair}: {e}"))?;
    let elapsed = start.elapsed();
    if got != bytes {
        return Err(format!("download {pair}: {got} bytes of {bytes}"));
    }
    Ok(rate(bytes, elapsed))
}

fn upload(peers: &Peers, pair: Pair, port: u16, bytes: u64) -> Result<f64, String> {
    let elapsed = measure::upload(peers.client_at(pair, port, "cat > /dev/null"), bytes)
        .map_err(|e| format!("upload {pair}: {e}"))?;
    Ok(rate(bytes, elapsed))
}

/// `bytes` through a relay with `one_way` delay to a plain TCP sink: the
/// relay's own rate (MB/s), from the first byte sent to the last received;
/// with `None`, straight to the sink (loopback's own rate, for scale).
fn raw_rate(one_way: Option<Duration>, bytes: u64) -> Result<f64, String> {
    let sink = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("sink: {e}"))?;
    let sink_port = sink.local_addr().map_err(|e| e.to_string())?.port();
    let counter = std::thread::spawn(move || {
        let (mut socket, _) = sink.accept()?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            match socket.read(&mut buf)? {
                0 => return Ok::<_, std::io::Error>((total, Instant::now())),
                n => total += n as u64,
            }
        }
    });
    let relay = match one_way {
        Some(one_way) => Some(Relay::start(sink_port, one_way, false)?),
        None => None,
    };
    let port = relay.as_ref().map_or(sink_port, |relay| relay.port);
    let mut socket = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("relay: {e}"))?;
    let start = Instant::now();
    let block = vec![0u8; 256 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        socket.write_all(&block[..n]).map_err(|e| format!("relay: {e}"))?;
        left -= n as u64;
    }
    drop(socket);
    let (got, end) = counter
        .join()
        .map_err(|_| "sink thread panicked".to_string())?
        .map_err(|e| format!("sink: {e}"))?;
    if got != bytes {
        return Err(format!("relay: {got} bytes of {bytes} arrived"));
    }
    Ok(rate(bytes, end - start))
}

/// The chunks of the relay's latest connection, one line per burst (the
/// reads of one direction in a row), with its round trip: a burst the
/// other side sent in answer starts a new one.
fn print_trace(pair: Pair, rtt: u64, relay: &Relay) {
    println!("\ntrace, {pair} at {rtt} ms RTT (time at the relay, since the client connected):");
    let mut bursts: Vec<(Duration, Direction, usize, usize)> = Vec::new();
    for chunk in relay.trace() {
        match bursts.last_mut() {
            Some(last) if last.1 == chunk.direction => {
                last.2 += chunk.bytes;
                last.3 += 1;
            }
            _ => bursts.push((chunk.at, chunk.direction, chunk.bytes, 1)),
        }
    }
    for (at, direction, bytes, reads) in bursts {
        let (arrow, rtts) = (
            match direction {
                Direction::Up => "client -> server",
                Direction::Down => "server -> client",
            },
            at.as_secs_f64() * 1000.0 / rtt as f64,
        );
        println!(
            "  {:>8.1} ms ({rtts:>4.1} RTT)  {arrow}  {bytes:>6} B in {reads} reads",
            ms(at)
        );
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// The targets at 50 ms RTT, judged on the medians (when that
/// round-trip time ran).
pub fn judge(report: &mut Report, wan: &WanSettings) {
    let size = size(wan.bytes);
    let row = |direction: &str, pair: &str| format!("50 ms RTT, {size} {direction}: {pair}");
    let (sesh, openssh) = ("sesh exec -> sesh serve", "ssh -> sshd");
    let ratios = [
        ("down", sesh, 5.0),
        ("up", sesh, 5.0),
        ("down", "sesh exec -> sshd", 2.0),
        ("up", "ssh -> sesh serve", 2.0),
    ];
    for (direction, pair, goal) in ratios {
        let (a, b) = (row(direction, pair), row(direction, openssh));
        let met: fn(f64) -> bool = if goal == 5.0 { |r| r >= 5.0 } else { |r| r >= 2.0 };
        report.ratio(
            &format!("wan 50 ms {direction} {pair} / ssh -> sshd >= {goal}"),
            ("wan", &a),
            ("wan", &b),
            met,
        );
    }
    let rtts = |pair: &str| format!("50 ms RTT, true in RTTs: {pair}");
    for (pair, goal) in [(sesh, 5.0), ("sesh exec -> sshd", 6.0)] {
        let met: fn(f64) -> bool = if goal == 5.0 { |r| r <= 5.0 } else { |r| r <= 6.0 };
        report.value(
            &format!("wan 50 ms connect+auth+true {pair} <= {goal} RTT"),
            ("wan", &rtts(pair)),
            met,
        );
    }
}
