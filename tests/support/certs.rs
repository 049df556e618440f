//! OpenSSH certificates for tests, made by the real `ssh-keygen -s`: a CA
//! key pair in a temporary directory, and keys with certificates beside
//! them (`KEY-cert.pub`, where ssh and sesh exec look by default).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate authority: an ed25519 key pair.
pub struct Ca {
    pub key: PathBuf,
}

impl Ca {
    pub fn new(dir: &Path, name: &str) -> Self {
        Self::of_type(dir, name, "ed25519")
    }

    /// A CA with a key of `kind` (ed25519, ecdsa, rsa).
    pub fn of_type(dir: &Path, name: &str, kind: &str) -> Self {
        let key = dir.join(name);
        key_of_type(&key, kind);
        Self { key }
    }

    /// The CA's public key file.
    pub fn public(&self) -> PathBuf {
        with_suffix(&self.key, ".pub")
    }

    /// The CA's public key line (`ssh-ed25519 AAAA...`), without comment.
    pub fn public_line(&self) -> String {
        public_line(&self.public())
    }

    /// Signs the public half of `key` with `ssh-keygen -s CA -I ID ARGS`,
    /// writing `KEY-cert.pub`; returns that path.
    pub fn sign(&self, key: &Path, id: &str, args: &[&str]) -> PathBuf {
        let output = Command::new("ssh-keygen")
            .arg("-q")
            .arg("-s")
            .arg(&self.key)
            .args(["-I", id])
            .args(args)
            .arg(with_suffix(key, ".pub"))
            .output()
            .expect("ssh-keygen runs");
        assert!(
            output.status.success(),
            "ssh-keygen -s failed: {}",
            super::describe(&output)
        );
        with_suffix(key, "-cert.pub")
    }

    /// A new key of `kind` (ed25519, ecdsa, rsa) at `dir/name` with a
    /// certificate signed by this CA; returns the private key's path.
    pub fn user_key(&self, dir: &Path, name: &str, kind: &str, args: &[&str]) -> PathBuf {
        let key = dir.join(name);
        key_of_type(&key, kind);
        self.sign(&key, name, args);
        key
    }
}

/// A new key pair of `kind` at `path` (and `path.pub`).
pub fn key_of_type(path: &Path, kind: &str) {
    let mut command = Command::new("ssh-keygen");
    command.args(["-q", "-t", kind, "-N", "", "-C", "sesh-test"]);
    if kind == "rsa" {
        command.args(["-b", "2048"]);
    }
    let status = command.arg("-f").arg(path).status().expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen -t {kind} failed");
}

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The first two words of a public key file.
pub fn public_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a public key file");
    text.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// The name of the account the tests run as (a certificate's principal).
pub fn user_name() -> String {
    let output = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8(output.stdout)
        .expect("a UTF-8 user name")
        .trim()
        .to_string()
}
