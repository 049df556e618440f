//! Scenario 6: connection reuse. `sesh exec --reuse` through its master
//! against `ssh` through a ControlMaster (ControlPersist), on both
//! servers, alternating inside every round: one call, the first call
//! (which starts the master) against a direct call, 100 sequential calls,
//! 20 concurrent callers, and the master's memory with 50 idle callers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::measure;
use crate::peers::{Peers, ServerKind};
use crate::report::{Report, Row};
use crate::scenarios::Settings;

/// The two multiplexing clients, each with its own private directories.
struct Clients<'a> {
    peers: &'a Peers,
    dir: tempfile::TempDir,
    /// ssh calls through its master that ended 255, against sesh serve
    /// and sshd: the session channel closed without an exit status (seen
    /// against sesh serve, also from a plain shell loop).
    ssh_failures: std::cell::Cell<[usize; 2]>,
    /// Each ssh master gets a new ControlPath: an `-O exit` followed by a
    /// new master on the same path loses sessions in OpenSSH 9.2 here.
    ssh_round: std::cell::Cell<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mux {
    Sesh,
    Ssh,
}

impl Mux {
    fn name(self) -> &'static str {
        match self {
            Mux::Sesh => "sesh exec --reuse",
            Mux::Ssh => "ssh ControlMaster",
        }
    }
}

impl Clients<'_> {
    /// One `true` through `mux`'s master: its wall time. A failed ssh call
    /// is counted (and its time kept); a failed sesh call is an error.
    fn run(&self, mux: Mux, kind: ServerKind) -> Result<Duration, String> {
        let begun = Instant::now();
        match measure::run(self.call(mux, kind, "true")) {
            Err(_) if mux == Mux::Ssh => {
                self.count_ssh_failure(kind);
                Ok(begun.elapsed())
            }
            result => result,
        }
    }

    fn count_ssh_failure(&self, kind: ServerKind) {
        let i = usize::from(kind == ServerKind::Sshd);
        let mut counts = self.ssh_failures.get();
        counts[i] += 1;
        self.ssh_failures.set(counts);
    }

    fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// `mux` running `command` on `kind` through its master.
    fn call(&self, mux: Mux, kind: ServerKind, command: &str) -> Command {
        let port = self.peers.server(kind).port;
        match mux {
            Mux::Sesh => {
                let mut cmd = Command::new(&self.peers.sesh);
                cmd.arg("exec")
                    .args(self.peers.sesh_options())
                    .arg("--reuse=300s");
                cmd.arg(format!("127.0.0.1:{port}")).arg("--").arg(command);
                cmd.env("XDG_RUNTIME_DIR", self.runtime())
                    .env("HOME", self.dir.path());
                cmd
            }
            Mux::Ssh => {
                let mut cmd = Command::new("ssh");
                cmd.args(self.peers.ssh_options()).args(self.ssh_mux_options());
                cmd.args(["-p", &port.to_string(), "127.0.0.1", command]);
                cmd
            }
        }
    }

    fn ssh_mux_options(&self) -> Vec<String> {
        let name = format!("cm{}-%C", self.ssh_round.get());
        let path = self.dir.path().join(name).display().to_string();
        [
            "ControlMaster=auto".to_string(),
            format!("ControlPath={path}"),
            "ControlPersist=300".into(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect()
    }

    /// `-O op` for `mux`'s master on `kind`; its stderr (ssh and sesh both
    /// say "Master running (pid=N)").
    fn control(&self, mux: Mux, kind: ServerKind, op: &str) -> String {
        let port = self.peers.server(kind).port;
        let mut cmd = match mux {
            Mux::Sesh => {
                let mut cmd = Command::new(&self.peers.sesh);
                cmd.arg("exec").args(["-O", op]).args(self.peers.sesh_options());
                cmd.arg(format!("127.0.0.1:{port}"));
                cmd.env("XDG_RUNTIME_DIR", self.runtime())
                    .env("HOME", self.dir.path());
                cmd
            }
            Mux::Ssh => {
                let mut cmd = Command::new("ssh");
                cmd.args(self.peers.ssh_options()).args(self.ssh_mux_options());
                cmd.args(["-O", op, "-p", &port.to_string(), "127.0.0.1"]);
                cmd
            }
        };
        let output = cmd
            .stdin(Stdio::null())
            .output()
            .map(|o| o.stderr)
            .unwrap_or_default();
        String::from_utf8_lossy(&output).to_string()
    }

    fn master_pid(&self, mux: Mux, kind: ServerKind) -> Option<u32> {
        let text = self.control(mux, kind, "check");
        text.split("pid=").nth(1)?.split(')').next()?.parse().ok()
    }

    /// Stops the master and waits (bounded) until it is gone; the next
    /// ssh master gets a new path.
    fn stop(&self, mux: Mux, kind: ServerKind) {
        if let Some(pid) = self.master_pid(mux, kind) {
            self.control(mux, kind, "exit");
            if mux == Mux::Ssh {
                self.ssh_round.set(self.ssh_round.get() + 1);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn ms(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// See the module docs.
pub fn reuse(peers: &Peers, settings: &Settings, report: &mut Report) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = dir.path().join("run");
    std::fs::create_dir(&runtime).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(|e| e.to_string())?;
    let clients = Clients {
        peers,
        dir,
        ssh_failures: std::cell::Cell::new([0, 0]),
        ssh_round: std::cell::Cell::new(0),
    };
    for kind in [ServerKind::SeshServe, ServerKind::Sshd] {
        let result = one_server(&clients, kind, settings, report);
        for mux in [Mux::Sesh, Mux::Ssh] {
            clients.stop(mux, kind);
        }
        result?;
    }
    for (kind, failed) in ["sesh serve", "sshd"].iter().zip(clients.ssh_failures.get()) {
        let label = format!("ssh ControlMaster -> {kind}: calls that ended 255");
        report
            .rows
            .push(Row::new("reuse", label, "calls", vec![failed as f64]));
    }
    Ok(())
}

fn one_server(
    clients: &Clients,
    kind: ServerKind,
    settings: &Settings,
    report: &mut Report,
) -> Result<(), String> {
    let both = [Mux::Sesh, Mux::Ssh];
    // First calls (each starts its master) against direct calls.
    let (mut first, mut direct) = ([Vec::new(), Vec::new()], Vec::new());
    for _ in 0..settings.latency_runs {
        for (i, mux) in both.iter().enumerate() {
            clients.stop(*mux, kind);
            first[i].push(ms(clients.run(*mux, kind)?));
        }
        let pair = crate::peers::Pair(crate::peers::ClientKind::SeshExec, kind);
        direct.push(ms(measure::run(clients.peers.client(pair, "true"))?));
    }
    for (mux, times) in both.iter().zip(first) {
        report.rows.push(Row::new(
            "reuse",
            format!("first call (starts the master): {} -> {kind}", mux.name()),
            "ms",
            times,
        ));
    }
    report.rows.push(Row::new(
        "reuse",
        format!("direct call: sesh exec -> {kind}"),
        "ms",
        direct,
    ));
    // One call through a running master; and 100 in a row.
    let (mut one, mut hundred) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for _ in 0..settings.latency_runs {
        for (i, mux) in both.iter().enumerate() {
            for _ in 0..5 {
                one[i].push(ms(clients.run(*mux, kind)?));
            }
        }
    }
    for _ in 0..settings.reuse_rounds {
        for (i, mux) in both.iter().enumerate() {
            let start = Instant::now();
            for _ in 0..settings.reuse_sequential {
                clients.run(*mux, kind)?;
            }
            hundred[i].push(ms(start.elapsed()));
        }
    }
    for (i, mux) in both.iter().enumerate() {
        report.rows.push(Row::new(
            "reuse",
            format!("true via master: {} -> {kind}", mux.name()),
            "ms",
            one[i].clone(),
        ));
        let label = format!(
            "{} sequential: {} -> {kind}",
            settings.reuse_sequential,
            mux.name()
        );
        report
            .rows
            .push(Row::new("reuse", label, "ms", hundred[i].clone()));
    }
    concurrent(clients, kind, settings, report)?;
    fanout(clients, kind, settings, report)?;
    idle_memory(clients, kind, settings, report)
}

/// A `-H` fan-out to `reuse_fanout` copies of the target with `--reuse`:
/// the first run (which logs in) and the second (through the master).
fn fanout(
    clients: &Clients,
    kind: ServerKind,
    settings: &Settings,
    report: &mut Report,
) -> Result<(), String> {
    let n = settings.reuse_fanout;
    let target = format!("127.0.0.1:{}", clients.peers.server(kind).port);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for _ in 0..settings.reuse_rounds {
        clients.stop(Mux::Sesh, kind);
        for times in [&mut first, &mut second] {
            let mut cmd = Command::new(&clients.peers.sesh);
            cmd.arg("exec")
                .args(clients.peers.sesh_options())
                .arg("--reuse=300s");
            cmd.args(["-n", "--parallel", &n.to_string(), "-H"])
                .arg(vec![target.as_str(); n].join(","));
            cmd.args(["--", "true"]);
            cmd.env("XDG_RUNTIME_DIR", clients.runtime())
                .env("HOME", clients.dir.path());
            times.push(ms(measure::run(cmd)?));
        }
    }
    for (run, times) in [("first run", first), ("second run", second)] {
        let label = format!("-H {n} x the target, {run}: sesh exec --reuse -> {kind}");
        report.rows.push(Row::new("reuse", label, "ms", times));
    }
    Ok(())
}

/// `reuse_concurrent` callers at once through one master: wall time.
fn concurrent(
    clients: &Clients,
    kind: ServerKind,
    settings: &Settings,
    report: &mut Report,
) -> Result<(), String> {
    let mut wall = [Vec::new(), Vec::new()];
    for _ in 0..settings.reuse_rounds {
        for (i, mux) in [Mux::Sesh, Mux::Ssh].iter().enumerate() {
            let start = Instant::now();
            let children = spawn_many(clients, *mux, kind, "true", settings.reuse_concurrent)?;
            clients.finish(*mux, kind, children)?;
            wall[i].push(ms(start.elapsed()));
        }
    }
    for (mux, wall) in [Mux::Sesh, Mux::Ssh].iter().zip(wall) {
        let label = format!(
            "{} concurrent: {} -> {kind}",
            settings.reuse_concurrent,
            mux.name()
        );
        report.rows.push(Row::new("reuse", label, "ms", wall));
    }
    Ok(())
}

/// The master's resident memory while `reuse_idle` callers each hold a
/// session running `sleep`.
fn idle_memory(
    clients: &Clients,
    kind: ServerKind,
    settings: &Settings,
    report: &mut Report,
) -> Result<(), String> {
    for mux in [Mux::Sesh, Mux::Ssh] {
        let pid = clients
            .master_pid(mux, kind)
            .ok_or(format!("no {} master", mux.name()))?;
        let children = spawn_many(clients, mux, kind, "sleep 3", settings.reuse_idle)?;
        std::thread::sleep(Duration::from_millis(2000));
        let kib = measure::server_kib(pid, false);
        clients.finish(mux, kind, children)?;
        let label = format!(
            "master RSS, {} idle callers: {} -> {kind}",
            settings.reuse_idle,
            mux.name()
        );
        report
            .rows
            .push(Row::new("reuse", label, "MiB", vec![kib as f64 / 1024.0]));
    }
    Ok(())
}

fn spawn_many(
    clients: &Clients,
    mux: Mux,
    kind: ServerKind,
    command: &str,
    n: usize,
) -> Result<Vec<Child>, String> {
    (0..n)
        .map(|_| {
            clients
                .call(mux, kind, command)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())
        })
        .collect()
}

impl Clients<'_> {
    /// Waits for every caller; a failed sesh caller is an error, a failed
    /// ssh caller is counted with the reruns.
    fn finish(&self, mux: Mux, kind: ServerKind, children: Vec<Child>) -> Result<(), String> {
        for mut child in children {
            let status = child.wait().map_err(|e| e.to_string())?;
            match (status.success(), mux) {
                (true, _) => {}
                (false, Mux::Ssh) => self.count_ssh_failure(kind),
                (false, Mux::Sesh) => return Err(format!("a sesh caller failed: {status}")),
            }
        }
        Ok(())
    }
}
