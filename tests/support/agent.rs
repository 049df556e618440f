//! A private ssh-agent for a test: its own socket in a directory the test
//! owns, keys added with the real `ssh-add`, stopped (by pid) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{describe, wait_for};

/// A running `ssh-agent -D` on `socket`.
pub struct Agent {
    child: Child,
    pub socket: PathBuf,
}

impl Agent {
    /// Starts an agent on `DIR/agent.sock` and waits (bounded) for it.
    pub fn start(dir: &Path) -> Self {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        assert!(
            wait_for(Duration::from_secs(10), || socket.exists()),
            "ssh-agent did not start"
        );
        Self { child, socket }
    }

    /// `ssh-add KEY`, which loads `KEY-cert.pub` with it when present.
    pub fn add(&self, key: &Path) {
        let added = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .expect("ssh-add runs");
        assert!(added.status.success(), "{}", describe(&added));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
