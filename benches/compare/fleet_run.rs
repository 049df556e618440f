//! Scenario 7, `fleet`: `true` on every address of a loopback fleet
//! ([`crate::fleet`]), by `sesh exec -H` at two parallelisms, `pdsh -R ssh`
//! and `xargs -P ssh`, against the sesh serve fleet and the sshd fleet,
//! the contenders alternating inside every round. A run counts only when
//! every host ran the command (exit status 0 and nothing on stderr).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fleet::Fleets;
use crate::peers::{Peers, ServerKind};
use crate::report::{Report, Row};
use crate::scenarios::Settings;

/// The parallelism of the OpenSSH contenders (pdsh -f, xargs -P).
const OPENSSH_PARALLEL: usize = 100;

/// The contenders of one round, in the order they run.
#[derive(Clone, Copy)]
enum Contender {
    Sesh(usize),
    Pdsh,
    Xargs,
}

impl Contender {
    fn label(self, targets: usize, kind: ServerKind) -> String {
        let how = match self {
            Contender::Sesh(parallel) => format!("sesh exec --parallel {parallel}"),
            Contender::Pdsh => format!("pdsh -R ssh -f {OPENSSH_PARALLEL}"),
            Contender::Xargs => format!("xargs -P {OPENSSH_PARALLEL} ssh"),
        };
        format!("{targets} x true, {kind} fleet: {how}")
    }
}

pub fn fleet(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    let n = settings.fleet_targets;
    let fleets = Fleets::start(&peers.sesh, n)?;
    let contenders = [
        Contender::Sesh(n),
        // 100 as the OpenSSH contenders; in tiny mode fewer than the hosts.
        Contender::Sesh(OPENSSH_PARALLEL.min(n.div_ceil(2))),
        Contender::Pdsh,
        Contender::Xargs,
    ];
    let kinds = [ServerKind::SeshServe, ServerKind::Sshd];
    let mut wall = vec![vec![Vec::new(); contenders.len()]; kinds.len()];
    let mut peak = vec![vec![Vec::new(); 2]; kinds.len()];
    for _ in 0..settings.fleet_runs {
        for (k, kind) in kinds.iter().enumerate() {
            for (c, contender) in contenders.iter().enumerate() {
                let (cmd, input) = match contender {
                    Contender::Sesh(parallel) => (fleets.sesh_exec(&peers.sesh, *kind, *parallel), None),
                    Contender::Pdsh => (fleets.pdsh(*kind, OPENSSH_PARALLEL), None),
                    Contender::Xargs => (fleets.xargs(*kind, OPENSSH_PARALLEL), Some(fleets.hosts_text())),
                };
                let label = contender.label(n, *kind);
                // sesh's one line of summary; the others say nothing when all went well.
                let expected = match contender {
                    Contender::Sesh(_) => format!("sesh: {n} hosts: {n} ok, 0 failed"),
                    _ => String::new(),
                };
                let (elapsed, kib) = run(cmd, input, &expected).map_err(|e| format!("{label}: {e}"))?;
                wall[k][c].push(elapsed.as_secs_f64());
                if let Contender::Sesh(_) = contender {
                    peak[k][c].push(kib as f64 / 1024.0);
                }
            }
        }
    }
    for (k, kind) in kinds.iter().enumerate() {
        for (c, contender) in contenders.iter().enumerate() {
            let times = std::mem::take(&mut wall[k][c]);
            report
                .rows
                .push(Row::new("fleet", contender.label(n, *kind), "s", times));
            if let (Contender::Sesh(parallel), Some(peaks)) = (contender, peak[k].get_mut(c)) {
                report.rows.push(Row::new(
                    "fleet",
                    format!("peak RSS of sesh exec --parallel {parallel}, {kind} fleet"),
                    "MiB",
                    std::mem::take(peaks),
                ));
            }
        }
    }
    Ok(())
}

/// Runs `cmd` with `input` (or nothing) on stdin: its wall time and its
/// own peak RSS in KiB, read from VmHWM every 2 ms (see
/// [`crate::measure::wait_with_peak`]). Fails on a non-zero exit or
/// stderr other than `expected`, which is shown.
fn run(mut cmd: Command, input: Option<String>, expected: &str) -> Result<(Duration, u64), String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.unwrap_or_default().as_bytes()));
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (status, peak) = crate::measure::wait_with_peak(&mut child)?;
    let elapsed = start.elapsed();
    let _ = writer.join();
    let errors = reader.join().unwrap_or_default();
    if !status.success() || errors.trim() != expected {
        let tail: Vec<&str> = errors.lines().rev().take(5).collect();
        return Err(format!("{status}: {}", tail.join(" | ")));
    }
    Ok((elapsed, peak))
}

/// The fleet targets, judged on the medians just measured.
pub fn judge(report: &mut Report, settings: &Settings) {
    let n = settings.fleet_targets;
    let kind = ServerKind::SeshServe;
    let sesh = ("fleet", Contender::Sesh(n).label(n, kind));
    report.value(
        &format!("fleet: {n} hosts, sesh exec --parallel {n} < 2 s"),
        (sesh.0, &sesh.1),
        |s| s < 2.0,
    );
    report.value(
        &format!("fleet: peak RSS of sesh exec --parallel {n} < 100 MiB"),
        (
            "fleet",
            &format!("peak RSS of sesh exec --parallel {n}, {kind} fleet"),
        ),
        |mib| mib < 100.0,
    );
    for other in [Contender::Pdsh, Contender::Xargs] {
        let row = other.label(n, kind);
        let name = row.rsplit(": ").next().unwrap_or_default().to_string();
        report.ratio(
            &format!("fleet: {name} / sesh exec --parallel {n} >= 3"),
            ("fleet", &row),
            (sesh.0, &sesh.1),
            |r| r >= 3.0,
        );
    }
}
