//! `sesh exec -H`: many hosts at once, against several `sesh serve`
//! instances, an OpenSSH sshd and a port with nothing listening.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::sshd::{Sshd, free_port};
use crate::support::{Keys, Server, describe, pattern_bytes, rss_kib, run_with_input};

/// Servers sharing one client key, and a known_hosts to learn them into.
struct Fleet {
    servers: Vec<Server>,
    keys: Keys,
    known_hosts: tempfile::TempDir,
}

impl Fleet {
    fn start(count: usize) -> Self {
        let keys = Keys::new();
        let servers = (0..count)
            .map(|_| {
                let own = Keys::new();
                std::fs::copy(keys.authorized_keys(), own.authorized_keys()).unwrap();
                // /bin/sh: twenty login shells sourcing a heavy ~/.bashrc
                // at once would eat the --timeout the tests give them.
                Server::start_with(own, &["--shell", "/bin/sh"])
            })
            .collect();
        Self {
            servers,
            keys,
            known_hosts: tempfile::tempdir().unwrap(),
        }
    }

    fn targets(&self) -> Vec<String> {
        self.servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect()
    }

    /// `sesh exec -i KEY --known-hosts F --accept-new <extra>`.
    fn base(&self, extra: &[&str]) -> Command {
        let mut cmd = crate::support::sesh("exec");
        cmd.arg("-i").arg(self.keys.identity());
        cmd.arg("--known-hosts")
            .arg(self.known_hosts.path().join("known_hosts"))
            .arg("--accept-new");
        cmd.args(extra);
        cmd
    }

    /// `base` then `-H t1,t2,... -- COMMAND`.
    fn exec(&self, targets: &[String], extra: &[&str], command: &str) -> Command {
        let mut cmd = self.base(extra);
        cmd.arg("-H").arg(targets.join(",")).arg("--").arg(command);
        cmd
    }
}

/// The remote command branches on the server's port (the last word of
/// SSH_CONNECTION), so one command gives each host its own ending.
fn per_port(cases: &[(u16, &str)], otherwise: &str) -> String {
    let arms: String = cases
        .iter()
        .map(|(port, action)| format!("{port}) {action};; "))
        .collect();
    format!("case ${{SSH_CONNECTION##* }} in {arms}*) {otherwise};; esac")
}

/// 20 targets, mixed outcomes: prefixes right, lines never interleaved,
/// summary and exit code per the policy, JSON events that match.
#[test]
fn twenty_targets_mixed_outcomes() {
    let fleet = Fleet::start(18);
    let sshd = Sshd::start();
    std::fs::copy(fleet.keys.authorized_keys(), sshd.keys.authorized_keys()).unwrap();
    let mut targets = fleet.targets();
    targets.push(format!("127.0.0.1:{}", sshd.addr.port()));
    let dead = format!("127.0.0.1:{}", free_port());
    targets.push(dead.clone());
    let ports: Vec<u16> = fleet.servers.iter().map(|s| s.port()).collect();
    // 200 lines of ~520 bytes each, naming the port they come from.
    let lines = "p=${SSH_CONNECTION##* }; i=0; while [ $i -lt 200 ]; do printf '%s-%04d-%0500d\\n' $p $i 0; i=$((i+1)); done";
    let ending = per_port(
        &[
            (ports[0], "exit 3"),
            (ports[1], "kill -TERM $$"),
            (ports[2], "exec sleep 60"),
        ],
        "exit 0",
    );
    let command = format!("{lines}; echo to-stderr >&2; {ending}");

    let output = fleet
        .exec(
            &targets,
            &["-n", "--timeout", "3s", "--kill-after", "1s"],
            &command,
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(123), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut per_host: HashMap<&str, usize> = HashMap::new();
    for line in stdout.lines() {
        let (label, rest) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("unprefixed line {line:?}"));
        let port = label.rsplit(':').next().unwrap();
        assert!(
            rest.starts_with(&format!("{port}-")) && rest.len() == port.len() + 506,
            "mixed line {line:?}"
        );
        *per_host.entry(label).or_default() += 1;
    }
    assert_eq!(per_host.len(), 19, "{per_host:?}");
    assert!(per_host.values().all(|&n| n == 200), "{per_host:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for (target, how) in [
        (&targets[0], "exited with status 3"),
        (&targets[1], "killed by signal TERM"),
        (&targets[2], "timed out after 3s"),
        (&dead, "could not connect"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("sesh: {target}: ")) && l.contains(how)),
            "{target} {how}:\n{stderr}"
        );
    }
    assert!(stderr.contains("sesh: 20 hosts: 16 ok, 4 failed"), "{stderr}");
    assert_eq!(stderr.matches(": to-stderr").count(), 19, "{stderr}");
    let known = std::fs::read_to_string(fleet.known_hosts.path().join("known_hosts")).unwrap();
    assert_eq!(
        known.lines().filter(|l| l.starts_with("[127.0.0.1]:")).count(),
        19,
        "{known}"
    );

    let json = fleet
        .exec(
            &targets,
            &["-n", "--json", "--timeout", "3s", "--kill-after", "1s"],
            &command,
        )
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(123));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON event"))
        .collect();
    let outputs = events
        .iter()
        .filter(|e| e["event"] == "output" && e["stream"] == "stdout")
        .count();
    assert_eq!(outputs, 19 * 200);
    let ends: HashMap<String, serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "end")
        .map(|e| (e["host"].as_str().unwrap().to_string(), e["result"].clone()))
        .collect();
    assert_eq!(ends.len(), 20);
    assert_eq!(ends[&targets[0]]["exit_status"], 3);
    assert_eq!(ends[&targets[1]]["signal"], "TERM");
    assert_eq!(ends[&targets[2]]["outcome"], "timed-out");
    assert_eq!(ends[&dead]["outcome"], "failed");
    let summary = events.last().unwrap();
    assert_eq!(
        (
            summary["event"].as_str(),
            summary["ok"].as_u64(),
            summary["exit_code"].as_u64()
        ),
        (Some("summary"), Some(16), Some(123))
    );
}

/// Several MB of stdin reach every host byte-identical, a host that reads
/// slowly paces the stream, and sesh's memory stays bounded meanwhile.
#[test]
fn stdin_broadcast() {
    let fleet = Fleet::start(4);
    let targets = fleet.targets();
    let data = pattern_bytes(24 * 1024 * 1024, 5);
    let expected = {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in"), &data).unwrap();
        let out = Command::new("md5sum")
            .arg(dir.path().join("in"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let slow = per_port(&[(fleet.servers[0].port(), "sleep 3")], ":");
    let mut command = fleet.exec(&targets, &[], &format!("{slow}; md5sum"));
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let peak = sampler.join().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for target in &targets {
        assert!(
            stdout.contains(&format!("{target}: {expected}  -")),
            "{target}: {stdout}"
        );
    }
    eprintln!("sesh exec peak RSS {peak} KiB for 24 MiB to 4 hosts, one slow");
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB");
}

/// `--output-dir` holds exactly what the streamed run printed, per host,
/// plus a status file.
#[test]
fn output_dir_matches_stream() {
    let fleet = Fleet::start(3);
    let targets = fleet.targets();
    let command = "seq 1 3000; echo oops >&2; printf 'no newline'";
    let streamed = fleet.exec(&targets, &["-n"], command).output().unwrap();
    assert!(streamed.status.success(), "{}", describe(&streamed));
    let dir = tempfile::tempdir().unwrap();
    let files = fleet
        .exec(
            &targets,
            &["-n", "--output-dir", dir.path().to_str().unwrap()],
            command,
        )
        .output()
        .unwrap();
    assert!(files.status.success(), "{}", describe(&files));
    assert!(files.stdout.is_empty());
    for target in &targets {
        let host_dir = dir.path().join(target);
        let prefix = format!("{target}: ");
        let stream_of = |text: &[u8]| -> String {
            String::from_utf8_lossy(text)
                .lines()
                .filter_map(|l| l.strip_prefix(&prefix))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let stdout = std::fs::read_to_string(host_dir.join("stdout")).unwrap();
        assert_eq!(format!("{stdout}\n"), stream_of(&streamed.stdout), "{target}");
        assert_eq!(
            std::fs::read_to_string(host_dir.join("stderr")).unwrap(),
            stream_of(&streamed.stderr)
                .lines()
                .filter(|l| *l == "oops")
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        );
        let status: serde_json::Value =
            serde_json::from_slice(&std::fs::read(host_dir.join("status.json")).unwrap()).unwrap();
        assert_eq!(status["exit_status"], 0);
    }
}

/// `--fail-fast`: the first failure stops new hosts; never success.
#[test]
fn fail_fast_stops_launching() {
    let fleet = Fleet::start(3);
    let mut targets = vec![format!("127.0.0.1:{}", free_port())];
    targets.extend(fleet.targets());
    let output = fleet
        .exec(&targets, &["-n", "--parallel", "1", "--fail-fast"], "echo ran")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(255), "{stderr}");
    assert_eq!(stderr.matches("not started (--fail-fast)").count(), 3, "{stderr}");
    assert!(output.stdout.is_empty());
}

/// Host ranges and files expand; a bad range is one line and 255.
#[test]
fn host_lists() {
    let fleet = Fleet::start(1);
    let port = fleet.servers[0].port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hosts");
    std::fs::write(
        &file,
        format!("# fleet\n127.0.0.1:{port}  # the one\n\n127.0.0.[1-1]:{port}\n"),
    )
    .unwrap();
    let mut command = fleet.base(&["-n", "--hosts", file.to_str().unwrap()]);
    command.args(["--", "echo hi"]);
    let output = run_with_input(command, b"");
    let hellos = String::from_utf8_lossy(&output.stdout).matches(": hi").count();
    assert_eq!(hellos, 2, "{}", describe(&output));
    let bad = fleet
        .exec(&["web[3-1]".to_string()], &["-n"], "true")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(255));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr).lines().count(),
        1,
        "{}",
        describe(&bad)
    );
}

/// Local signals reach every host: SIGTERM runs each remote trap; a second
/// SIGINT or SIGTERM hangs up everything and exits 130 or 143.
#[test]
fn signals_reach_every_host() {
    use std::io::{BufRead, BufReader};
    let fleet = Fleet::start(3);
    let targets = fleet.targets();
    let exits = "trap 'echo trapped; exit 42' TERM; trap '' INT; echo ready; while :; do sleep 0.1; done";
    let stays = "trap 'echo trapped' TERM; trap '' INT; echo ready; while :; do sleep 0.1; done";
    for (command, signals, code) in [
        (exits, &[libc::SIGTERM][..], 42),
        (exits, &[libc::SIGINT, libc::SIGINT][..], 130),
        (stays, &[libc::SIGTERM, libc::SIGTERM][..], 143),
    ] {
        let mut child = fleet
            .exec(&targets, &["-n"], command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        for _ in 0..3 {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            assert!(line.ends_with(": ready\n"), "{line:?}");
        }
        for signo in signals {
            crate::support::send_signal(child.id() as i32, *signo);
            std::thread::sleep(Duration::from_millis(300));
        }
        let status =
            crate::support::wait_with_deadline(&mut child, Duration::from_secs(20)).expect("sesh exec ended");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        assert_eq!(status.code(), Some(code), "{rest}");
        if code != 130 {
            assert_eq!(rest.matches(": trapped").count(), 3, "{rest}");
        }
    }
}

/// SIGTERM to a fan-out over sesh serve and a root sshd (which refuses
/// `signal`): the serve host's trap answers, the sshd host is closed on its
/// own with the refusal recorded (not `killed`), and sesh ends promptly.
/// Skipped unless root: another user's sshd honours the signal.
#[test]
fn refused_signal_per_host() {
    use std::io::{BufRead, BufReader};
    if !nix::unistd::geteuid().is_root() {
        eprintln!("refused_signal_per_host: needs root (sshd refuses signals only to root logins)");
        return;
    }
    let fleet = Fleet::start(1);
    let sshd = Sshd::start();
    std::fs::copy(fleet.keys.authorized_keys(), sshd.keys.authorized_keys()).unwrap();
    let serve = fleet.targets()[0].clone();
    let root_sshd = format!("127.0.0.1:{}", sshd.addr.port());
    let command = "trap 'echo trapped; exit 42' TERM; echo $$; while :; do sleep 0.1; done";
    let mut child = fleet
        .exec(&[serve.clone(), root_sshd.clone()], &["-n", "--json"], command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut pids = Vec::new();
    while pids.len() < 2 {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "output ended early");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["event"] == "output" {
            pids.push(
                event["line"]
                    .as_str()
                    .unwrap_or("")
                    .trim()
                    .parse::<i32>()
                    .unwrap_or(0),
            );
        }
    }
    let sent = std::time::Instant::now();
    crate::support::send_signal(child.id() as i32, libc::SIGTERM);
    let status = crate::support::wait_with_deadline(&mut child, Duration::from_secs(20));
    let took = sent.elapsed();
    for pid in pids.into_iter().filter(|&pid| pid > 0) {
        crate::support::send_signal(pid, libc::SIGKILL);
    }
    let status = status.expect("sesh exec ended");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let ends: HashMap<String, serde_json::Value> = rest
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "end")
        .map(|e| (e["host"].as_str().unwrap().to_string(), e["result"].clone()))
        .collect();
    assert_eq!(status.code(), Some(123), "{rest}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(ends[&serve]["exit_status"], 42, "{rest}");
    assert_eq!(
        (
            ends[&root_sshd]["outcome"].as_str(),
            ends[&root_sshd]["refused_signal"].as_str()
        ),
        (Some("signal-refused"), Some("TERM")),
        "{rest}"
    );
    assert_eq!(ends[&root_sshd]["exit_code"], 143);
}

/// A server killed mid-session fails only its own host, at once and with
/// the lost connection named; the other hosts run to the end.
#[test]
fn a_killed_server_fails_only_its_host() {
    let mut fleet = Fleet::start(3);
    let targets = fleet.targets();
    let mut child = fleet
        .exec(&targets, &["-n"], "echo started; sleep 2; echo done")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    while seen.matches(": started").count() < 3 {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0,
            "output ended early: {seen}"
        );
        seen += &line;
    }
    fleet.servers[2].child.kill().unwrap();
    fleet.servers[2].child.wait().unwrap();
    let killed = std::time::Instant::now();
    std::io::Read::read_to_string(&mut stdout, &mut seen).unwrap();
    let status = crate::support::wait_with_deadline(&mut child, Duration::from_secs(30));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(255), "{seen}\n{stderr}");
    assert!(
        killed.elapsed() < Duration::from_secs(20),
        "took {:?}",
        killed.elapsed()
    );
    for target in &targets[..2] {
        assert!(seen.contains(&format!("{target}: done")), "{target}: {seen}");
    }
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&format!("sesh: {}: ", targets[2]))
                && l.contains("connection to the server lost")),
        "{stderr}"
    );
}
