//! The five measurements of the comparison. Each repeats its runs with
//! the contenders alternating inside every round, so machine noise hits
//! them alike, and checks what came back (bytes, exit status) before it
//! counts a time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::measure::{self, Counted, Sampler};
use crate::peers::{ClientKind, Pair, Peers, ServerKind};
use crate::report::{Report, Row};
use crate::wan::WanSettings;

/// How much of everything; `tiny` keeps it to seconds for the test suite.
pub struct Settings {
    pub latency_runs: usize,
    pub throughput_runs: usize,
    pub throughput_bytes: u64,
    pub sessions: usize,
    pub session_bytes: u64,
    pub concurrency_runs: usize,
    pub idle: usize,
    pub memory_runs: usize,
    pub targets: usize,
    pub fanout_runs: usize,
    /// Rounds of the reuse scenario's batch measurements.
    pub reuse_rounds: usize,
    pub reuse_sequential: usize,
    pub reuse_concurrent: usize,
    pub reuse_idle: usize,
    pub reuse_fanout: usize,
    pub wan: WanSettings,
    /// Addresses of the loopback fleet, and its rounds.
    pub fleet_targets: usize,
    pub fleet_runs: usize,
}

impl Settings {
    pub fn full() -> Self {
        Self {
            latency_runs: 20,
            throughput_runs: 5,
            throughput_bytes: 1 << 30,
            sessions: 200,
            session_bytes: 1_000_000,
            concurrency_runs: 3,
            idle: 100,
            memory_runs: 3,
            targets: 100,
            fanout_runs: 3,
            reuse_rounds: 3,
            reuse_sequential: 100,
            reuse_concurrent: 20,
            reuse_idle: 50,
            reuse_fanout: 50,
            wan: WanSettings::full(),
            fleet_targets: 1000,
            fleet_runs: 3,
        }
    }

    pub fn tiny() -> Self {
        Self {
            latency_runs: 2,
            throughput_runs: 1,
            throughput_bytes: 1 << 20,
            sessions: 10,
            session_bytes: 100_000,
            concurrency_runs: 1,
            idle: 5,
            memory_runs: 1,
            targets: 5,
            fanout_runs: 1,
            reuse_rounds: 1,
            reuse_sequential: 3,
            reuse_concurrent: 3,
            reuse_idle: 3,
            reuse_fanout: 3,
            wan: WanSettings::tiny(),
            fleet_targets: 5,
            fleet_runs: 1,
        }
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// Scenario 1: A fresh connection running `true`, per pair; and `sesh --version`.
pub fn latency(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    let mut times = vec![Vec::new(); Pair::ALL.len()];
    let mut version = Vec::new();
    for _ in 0..settings.latency_runs {
        for (pair, times) in Pair::ALL.iter().zip(&mut times) {
            times.push(ms(measure::run(peers.client(*pair, "true"))?));
        }
        let mut cmd = Command::new(&peers.sesh);
        cmd.arg("--version");
        version.push(ms(measure::run(cmd)?));
    }
    for (pair, times) in Pair::ALL.iter().zip(times) {
        report
            .rows
            .push(Row::new("latency", format!("true: {pair}"), "ms", times));
    }
    report
        .rows
        .push(Row::new("latency", "sesh --version", "ms", version));
    Ok(())
}

/// Scenario 2: Bytes from the remote command to local stdout, and from local stdin
/// to the remote command, in MB/s (10^6 bytes).
pub fn throughput(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    let bytes = settings.throughput_bytes;
    let mut down = vec![Vec::new(); Pair::ALL.len()];
    let mut up = vec![Vec::new(); Pair::ALL.len()];
    let rate = |elapsed: Duration| bytes as f64 / 1e6 / elapsed.as_secs_f64();
    for _ in 0..settings.throughput_runs {
        for (i, pair) in Pair::ALL.iter().enumerate() {
            let start = Instant::now();
            let got = Counted::spawn(peers.client(*pair, &format!("head -c {bytes} /dev/zero")))?.finish()?;
            let elapsed = start.elapsed();
            if got != bytes {
                return Err(format!("download {pair}: {got} bytes of {bytes}"));
            }
            down[i].push(rate(elapsed));
            let elapsed = measure::upload(peers.client(*pair, "cat > /dev/null"), bytes)
                .map_err(|e| format!("upload {pair}: {e}"))?;
            up[i].push(rate(elapsed));
        }
    }
    for (pair, (down, up)) in Pair::ALL.iter().zip(down.into_iter().zip(up)) {
        report
            .rows
            .push(Row::new("download", pair.to_string(), "MB/s", down));
        report.rows.push(Row::new("upload", pair.to_string(), "MB/s", up));
    }
    Ok(())
}

/// Scenario 3: Many sessions at once, one connection each, every one moving
/// `session_bytes` to its client: wall time and the server's peak memory.
pub fn concurrency(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    let mut wall = vec![Vec::new(); Pair::ALL.len()];
    let mut peak = vec![Vec::new(); Pair::ALL.len()];
    let command = format!("head -c {} /dev/zero", settings.session_bytes);
    for _ in 0..settings.concurrency_runs {
        for (i, pair) in Pair::ALL.iter().enumerate() {
            let server = peers.server(pair.1);
            let tree = pair.1 == ServerKind::Sshd;
            measure::reset_peak(server.pid());
            let sampler = Sampler::start(server.pid(), tree, Duration::from_millis(100));
            let start = Instant::now();
            let clients: Vec<Counted> = (0..settings.sessions)
                .map(|_| Counted::spawn(peers.client(*pair, &command)))
                .collect::<Result<_, _>>()?;
            for (n, client) in clients.into_iter().enumerate() {
                let got = client.finish().map_err(|e| format!("{pair}, session {n}: {e}"))?;
                if got != settings.session_bytes {
                    return Err(format!(
                        "{pair}, session {n}: {got} bytes of {}",
                        settings.session_bytes
                    ));
                }
            }
            wall[i].push(start.elapsed().as_secs_f64());
            let sampled = sampler.peak_kib();
            let kib = if tree {
                sampled
            } else {
                sampled.max(measure::peak_rss_kib(server.pid()))
            };
            peak[i].push(kib as f64 / 1024.0);
        }
    }
    let label = format!("{} x {} B", settings.sessions, settings.session_bytes);
    for (pair, (wall, peak)) in Pair::ALL.iter().zip(wall.into_iter().zip(peak)) {
        report
            .rows
            .push(Row::new("concurrent", format!("{label}: {pair}"), "s", wall));
        report.rows.push(Row::new(
            "concurrent",
            format!("server peak: {pair}"),
            "MiB",
            peak,
        ));
    }
    Ok(())
}

/// Scenario 4: Server memory at rest and with `idle` authenticated connections
/// that run nothing (`ssh -N`), and the cost of one such connection.
pub fn memory(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    for kind in [ServerKind::SeshServe, ServerKind::Sshd] {
        // "At rest" is the server before its first connection: later, the
        // allocator keeps some of what served earlier connections, and
        // counting from there would flatter the per-connection cost.
        let server = peers.server(kind);
        let at_rest = measure::server_kib(server.pid(), kind == ServerKind::Sshd);
        let rest = vec![at_rest as f64 / 1024.0];
        let (mut loaded, mut each) = (Vec::new(), Vec::new());
        for _ in 0..settings.memory_runs {
            let with_idle = idle_connections(peers, kind, settings.idle)?;
            loaded.push(with_idle as f64 / 1024.0);
            each.push(with_idle.saturating_sub(at_rest) as f64 / settings.idle as f64);
        }
        report.rows.push(Row::new(
            "memory",
            format!("{kind} at rest (before any connection)"),
            "MiB",
            rest,
        ));
        report.rows.push(Row::new(
            "memory",
            format!("{kind} with {} idle", settings.idle),
            "MiB",
            loaded,
        ));
        report.rows.push(Row::new(
            "memory",
            format!("{kind} per idle connection"),
            "KiB",
            each,
        ));
    }
    Ok(())
}

/// The server's memory with `count` idle connections (KiB).
fn idle_connections(peers: &Peers, kind: ServerKind, count: usize) -> Result<u64, String> {
    let server = peers.server(kind);
    let tree = kind == ServerKind::Sshd;
    let marker = match kind {
        ServerKind::SeshServe => "authenticated",
        ServerKind::Sshd => "Accepted publickey",
    };
    let logins = || server.log().matches(marker).count();
    let before = logins();
    let mut clients = Vec::new();
    for _ in 0..count {
        let child = Command::new("ssh")
            .args(peers.ssh_options())
            .args(["-N", "-p", &server.port.to_string(), "127.0.0.1"])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("ssh: {e}"))?;
        clients.push(child);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while logins() < before + count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let logged_in = logins() - before;
    // Let the server settle (buffers freed after authentication).
    std::thread::sleep(Duration::from_millis(500));
    let with_idle = measure::server_kib(server.pid(), tree);
    for mut client in clients {
        let _ = client.kill();
        let _ = client.wait();
    }
    if logged_in < count {
        return Err(format!(
            "{kind}: only {logged_in} of {count} idle connections authenticated in 60 s"
        ));
    }
    Ok(with_idle)
}

/// Scenario 5: `true` on `targets` hosts (all this one server): sesh's fan-out
/// against a loop of `ssh` and `xargs -P 32 ssh`.
pub fn fanout(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    for kind in [ServerKind::SeshServe, ServerKind::Sshd] {
        let port = peers.server(kind).port;
        let host = format!("127.0.0.1:{port}");
        let (mut fan, mut fan_rss) = (Vec::new(), Vec::new());
        let (mut looped, mut xargs) = (Vec::new(), Vec::new());
        for _ in 0..settings.fanout_runs {
            let mut cmd = Command::new(&peers.sesh);
            cmd.arg("exec").args(peers.sesh_options());
            cmd.args(["--parallel", &settings.targets.to_string(), "-H"]);
            cmd.arg(vec![host.as_str(); settings.targets].join(","))
                .args(["--", "true"]);
            let (elapsed, peak_kib) = measure::run_with_peak(cmd)?;
            fan.push(elapsed.as_secs_f64());
            fan_rss.push(peak_kib as f64 / 1024.0);

            let start = Instant::now();
            for _ in 0..settings.targets {
                measure::run(peers.client(Pair(ClientKind::Ssh, kind), "true"))?;
            }
            looped.push(start.elapsed().as_secs_f64());

            let mut cmd = Command::new("xargs");
            cmd.args(["-P", "32", "-I{}", "ssh"]).args(peers.ssh_options());
            cmd.args(["-p", &port.to_string(), "{}", "true"]);
            let hosts = "127.0.0.1\n".repeat(settings.targets);
            xargs.push(measure::run_with_input(cmd, hosts.as_bytes())?.as_secs_f64());
        }
        let n = settings.targets;
        report.rows.push(Row::new(
            "fan-out",
            format!("{n} x true, {kind}: sesh exec --parallel {n}"),
            "s",
            fan,
        ));
        report.rows.push(Row::new(
            "fan-out",
            format!("peak RSS of sesh exec --parallel {n}, {kind}"),
            "MiB",
            fan_rss,
        ));
        report.rows.push(Row::new(
            "fan-out",
            format!("{n} x true, {kind}: loop of ssh"),
            "s",
            looped,
        ));
        report.rows.push(Row::new(
            "fan-out",
            format!("{n} x true, {kind}: xargs -P 32 ssh"),
            "s",
            xargs,
        ));
    }
    Ok(())
}

/// The targets, judged on the medians just measured.
pub fn judge(report: &mut Report, settings: &Settings) {
    let sesh = "sesh exec -> sesh serve";
    let openssh = "ssh -> sshd";
    let ssh_sesh = "ssh -> sesh serve";
    report.ratio(
        "latency sesh->sesh / ssh->sshd <= 0.25",
        ("latency", &format!("true: {sesh}")),
        ("latency", &format!("true: {openssh}")),
        |r| r <= 0.25,
    );
    report.value("sesh --version < 5 ms", ("latency", "sesh --version"), |ms| {
        ms < 5.0
    });
    for direction in ["download", "upload"] {
        report.ratio(
            &format!("{direction} sesh->sesh / ssh->sshd >= 1.5"),
            (direction, sesh),
            (direction, openssh),
            |r| r >= 1.5,
        );
        report.ratio(
            &format!("{direction} ssh->sesh serve / ssh->sshd >= 1.0"),
            (direction, ssh_sesh),
            (direction, openssh),
            |r| r >= 1.0,
        );
    }
    report.value(
        &format!(
            "server peak, {} concurrent sessions, sesh->sesh < 200 MiB",
            settings.sessions
        ),
        ("concurrent", &format!("server peak: {sesh}")),
        |mib| mib < 200.0,
    );
    for kind in ["sesh serve", "sshd"] {
        let via = |mux: &str| ("reuse", format!("true via master: {mux} -> {kind}"));
        let (sesh_row, ssh_row) = (via("sesh exec --reuse"), via("ssh ControlMaster"));
        report.ratio(
            &format!("reuse, {kind}: sesh via master / ssh via ControlMaster <= 0.5"),
            (sesh_row.0, &sesh_row.1),
            (ssh_row.0, &ssh_row.1),
            |r| r <= 0.5,
        );
        report.difference(
            &format!("reuse, {kind}: first call - direct call <= 3 ms"),
            (
                "reuse",
                &format!("first call (starts the master): sesh exec --reuse -> {kind}"),
            ),
            ("reuse", &format!("direct call: sesh exec -> {kind}")),
            |ms| ms <= 3.0,
        );
    }
    report.value(
        "sesh serve memory per idle connection < 256 KiB",
        ("memory", "sesh serve per idle connection"),
        |kib| kib < 256.0,
    );
}
