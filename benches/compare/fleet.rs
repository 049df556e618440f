//! A fleet on loopback: `targets` distinct addresses 127.0.0.1, 127.0.0.2,
//! ... on one port, standing in for that many hosts. One `sesh serve`
//! listens on all of them (`--listen` repeated); the OpenSSH fleet is a
//! row of private sshds, 16 addresses each, because sshd refuses more than
//! 16 listen sockets (MAX_LISTEN_SOCKS, a compile-time constant).
//!
//! The clients trust the fleet without questions: sesh through
//! `--host-key FINGERPRINT`, ssh (and pdsh, which runs ssh) through a
//! private `-F` config whose `HostKeyAlias fleet` names one known_hosts
//! line for every address.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::peers::{ServerKind, keygen};

/// Addresses per sshd: OpenSSH's MAX_LISTEN_SOCKS.
const SSHD_ADDRESSES: usize = 16;

/// One server kind's fleet: its processes and the port they share.
pub struct Fleet {
    pub port: u16,
    children: Vec<Child>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Both fleets and the files their clients need.
pub struct Fleets {
    dir: tempfile::TempDir,
    pub addresses: Vec<Ipv4Addr>,
    pub serve: Fleet,
    pub sshd: Fleet,
    fingerprint: String,
}

/// 127.0.0.1 and on, `count` of them (127.0.3.232 is the 1,000th).
pub fn addresses(count: usize) -> Vec<Ipv4Addr> {
    (1..=count as u32)
        .map(|n| Ipv4Addr::from(0x7f00_0000 + n))
        .collect()
}

impl Fleets {
    pub fn start(sesh: &Path, targets: usize) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let path = |name: &str| dir.path().join(name);
        for key in ["id", "host_key"] {
            keygen(&path(key))?;
        }
        std::fs::copy(path("id.pub"), path("authorized_keys")).map_err(|e| e.to_string())?;
        let public = std::fs::read_to_string(path("host_key.pub")).map_err(|e| e.to_string())?;
        std::fs::write(path("known_hosts"), format!("fleet {public}")).map_err(|e| e.to_string())?;
        let addresses = addresses(targets);
        let serve = start_serve(sesh, dir.path(), &addresses)?;
        let sshd = start_sshds(dir.path(), &addresses)?;
        let fingerprint = fingerprint(&path("host_key.pub"))?;
        let fleets = Self {
            dir,
            addresses,
            serve,
            sshd,
            fingerprint,
        };
        std::fs::write(fleets.ssh_config(), fleets.ssh_config_text()).map_err(|e| e.to_string())?;
        let hosts: String = fleets.addresses.iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(fleets.hosts_file(), hosts).map_err(|e| e.to_string())?;
        Ok(fleets)
    }

    pub fn fleet(&self, kind: ServerKind) -> &Fleet {
        match kind {
            ServerKind::SeshServe => &self.serve,
            ServerKind::Sshd => &self.sshd,
        }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// The private ssh_config for ssh and pdsh: no file of this machine,
    /// the fleet's key pinned for every address. The port is given on the
    /// command line (`-p`), since both fleets share this file.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    fn ssh_config_text(&self) -> String {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  BatchMode yes\n  HostKeyAlias fleet\n  \
             UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  \
             LogLevel ERROR\n",
            path("id"),
            path("known_hosts"),
        )
    }

    /// Every address, one a line (for xargs and `pdsh -w ^FILE`).
    pub fn hosts_file(&self) -> PathBuf {
        self.dir.path().join("hosts")
    }

    /// `sesh exec` on every address of `kind`'s fleet, `parallel` at once.
    pub fn sesh_exec(&self, sesh: &Path, kind: ServerKind, parallel: usize) -> Command {
        let port = self.fleet(kind).port;
        let hosts: Vec<String> = self.addresses.iter().map(|a| format!("{a}:{port}")).collect();
        let mut cmd = Command::new(sesh);
        // -n: no stdin to broadcast, so --parallel may be below the host count.
        cmd.env("HOME", self.home())
            .arg("exec")
            .args(["-n", "-F", "none", "-i"]);
        cmd.arg(self.dir.path().join("id"))
            .args(["--host-key", &self.fingerprint])
            .args(["--parallel", &parallel.to_string(), "-H", &hosts.join(",")])
            .args(["--", "true"]);
        cmd
    }

    /// `pdsh -R ssh -f FANOUT` on every address of `kind`'s fleet.
    pub fn pdsh(&self, kind: ServerKind, fanout: usize) -> Command {
        let port = self.fleet(kind).port;
        let mut cmd = Command::new("pdsh");
        cmd.env("HOME", self.home())
            // pdsh's default adds `-2 -a -x -l%u`; only what ssh needs here.
            .env(
                "PDSH_SSH_ARGS",
                format!("-F {} -p {port} %h", self.ssh_config().display()),
            )
            .args(["-R", "ssh", "-f", &fanout.to_string(), "-w"])
            .arg(format!("^{}", self.hosts_file().display()))
            .arg("true");
        cmd
    }

    /// `xargs -P PARALLEL ssh` on every address of `kind`'s fleet; the
    /// addresses come on its stdin.
    pub fn xargs(&self, kind: ServerKind, parallel: usize) -> Command {
        let port = self.fleet(kind).port;
        let mut cmd = Command::new("xargs");
        cmd.env("HOME", self.home())
            .args(["-P", &parallel.to_string(), "-I{}", "ssh", "-F"])
            .arg(self.ssh_config())
            .args(["-p", &port.to_string(), "{}", "true"]);
        cmd
    }

    /// The addresses as xargs reads them.
    pub fn hosts_text(&self) -> String {
        self.addresses.iter().map(|a| format!("{a}\n")).collect()
    }
}

fn fingerprint(public: &Path) -> Result<String, String> {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public)
        .output()
        .map_err(|e| format!("ssh-keygen -l: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| "ssh-keygen -l printed no fingerprint".to_string())
}

/// One sesh serve on every address, or an error after three ports that
/// something else held on one of the addresses.
fn start_serve(sesh: &Path, dir: &Path, addresses: &[Ipv4Addr]) -> Result<Fleet, String> {
    let mut last = String::new();
    for _ in 0..3 {
        let port = crate::peers::free_port()?;
        let log = dir.join("fleet-serve.log");
        let mut cmd = Command::new(sesh);
        cmd.arg("serve");
        for address in addresses {
            cmd.arg("--listen").arg(format!("{address}:{port}"));
        }
        cmd.args(["--shell", "/bin/sh", "--host-key"])
            .arg(dir.join("host_key"))
            .arg("--authorized-keys")
            .arg(dir.join("authorized_keys"))
            .args(["--max-connections", &(addresses.len() + 10).to_string()]);
        let child = spawn(cmd, &log)?;
        let fleet = Fleet {
            port,
            children: vec![child],
        };
        match wait_ready(addresses, port, &log) {
            Ok(()) => return Ok(fleet),
            Err(why) => last = why,
        }
    }
    Err(last)
}

/// sshds of 16 addresses each on one port. MaxStartups lets a whole
/// burst in: an sshd never sees more than 16 clients at once here.
fn start_sshds(dir: &Path, addresses: &[Ipv4Addr]) -> Result<Fleet, String> {
    if !Path::new("/run/sshd").exists() {
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
    }
    let home = dir.join("home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let port = crate::peers::free_port()?;
    let mut children = Vec::new();
    let log = dir.join("fleet-sshd.log");
    for (n, group) in addresses.chunks(SSHD_ADDRESSES).enumerate() {
        let listen: String = group.iter().map(|a| format!("ListenAddress {a}\n")).collect();
        let config = dir.join(format!("sshd_config.{n}"));
        let text = format!(
            "Port {port}\n{listen}HostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin yes\nLogLevel ERROR\nMaxStartups 100\nSetEnv HOME={}\n",
            dir.join("host_key").display(),
            dir.join("authorized_keys").display(),
            home.display(),
        );
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.args(["-D", "-f"]).arg(&config).arg("-E").arg(&log);
        children.push(spawn(cmd, &log)?);
    }
    let fleet = Fleet { port, children };
    wait_ready(addresses, port, &log)?;
    Ok(fleet)
}

fn spawn(mut cmd: Command, log: &Path) -> Result<Child, String> {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))
}

/// Until every address accepts a connection on `port` (30 s at most).
fn wait_ready(addresses: &[Ipv4Addr], port: u16, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut waiting = addresses.to_vec();
    while Instant::now() < deadline {
        waiting.retain(|a| TcpStream::connect((*a, port)).is_err());
        if waiting.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    Err(format!(
        "{} of {} fleet addresses not listening on port {port}: {}",
        waiting.len(),
        addresses.len(),
        log.trim()
    ))
}
