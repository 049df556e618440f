//! The contenders: a `sesh serve` and a private OpenSSH `sshd` on free
//! loopback ports, each with its own host key in a temporary directory,
//! and the two clients (`sesh exec`, OpenSSH `ssh`) set up to trust both.

use std::fmt;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    SeshServe,
    Sshd,
}

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    SeshExec,
    Ssh,
}

/// A client talking to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair(pub ClientKind, pub ServerKind);

impl Pair {
    /// sesh exec -> sesh serve, ssh -> sshd, then the crossed pairs.
    pub const ALL: [Pair; 4] = [
        Pair(ClientKind::SeshExec, ServerKind::SeshServe),
        Pair(ClientKind::Ssh, ServerKind::Sshd),
        Pair(ClientKind::Ssh, ServerKind::SeshServe),
        Pair(ClientKind::SeshExec, ServerKind::Sshd),
    ];
}

impl std::str::FromStr for Pair {
    type Err = String;

    /// `sesh-sesh`, `ssh-sshd`, `ssh-sesh`, `sesh-sshd` (client-server).
    fn from_str(name: &str) -> Result<Self, String> {
        let (client, server) = name
            .split_once('-')
            .ok_or_else(|| format!("pair {name:?}: expected CLIENT-SERVER, e.g. sesh-sshd"))?;
        let client = match client {
            "sesh" => ClientKind::SeshExec,
            "ssh" => ClientKind::Ssh,
            _ => return Err(format!("pair {name:?}: the client is sesh or ssh")),
        };
        let server = match server {
            "sesh" => ServerKind::SeshServe,
            "sshd" => ServerKind::Sshd,
            _ => return Err(format!("pair {name:?}: the server is sesh or sshd")),
        };
        Ok(Pair(client, server))
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerKind::SeshServe => "sesh serve",
            ServerKind::Sshd => "sshd",
        })
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientKind::SeshExec => "sesh exec",
            ClientKind::Ssh => "ssh",
        })
    }
}

impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.0, self.1)
    }
}

/// One running server.
pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both servers and what the clients need to reach them.
pub struct Peers {
    pub sesh: PathBuf,
    dir: tempfile::TempDir,
    pub serve: Server,
    pub sshd: Server,
}

impl Peers {
    pub fn start(sesh: PathBuf, max_connections: usize) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let path = |name: &str| dir.path().join(name);
        for key in ["id", "serve_host_key", "sshd_host_key"] {
            keygen(&path(key))?;
        }
        std::fs::copy(path("id.pub"), path("authorized_keys")).map_err(|e| e.to_string())?;
        let serve = start_serve(&sesh, dir.path(), max_connections)?;
        let sshd = start_sshd(dir.path(), max_connections)?;
        let mut known_hosts = String::new();
        for (server, key) in [(&serve, "serve_host_key.pub"), (&sshd, "sshd_host_key.pub")] {
            let public = std::fs::read_to_string(path(key)).map_err(|e| e.to_string())?;
            known_hosts += &format!("[127.0.0.1]:{} {}", server.port, public);
        }
        std::fs::write(path("known_hosts"), known_hosts).map_err(|e| e.to_string())?;
        Ok(Self {
            sesh,
            dir,
            serve,
            sshd,
        })
    }

    pub fn server(&self, kind: ServerKind) -> &Server {
        match kind {
            ServerKind::SeshServe => &self.serve,
            ServerKind::Sshd => &self.sshd,
        }
    }

    /// `client` running `command` on `server`; stdio is the caller's.
    pub fn client(&self, pair: Pair, command: &str) -> Command {
        self.client_at(pair, self.server(pair.1).port, command)
    }

    /// Like `client`, reaching the server through `port` (a relay to it,
    /// which `trust` has put in known_hosts).
    pub fn client_at(&self, pair: Pair, port: u16, command: &str) -> Command {
        match pair.0 {
            ClientKind::SeshExec => {
                let mut cmd = Command::new(&self.sesh);
                // HOME is the bench's own directory: nobody's ~/.ssh leaks in.
                cmd.arg("exec")
                    .env("HOME", self.dir.path())
                    .args(self.sesh_options())
                    .arg(format!("127.0.0.1:{port}"));
                cmd.arg("--").arg(command);
                cmd
            }
            ClientKind::Ssh => {
                let mut cmd = Command::new("ssh");
                cmd.args(self.ssh_options())
                    .args(["-p", &port.to_string(), "127.0.0.1", command]);
                cmd
            }
        }
    }

    /// Adds `kind`'s host key for `127.0.0.1:port` (a relay) to known_hosts.
    pub fn trust(&self, port: u16, kind: ServerKind) -> Result<(), String> {
        let path = |name: &str| self.dir.path().join(name);
        let key = match kind {
            ServerKind::SeshServe => "serve_host_key.pub",
            ServerKind::Sshd => "sshd_host_key.pub",
        };
        let public = std::fs::read_to_string(path(key)).map_err(|e| e.to_string())?;
        let mut known = std::fs::read_to_string(path("known_hosts")).map_err(|e| e.to_string())?;
        known += &format!("[127.0.0.1]:{port} {public}");
        std::fs::write(path("known_hosts"), known).map_err(|e| e.to_string())
    }

    /// `sesh exec` options that reach both servers without questions.
    pub fn sesh_options(&self) -> Vec<String> {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        vec![
            // No ssh_config of this machine (the same as ssh's -F /dev/null).
            "-F".into(),
            "none".into(),
            "-i".into(),
            path("id"),
            "--known-hosts".into(),
            path("known_hosts"),
        ]
    }

    /// `ssh` options: the test key and known_hosts, nothing of the system's.
    pub fn ssh_options(&self) -> Vec<String> {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        let mut options = vec!["-F".into(), "/dev/null".into(), "-i".into(), path("id")];
        for option in [
            "BatchMode=yes".to_string(),
            "IdentitiesOnly=yes".into(),
            "StrictHostKeyChecking=yes".into(),
            format!("UserKnownHostsFile={}", path("known_hosts")),
            "GlobalKnownHostsFile=/dev/null".into(),
            "LogLevel=ERROR".into(),
        ] {
            options.push("-o".into());
            options.push(option);
        }
        options
    }
}

pub fn keygen(path: &Path) -> Result<(), String> {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("ssh-keygen (package openssh-client): {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| "ssh-keygen failed".to_string())
}

/// `/bin/sh` as the shell: the account's login shell may source a heavy
/// ~/.bashrc (Debian's bash does for SSH sessions), which would be measured
/// instead of the server. sshd gets the same relief through HOME below.
fn start_serve(sesh: &Path, dir: &Path, max_connections: usize) -> Result<Server, String> {
    let port = free_port()?;
    let log = dir.join("serve.log");
    let child = Command::new(sesh)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--shell",
            "/bin/sh",
        ])
        .arg("--host-key")
        .arg(dir.join("serve_host_key"))
        .arg("--authorized-keys")
        .arg(dir.join("authorized_keys"))
        .args(["--max-connections", &max_connections.to_string()])
        // The private sshd below has MaxSessions 100: the same limit here,
        // or OpenSSH mux callers past 10 fall back to fresh logins.
        .args(["--max-sessions", "100"])
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("{}: {e}", sesh.display()))?;
    let server = Server { child, port, log };
    wait_ready(&server)?;
    Ok(server)
}

/// A private sshd as TESTING.md describes. `SetEnv HOME` points the
/// login shell at an empty home so no ~/.bashrc runs (see start_serve);
/// MaxStartups lets every concurrent connection in.
fn start_sshd(dir: &Path, max_connections: usize) -> Result<Server, String> {
    if !Path::new("/run/sshd").exists() {
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
    }
    let home = dir.join("home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let config = dir.join("sshd_config");
    let text = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
         PermitRootLogin yes\nLogLevel VERBOSE\nMaxStartups {max_connections}\nMaxSessions 100\n\
         SetEnv HOME={}\n",
        dir.join("sshd_host_key").display(),
        dir.join("authorized_keys").display(),
        dir.join("sshd.pid").display(),
        home.display(),
    );
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let log = dir.join("sshd.log");
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-f"])
        .arg(&config)
        .arg("-E")
        .arg(&log)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("/usr/sbin/sshd (package openssh-server; scripts/ensure-packages installs it): {e}")
        })?;
    let server = Server { child, port, log };
    wait_ready(&server)?;
    Ok(server)
}

pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("a free port: {e}"))?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Until the server answers with an SSH banner (30 s at most).
fn wait_ready(server: &Server) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut socket) = TcpStream::connect(("127.0.0.1", server.port)) {
            let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
            let mut banner = [0u8; 7];
            if socket.read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0" {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "a server did not start on port {}: {}",
        server.port,
        server.log()
    ))
}
