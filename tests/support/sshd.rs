//! A private OpenSSH sshd for tests: its own config, host key and
//! authorized_keys in a temporary directory, on a free loopback port,
//! never the system's.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Keys;

pub struct Sshd {
    child: Child,
    pub addr: SocketAddr,
    pub keys: Keys,
    /// `SHA256:...` of its host key.
    pub fingerprint: String,
}

impl Sshd {
    pub fn start() -> Self {
        Self::start_with("")
    }

    /// Like `start`, with `extra` lines appended to its config (for
    /// example `AllowTcpForwarding yes` for a jump host).
    pub fn start_with(extra: &str) -> Self {
        Self::start_prepared(|_, _| extra.to_string())
    }

    /// Like `start_with`, where the lines come from `extra`, which gets the
    /// test's keys and the host key's path (made before sshd starts, so it
    /// can be certified): `HostCertificate ...`, `TrustedUserCAKeys ...`.
    pub fn start_prepared(extra: impl FnOnce(&Keys, &Path) -> String) -> Self {
        let keys = Keys::new();
        let dir = keys.dir.path();
        let host_key = dir.join("sshd_host_key");
        super::keygen(&host_key);
        let extra = extra(&keys, &host_key);
        let fingerprint = super::fingerprint_of(&dir.join("sshd_host_key.pub"));
        if !Path::new("/run/sshd").exists() {
            // sshd refuses to start without its privilege separation directory.
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = free_port();
        let config = dir.join("sshd_config");
        // The first value of a keyword wins in sshd_config: `extra` may set
        // its own LogLevel.
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 PermitRootLogin yes\nAcceptEnv LANG LC_*\n{extra}\nLogLevel VERBOSE\n",
                host_key.display(),
                keys.authorized_keys().display(),
                dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(&config)
            .arg("-E")
            .arg(dir.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("/usr/sbin/sshd runs (package openssh-server; scripts/test installs it)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let sshd = Self {
            child,
            addr,
            keys,
            fingerprint,
        };
        sshd.wait_ready();
        sshd
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut socket) = TcpStream::connect(self.addr) {
                socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut banner = [0u8; 8];
                if socket.read_exact(&mut banner).is_ok() && banner.starts_with(b"SSH-2.0") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd did not start: {}", self.log());
    }

    /// Its `known_hosts` line: `[127.0.0.1]:PORT TYPE KEY`.
    pub fn known_hosts_line(&self) -> String {
        let public = std::fs::read_to_string(self.keys.path("sshd_host_key.pub")).unwrap();
        let key: Vec<&str> = public.split_whitespace().take(2).collect();
        format!("[127.0.0.1]:{} {}", self.addr.port(), key.join(" "))
    }

    /// The listening sshd's pid (its per-connection processes are below it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.keys.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
