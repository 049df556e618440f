//! `sesh exec --reuse`: the exit contract, stdio and signals through a mux
//! master, against sesh serve and OpenSSH's sshd, with one login for many
//! calls; `-O check|stop|exit`; the caller's fds not held. The failure
//! modes are in exec_reuse_faults.rs.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::exec_common as common;
use crate::support::exec::{Remote, sesh_exec};
use crate::support::relay::{Direction, Relay};
use crate::support::sshd::Sshd;
use crate::support::{Server, describe, gone, run_with_input, send_signal, wait_for, wait_with_deadline};

/// A remote reached through `--reuse`, with its own HOME and
/// XDG_RUNTIME_DIR; its masters are told to exit when it is dropped.
pub struct Reusing {
    pub remote: Remote,
    pub dir: tempfile::TempDir,
}

impl Reusing {
    pub fn new(mut remote: Remote, persist: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (home, run) = (dir.path().join("home"), dir.path().join("run"));
        std::fs::create_dir(&home).unwrap();
        std::fs::create_dir(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        remote.options = vec![format!("--reuse={persist}")];
        remote.envs = vec![("HOME".into(), home), ("XDG_RUNTIME_DIR".into(), run)];
        Self { remote, dir }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The mux directory sesh uses here.
    pub fn mux_dir(&self) -> PathBuf {
        self.run_dir().join("sesh")
    }

    /// The control sockets there now.
    pub fn sockets(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.mux_dir()) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_none())
            .collect()
    }

    /// `sesh exec -O OP` for the same target and options.
    pub fn control(&self, op: &str) -> Output {
        let mut command = sesh_exec();
        command.envs(self.remote.envs.iter().map(|(k, v)| (k, v)));
        command
            .args(["-O", op, "-i"])
            .arg(&self.remote.identity)
            .args(["--host-key", &self.remote.fingerprint])
            .arg(&self.remote.target);
        run_with_input(command, b"")
    }

    /// The running master's pid, from `-O check`.
    pub fn master_pid(&self) -> Option<i32> {
        let output = self.control("check");
        let text = String::from_utf8_lossy(&output.stderr).to_string();
        text.split("pid=").nth(1)?.split(')').next()?.parse().ok()
    }

    /// `remote_command` through the master, stdin empty.
    pub fn exec(&self, remote_command: &str) -> Output {
        self.remote.exec(&["-n"], remote_command, b"")
    }
}

impl Drop for Reusing {
    fn drop(&mut self) {
        if let Some(pid) = self.master_pid() {
            let _ = self.control("exit");
            if !wait_for(Duration::from_secs(5), || gone(pid)) {
                send_signal(pid, libc::SIGKILL);
            }
        }
    }
}

/// Logins the server saw: sesh serve's and sshd's log lines.
pub fn serve_logins(server: &Server) -> usize {
    server.log().matches("INFO authenticated").count()
}

pub fn sshd_logins(sshd: &Sshd) -> usize {
    sshd.log().matches("Accepted publickey").count()
}

const CONTRACT: [fn(&Remote); 6] = [
    common::exit_statuses,
    common::exit_signals,
    common::status_json,
    common::stdin_through_cat,
    common::separation_and_trailing_output,
    common::broken_pipe_ends_promptly,
];

/// Through a master, sesh serve gives every row of the exit contract, the
/// JSON record and byte-exact stdio as a direct run does, on one login.
#[test]
fn serve_contract_through_a_master() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    for check in CONTRACT {
        check(&reusing.remote);
    }
    assert_eq!(reusing.sockets().len(), 1, "one master socket");
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// The same against OpenSSH's sshd: identical results, one login.
#[test]
fn sshd_contract_through_a_master() {
    let sshd = Sshd::start();
    let reusing = Reusing::new(Remote::of_sshd(&sshd), "30s");
    for check in CONTRACT {
        check(&reusing.remote);
    }
    assert_eq!(sshd_logins(&sshd), 1, "{}", sshd.log());
}

/// `-t` through a master: the passenger keeps its terminal raw and sends
/// its new size, the master asks for the pty and forwards the change; the
/// terminal is restored at the end. Twice, on one login.
#[test]
fn terminal_through_a_master() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    common::terminal_raw_mode_and_resize(&reusing.remote);
    common::terminal_raw_mode_and_resize(&reusing.remote);
    assert!(reusing.master_pid().is_some(), "no master ran");
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// Local TERM, USR1 and INT reach the remote command through the master
/// (its trap's exit code comes back); a second SIGINT hangs up: 130 and
/// the remote command is gone; --timeout gives 124.
#[test]
fn signals_through_a_master() {
    let server = Server::start_sh(&["--hangup-grace", "1s"]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    for (signo, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGUSR1, "USR1"),
        (libc::SIGINT, "INT"),
    ] {
        let script =
            format!("trap 'echo trapped-{name}; exit 42' {name}; echo ready; while :; do sleep 0.1; done");
        let (mut child, mut stdout) = spawn_reading(&reusing.remote, &script);
        assert_eq!(next_line(&mut stdout), "ready\n");
        send_signal(child.id() as i32, signo);
        assert_eq!(next_line(&mut stdout), format!("trapped-{name}\n"));
        let status = wait_with_deadline(&mut child, Duration::from_secs(20)).expect("sesh exec ended");
        assert_eq!(status.code(), Some(42));
    }
    let (mut child, mut stdout) = spawn_reading(
        &reusing.remote,
        "trap '' INT; echo $$; while :; do sleep 0.1; done",
    );
    let pid: i32 = next_line(&mut stdout).trim().parse().unwrap();
    send_signal(child.id() as i32, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    send_signal(child.id() as i32, libc::SIGINT);
    let status = wait_with_deadline(&mut child, Duration::from_secs(20)).expect("sesh exec ended");
    assert_eq!(status.code(), Some(130));
    assert!(
        wait_for(Duration::from_secs(10), || gone(pid)),
        "remote pid {pid} left behind"
    );
    let output = reusing
        .remote
        .exec(&["-n", "--timeout", "1s", "--kill-after", "1s"], "sleep 60", b"");
    assert_eq!(output.status.code(), Some(124), "{}", describe(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "sesh: timed out after 1s\n"
    );
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// A call through a running master waits for the server once: the master
/// keeps a session channel open ahead (the spare), so the call's exec goes
/// at once, where opening a channel first would be a second round trip.
/// Counted on a delay relay's trace of the master's connection: each
/// burst from the server answered by the master is one wait.
#[test]
fn a_call_through_the_master_waits_once() {
    let server = Server::start_sh(&[]);
    let (relay, reusing) = through_relay(&server, Duration::from_millis(100), true);
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    for _ in 0..2 {
        // Let the spare's open and the last call's close pass the relay.
        std::thread::sleep(Duration::from_millis(500));
        let before = relay.trace().len();
        assert_eq!(reusing.exec("true").status.code(), Some(0));
        std::thread::sleep(Duration::from_millis(500));
        let directions: Vec<Direction> = relay.trace()[before..].iter().map(|c| c.direction).collect();
        let waits = directions
            .windows(2)
            .filter(|pair| pair[0] == Direction::Down && pair[1] == Direction::Up)
            .count();
        assert_eq!(waits, 1, "{directions:?}");
    }
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// At a session limit of 2, a call takes the spare and a second comes
/// while the master opens the next one: the second waits for that spare
/// instead of opening a channel beside it, which the server would refuse
/// and which would send the master to a sibling login. One login in all.
#[test]
fn a_spare_being_opened_is_waited_for() {
    let server = Server::start_sh(&["--max-sessions", "2"]);
    // 100 ms each way: a spare's open is in flight for 200 ms.
    let (_relay, reusing) = through_relay(&server, Duration::from_millis(100), false);
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    for _ in 0..2 {
        // Let the spare open and the last sessions end.
        std::thread::sleep(Duration::from_millis(800));
        let outputs: Vec<Output> = std::thread::scope(|scope| {
            let calls: Vec<_> = (0..2)
                .map(|i| {
                    scope.spawn({
                        let reusing = &reusing;
                        move || {
                            // The second call comes while the spare the
                            // first call's take set off is in flight.
                            std::thread::sleep(Duration::from_millis(50 * i));
                            reusing.exec(&format!("sleep 1; echo {i}"))
                        }
                    })
                })
                .collect();
            calls.into_iter().map(|c| c.join().unwrap()).collect()
        });
        for output in &outputs {
            assert_eq!(output.status.code(), Some(0), "{}", describe(output));
        }
    }
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// The master's connection through a delay relay of `delay` each way
/// (`trace`: the relay keeps a trace of every chunk).
fn through_relay(server: &Server, delay: Duration, trace: bool) -> (Relay, Reusing) {
    let relay = Relay::start(server.port(), delay, trace).unwrap();
    let mut remote = Remote::of_serve(server);
    remote.target = format!("127.0.0.1:{}", relay.port);
    (relay, Reusing::new(remote, "30s"))
}

/// A signal while a first call waits for the master it forked is handled
/// as during a direct call's connect, not sesh's default death: the
/// caller installs its handlers before it waits, ends 130 with sesh's
/// line at once, and never starts the command; the master logs in all
/// the same, keeps the start lock meanwhile, and serves the next call
/// (one login, where a lock let go with the caller started a second).
#[test]
fn signal_while_the_forked_master_logs_in() {
    let server = Server::start_sh(&[]);
    // 200 ms each way: the master's login takes over a second.
    let (_relay, reusing) = through_relay(&server, Duration::from_millis(200), false);
    interrupted_first_call(&reusing);
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// The same for a master started as `sesh __mux-master` (a stale socket
/// sends a first call that way): the new process holds the lock too.
#[test]
fn signal_while_a_started_master_logs_in() {
    let server = Server::start_sh(&[]);
    let (_relay, reusing) = through_relay(&server, Duration::from_millis(200), false);
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let socket = reusing.sockets().pop().expect("a socket");
    assert_eq!(reusing.control("exit").status.code(), Some(0));
    assert!(wait_for(Duration::from_secs(10), || reusing.sockets().is_empty()));
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    interrupted_first_call(&reusing);
    assert_eq!(serve_logins(&server), 2, "{}", server.log());
}

/// SIGINT 300 ms into a first call (its master still logging in), then
/// one more call: the first ends 130 at once without running, the next
/// runs through the master the first one started.
fn interrupted_first_call(reusing: &Reusing) {
    let marker = reusing.dir.path().join("ran");
    let begun = Instant::now();
    let script = format!("touch {}; sleep 20", marker.display());
    let (mut child, _stdout) = spawn_reading(&reusing.remote, &script);
    std::thread::sleep(Duration::from_millis(300));
    send_signal(child.id() as i32, libc::SIGINT);
    let (code, stderr) = child_output(&mut child);
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        stderr,
        "sesh: signal INT before the remote command started; it was not run\n"
    );
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "took {:?}",
        begun.elapsed()
    );
    let next = reusing.exec("echo next");
    assert_eq!(
        String::from_utf8_lossy(&next.stdout),
        "next\n",
        "{}",
        describe(&next)
    );
    assert!(!marker.exists(), "the interrupted command ran");
}

fn spawn_reading(
    remote: &Remote,
    script: &str,
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut command = remote.command(&["-n"]);
    command.arg(script).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

fn next_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line
}

/// The master holds none of the caller's fds: with a 60 s persist,
/// `out=$(sesh exec --reuse h true 2>&1)` returns at once, first call and
/// later ones, and the master's own stdio is /dev/null and its log.
#[test]
fn caller_fds_not_held() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "60s");
    for _ in 0..3 {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(r#"out=$("$@" 2>&1); echo "[$out]""#)
            .arg("bash");
        let sesh = reusing.remote.command(&["-n"]);
        command
            .arg(sesh.get_program())
            .args(sesh.get_args())
            .arg("echo hi");
        command
            .envs(reusing.remote.envs.iter().map(|(k, v)| (k, v)))
            .env_remove("SSH_AUTH_SOCK");
        let begun = Instant::now();
        let output = run_with_input(command, b"");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "[hi]\n",
            "{}",
            describe(&output)
        );
        assert!(
            begun.elapsed() < Duration::from_secs(10),
            "took {:?}",
            begun.elapsed()
        );
    }
    let pid = reusing.master_pid().expect("a master runs");
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        let target = target.to_string_lossy().to_string();
        assert!(
            target == "/dev/null" || target.ends_with(".log"),
            "fd {fd} is {target}"
        );
    }
}

/// `-O check` says where the master is (0) or that there is none (255);
/// `-O stop` lets a running session finish and removes the socket; `-O
/// exit` ends a running session with 255 and a line saying why.
#[test]
fn control_commands() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    let none = reusing.control("check");
    assert_eq!(none.status.code(), Some(255), "{}", describe(&none));
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let check = reusing.control("check");
    assert_eq!(check.status.code(), Some(0), "{}", describe(&check));
    assert!(String::from_utf8_lossy(&check.stderr).starts_with("Master running (pid="));
    let (mut child, mut stdout) = spawn_reading(&reusing.remote, "echo started; sleep 2; echo finished");
    assert_eq!(next_line(&mut stdout), "started\n");
    assert_eq!(reusing.control("stop").status.code(), Some(0));
    assert!(reusing.sockets().is_empty(), "the socket goes at once");
    assert_eq!(next_line(&mut stdout), "finished\n");
    let status = wait_with_deadline(&mut child, Duration::from_secs(20)).unwrap();
    assert_eq!(status.code(), Some(0));
    let (mut child, mut stdout) = spawn_reading(&reusing.remote, "echo started; sleep 30");
    assert_eq!(next_line(&mut stdout), "started\n");
    assert_eq!(reusing.control("exit").status.code(), Some(0));
    let output = child_output(&mut child);
    assert_eq!(output.0, Some(255));
    assert!(
        output.1.contains("the mux master was told to exit"),
        "{}",
        output.1
    );
    assert_eq!(reusing.control("check").status.code(), Some(255));
}

/// A first call forks its master: the child is named `sesh-mux-master`
/// and logs at the master's own level into the log beside its socket (the
/// caller logged at warn), and `-O exit` still stops it.
#[test]
fn forked_master_logs_at_its_own_level() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    assert_eq!(reusing.exec("true").status.code(), Some(0));
    let pid = reusing.master_pid().expect("a master");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sesh-mux-master");
    let socket = reusing.sockets().pop().expect("a socket");
    let log = std::fs::read_to_string(socket.with_extension("log")).unwrap();
    assert!(log.contains("INFO") && log.contains("ready"), "{log}");
    assert_eq!(reusing.control("exit").status.code(), Some(0));
    assert!(wait_for(Duration::from_secs(10), || gone(pid)));
}

/// Waits (bounded) for a spawned sesh; its code and stderr.
pub fn child_output(child: &mut std::process::Child) -> (Option<i32>, String) {
    let status = wait_with_deadline(child, Duration::from_secs(20)).expect("sesh exec ended");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    (status.code(), stderr)
}

/// Fan-out with --reuse runs each host through its master: three runs of a
/// five-host fan-out pay one login in all, with every line, the stdin
/// broadcast and the exit policy as without reuse.
#[test]
fn fanout_through_masters() {
    let server = Server::start_sh(&[]);
    let reusing = Reusing::new(Remote::of_serve(&server), "30s");
    let hosts = [reusing.remote.target.as_str(); 5].join(",");
    for run in 0..3 {
        let mut command = sesh_exec();
        command.envs(reusing.remote.envs.iter().map(|(k, v)| (k, v)));
        command
            .args(&reusing.remote.options)
            .arg("-i")
            .arg(&reusing.remote.identity);
        command.args([
            "--host-key",
            &reusing.remote.fingerprint,
            "-H",
            &hosts,
            "--no-prefix",
        ]);
        command.args(["--", "cat; echo err >&2; exit 3"]);
        let output = run_with_input(command, format!("line {run}\n").as_bytes());
        assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("line {run}\n").repeat(5)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stderr).matches("err\n").count(),
            5
        );
    }
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
}

/// ControlMaster, ControlPersist and ControlPath from a configuration file
/// work as `--reuse` does: calls share one login through a master at the
/// configured path (tokens expanded); `-o ControlMaster=no` uses that
/// master but never starts one; without a ControlPath there is no reuse.
#[test]
fn control_keywords_from_the_config() {
    let server = Server::start_sh(&[]);
    let remote = Remote::of_serve(&server);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "Host box\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile {}\n  ControlMaster auto\n  \
             ControlPath {}/cm-%r-%p\n  ControlPersist 30s\n",
            remote.port,
            remote.identity.display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let run = |extra: &[&str], command: &[&str]| {
        let mut cmd = crate::support::sesh_reading_config("exec");
        cmd.env("HOME", dir.path()).env("XDG_RUNTIME_DIR", dir.path());
        cmd.arg("-F")
            .arg(&config)
            .args(["--host-key", &remote.fingerprint]);
        cmd.args(extra).arg("box").args(command);
        run_with_input(cmd, b"")
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let socket = dir.path().join(format!("cm-{user}-{}", remote.port));
    for i in 0..3 {
        let output = run(&["-n"], &[&format!("exit {i}")]);
        assert_eq!(output.status.code(), Some(i), "{}", describe(&output));
    }
    assert!(socket.exists(), "no master at {}", socket.display());
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
    let output = run(&["-n", "-o", "ControlMaster=no"], &["echo via master"]);
    assert_eq!(output.stdout, b"via master\n", "{}", describe(&output));
    assert_eq!(serve_logins(&server), 1, "{}", server.log());
    let output = run(&["-O", "exit"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(wait_for(Duration::from_secs(5), || !socket.exists()));
    let output = run(&["-n", "-o", "ControlMaster=no"], &["true"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(!socket.exists(), "ControlMaster no started a master");
    assert_eq!(serve_logins(&server), 2, "{}", server.log());
    let output = run(&["-n", "-o", "ControlPath=none"], &["true"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(serve_logins(&server), 3, "{}", server.log());
}
