//! Jump-host rigs for tests: a private sshd that forwards (the bastion), and
//! a HOME for sesh whose `.ssh` holds the key the bastions admit and their
//! host keys, as a user's would.

use std::path::Path;
use std::process::Command;

use super::exec::Remote;
use super::keygen;
use super::sshd::Sshd;

/// A bastion: a private sshd that allows TCP forwarding, logging at
/// DEBUG1 so its log names every `direct-tcpip` target ([`forwarded_to`]).
pub fn bastion() -> Sshd {
    Sshd::start_with("AllowTcpForwarding yes\nLogLevel DEBUG1")
}

/// Whether `bastion` opened a `direct-tcpip` channel to 127.0.0.1:`port`.
pub fn forwarded_to(bastion: &Sshd, port: u16) -> bool {
    let target = format!("target 127.0.0.1 port {port}");
    bastion
        .log()
        .lines()
        .any(|line| line.contains("server_request_direct_tcpip") && line.ends_with(&target))
}

/// A HOME for sesh: `.ssh/id_ed25519`, admitted by every bastion given, and
/// `.ssh/known_hosts` holding their host keys.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new(bastions: &[&Sshd]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join(".ssh");
        std::fs::create_dir(&ssh).unwrap();
        keygen(&ssh.join("id_ed25519"));
        let public = std::fs::read_to_string(ssh.join("id_ed25519.pub")).unwrap();
        let mut known_hosts = String::new();
        for bastion in bastions {
            let authorized = bastion.keys.authorized_keys();
            let mut admitted = std::fs::read_to_string(&authorized).unwrap();
            admitted.push_str(&public);
            std::fs::write(&authorized, admitted).unwrap();
            known_hosts.push_str(&bastion.known_hosts_line());
            known_hosts.push('\n');
        }
        std::fs::write(ssh.join("known_hosts"), known_hosts).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub fn hop(sshd: &Sshd) -> String {
    format!("127.0.0.1:{}", sshd.addr.port())
}

/// `sesh exec` to `remote` through `jumps`, with `home` as HOME.
pub fn through(remote: &Remote, home: &Home, jumps: &str, extra: &[&str], command: &str) -> Command {
    let mut args = vec!["-J", jumps];
    args.extend_from_slice(extra);
    let mut sesh = remote.command(&args);
    sesh.env("HOME", home.path()).arg(command);
    sesh
}
