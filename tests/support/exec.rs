//! Running `sesh exec` against a test peer (an OpenSSH sshd or a sesh
//! serve), pinned to its host key, with the test's client key.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::sshd::Sshd;
use super::{Server, run_with_input};

/// A server `sesh exec` can reach.
pub struct Remote {
    pub target: String,
    pub identity: PathBuf,
    pub stranger: PathBuf,
    pub authorized_keys: PathBuf,
    pub fingerprint: String,
    /// For the known_hosts tests.
    pub host: String,
    pub port: u16,
    /// Options every command gets before the target (e.g. `--reuse`).
    pub options: Vec<String>,
    /// Environment every command gets (e.g. its own HOME and XDG_RUNTIME_DIR).
    pub envs: Vec<(String, PathBuf)>,
}

impl Remote {
    pub fn of_sshd(sshd: &Sshd) -> Self {
        Self::new(sshd.addr, &sshd.keys, sshd.fingerprint.clone())
    }

    pub fn of_serve(server: &Server) -> Self {
        Self::new(server.addr, &server.keys, server.fingerprint())
    }

    fn new(addr: std::net::SocketAddr, keys: &super::Keys, fingerprint: String) -> Self {
        Self {
            target: format!("127.0.0.1:{}", addr.port()),
            identity: keys.identity(),
            stranger: keys.stranger(),
            authorized_keys: keys.authorized_keys(),
            fingerprint,
            host: "127.0.0.1".to_string(),
            port: addr.port(),
            options: Vec::new(),
            envs: Vec::new(),
        }
    }

    fn base(&self) -> Command {
        let mut command = sesh_exec();
        command.args(&self.options);
        command.envs(self.envs.iter().map(|(k, v)| (k, v)));
        command
    }

    /// `sesh exec -i KEY --host-key FP <extra> TARGET --`, no agent.
    pub fn command(&self, extra: &[&str]) -> Command {
        let mut command = self.base();
        command
            .arg("-i")
            .arg(&self.identity)
            .args(["--host-key", &self.fingerprint]);
        command.args(extra).arg(&self.target).arg("--");
        command
    }

    /// `sesh exec -n --host-key FP -i IDENTITY TARGET COMMAND`: another key.
    pub fn command_as(&self, identity: &std::path::Path, remote_command: &str) -> Command {
        self.command_with(&[identity], remote_command)
    }

    /// Like [`Self::command_as`] with several keys, `-i` each, in order.
    pub fn command_with(&self, identities: &[&std::path::Path], remote_command: &str) -> Command {
        let mut command = self.base();
        command.args(["-n", "--host-key", &self.fingerprint]);
        for identity in identities {
            command.arg("-i").arg(identity);
        }
        command.arg(&self.target).arg(remote_command);
        command
    }

    /// Runs `remote_command` with `input` on stdin.
    pub fn exec(&self, extra: &[&str], remote_command: &str, input: &[u8]) -> Output {
        let mut command = self.command(extra);
        command.arg(remote_command);
        run_with_input(command, input)
    }
}

/// The sesh binary's `exec`, cut off from the surroundings ([`super::sesh`]).
pub fn sesh_exec() -> Command {
    super::sesh("exec")
}
