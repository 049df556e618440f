//! Test peers: the real `sesh` binary started on a free loopback port, the
//! real OpenSSH client, and a russh client for what `ssh` cannot show.

pub mod agent;
pub mod certs;
pub mod client;
pub mod exec;
pub mod jump;
pub mod leaks;
// The bench's delay relay, shared rather than copied; its trace is the
// bench's alone.
#[allow(dead_code)]
#[path = "../../benches/compare/relay.rs"]
pub mod relay;
pub mod sshd;
pub mod transfer;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sesh binary running `subcommand`, cut off from the surroundings:
/// HOME and XDG_RUNTIME_DIR are an empty private directory of this test
/// process (so nobody's `~/.ssh`, agent or sockets leak in) and no agent
/// socket is inherited. `exec` and `test` also get `-F none`: the machine's
/// /etc/ssh/ssh_config (Debian's sets `SendEnv LANG LC_*` and
/// `HashKnownHosts yes`) must not change what a test sees. Tests of
/// configuration reading use [`sesh_reading_config`].
pub fn sesh(subcommand: &str) -> Command {
    let mut command = sesh_reading_config(subcommand);
    if matches!(subcommand, "exec" | "test") {
        command.args(["-F", "none"]);
    }
    command
}

/// Like [`sesh`], but reading the configuration files as a user's sesh
/// does: the test's own HOME (`~/.ssh/config`) or `-F`, and the system file.
pub fn sesh_reading_config(subcommand: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sesh"));
    isolate(&mut command);
    command.arg(subcommand);
    command
}

/// The environment [`sesh`] gives the binary, for a command that runs it
/// through a wrapper.
pub fn isolate(command: &mut Command) {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let home = HOME.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    command
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SSH_AUTH_SOCK");
}

/// A temporary directory with a client key pair (ed25519, OpenSSH format)
/// and an `authorized_keys` that admits it.
pub struct Keys {
    pub dir: tempfile::TempDir,
}

impl Keys {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Self { dir };
        keygen(&keys.identity());
        keygen(&keys.path("other_id"));
        let public = std::fs::read_to_string(keys.path("id.pub")).unwrap();
        std::fs::write(keys.authorized_keys(), public).unwrap();
        keys
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The key `authorized_keys` admits.
    pub fn identity(&self) -> PathBuf {
        self.path("id")
    }

    /// A key nobody admits.
    pub fn stranger(&self) -> PathBuf {
        self.path("other_id")
    }

    pub fn authorized_keys(&self) -> PathBuf {
        self.path("authorized_keys")
    }
}

/// The `SHA256:...` fingerprint of a public key file, as ssh-keygen prints it.
pub fn fingerprint_of(public_key: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(public_key)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    text.split_whitespace().nth(1).expect("a fingerprint").to_string()
}

pub fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "sesh-test", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs (package openssh-client)");
    assert!(status.success(), "ssh-keygen failed");
}

/// A running `sesh serve`; stopped with SIGTERM when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub keys: Keys,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `sesh serve` with an ephemeral host key, the test's
    /// authorized keys and `extra` arguments.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with(Keys::new(), extra)
    }

    /// Like `start`, with `/bin/sh` running commands: bash reads
    /// `~/.bashrc` when SSH_CLIENT is set, which costs time and can leave
    /// half-done work (a stale `pyenv rehash` lock, say) when a test hangs
    /// a session up early. For tests about the server, not the shell.
    pub fn start_sh(extra: &[&str]) -> Self {
        let mut args = vec!["--shell", "/bin/sh"];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    pub fn start_with(keys: Keys, extra: &[&str]) -> Self {
        let authorized_keys = keys.authorized_keys();
        let mut args = vec![
            "--ephemeral-host-key",
            "--authorized-keys",
            authorized_keys.to_str().expect("a UTF-8 temp path"),
        ];
        args.extend(extra);
        Self::start_bare(keys, &args)
    }

    /// Starts `sesh serve --listen 127.0.0.1:0 ARGS`: the caller chooses
    /// the host key and authorized keys.
    pub fn start_bare(keys: Keys, args: &[&str]) -> Self {
        Self::start_through(&[], keys, args)
    }

    /// Like `start_bare`, through `wrapper` (a program that runs its
    /// arguments, `perl -e '...; exec @ARGV'`): for what the server
    /// inherits from whoever started it.
    pub fn start_through(wrapper: &[&str], keys: Keys, args: &[&str]) -> Self {
        let sesh = env!("CARGO_BIN_EXE_sesh");
        let (program, before) = match wrapper.split_first() {
            Some((program, rest)) => (*program, [rest, &[sesh]].concat()),
            None => (sesh, Vec::new()),
        };
        let mut command = Command::new(program);
        isolate(&mut command);
        let mut child = command
            .args(before)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sesh serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Logged before announced, so the start line is in the log
                // by the time anyone knows the address.
                {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let addr = addr.split(',').next().unwrap().trim().to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr.parse().expect("listen address"),
            Err(_) => panic!("sesh serve did not start: {}", log.lock().unwrap()),
        };
        Self {
            child,
            addr,
            keys,
            log,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The host key's `SHA256:...` fingerprint, from the start line.
    pub fn fingerprint(&self) -> String {
        let log = self.log();
        let start = log.find("host key SHA256:").expect("start line") + "host key ".len();
        log[start..].split_whitespace().next().unwrap().to_string()
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded: 10 s) until the log contains `text`: a line can come
    /// a moment after what a client saw.
    pub async fn assert_logged(&self, text: &str) {
        let found = eventually_async(Duration::from_secs(10), || self.log().contains(text)).await;
        assert!(found, "no log line {text:?}:\n{}", self.log());
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        send_signal(self.child.id() as i32, libc::SIGTERM);
        wait_with_deadline(&mut self.child, within)
    }

    /// Runs a command through the OpenSSH client with `input` on its stdin.
    pub fn ssh(&self, command: &str, input: &[u8]) -> Output {
        ssh_with(&self.ssh_command(&self.keys.identity()), command, input)
    }

    /// The OpenSSH client set up for this server, without the command.
    pub fn ssh_command(&self, identity: &Path) -> Command {
        let mut command = Command::new("ssh");
        // `-F none`: no configuration file of this machine's applies.
        command
            .args(["-F", "none"])
            .arg("-p")
            .arg(self.port().to_string())
            .arg("-i")
            .arg(identity)
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=20",
                "127.0.0.1",
            ]);
        command
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.terminate(Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `command` through an ssh-like `base` command with `input`.
pub fn ssh_with(base: &Command, command: &str, input: &[u8]) -> Output {
    let mut cmd = Command::new(base.get_program());
    cmd.args(base.get_args()).arg(command);
    run_with_input(cmd, input)
}

/// Runs `cmd` with `input` written from a thread (so a large input cannot
/// deadlock against a large output) and a 120 s limit.
pub fn run_with_input(mut cmd: Command, input: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the command runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let pid = child.id() as i32;
    let watchdog = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            if !alive(pid) {
                return;
            }
        }
        send_signal(pid, libc::SIGKILL);
    });
    let output = child.wait_with_output().expect("ssh output");
    let _ = writer.join();
    let _ = watchdog.join();
    output
}

/// Gives `command` the pty `slave` as stdin, stdout, stderr and
/// controlling terminal, in a session of its own.
pub fn on_terminal(command: &mut Command, slave: &std::os::fd::OwnedFd) {
    command
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: setsid and TIOCSCTTY only, between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
}

pub fn send_signal(pid: i32, signo: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, signo) };
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Whether a pid is gone entirely (neither running nor a zombie).
pub fn gone(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Polls `condition` every 50 ms until it holds or `within` passes
/// (blocking: for tests without a runtime).
pub fn wait_for(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Polls `condition` every 50 ms until it holds or `within` passes,
/// without blocking the runtime, so the client's own tasks keep running.
pub async fn eventually_async(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

pub fn wait_with_deadline(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Resident memory of a process in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub use sesh::conformance::data::pattern as pattern_bytes;

/// Runs `command` with `data` written to its stdin `piece` bytes at a time.
pub fn run_in_pieces(mut command: Command, data: &[u8], piece: usize) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || {
        for chunk in data.chunks(piece) {
            if stdin.write_all(chunk).and_then(|_| stdin.flush()).is_err() {
                return;
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

pub use sesh::conformance::data::seq;

/// A readable summary of a failed `ssh` run.
pub fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout[..output.stdout.len().min(2000)]),
        String::from_utf8_lossy(&output.stderr[..output.stderr.len().min(2000)])
    )
}

/// What a process holds, for leak checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub fds: usize,
    pub threads: usize,
    pub rss_kib: u64,
    /// Direct children (commands still running, or zombies not reaped).
    pub children: usize,
}

pub fn holdings(pid: u32) -> Holdings {
    let count = |dir: String| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let children = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| {
            std::fs::read_to_string(task.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .count()
        })
        .sum();
    Holdings {
        fds: count(format!("/proc/{pid}/fd")),
        threads: count(format!("/proc/{pid}/task")),
        rss_kib: rss_kib(pid),
        children,
    }
}

/// Waits (bounded) until the server holds no more fds than `baseline` and
/// has no children: what a finished session must leave behind.
pub fn settles_to(pid: u32, baseline: &Holdings, within: Duration) -> Result<(), Holdings> {
    let settled = |now: &Holdings| now.fds <= baseline.fds && now.children == 0;
    if wait_for(within, || settled(&holdings(pid))) {
        Ok(())
    } else {
        Err(holdings(pid))
    }
}
