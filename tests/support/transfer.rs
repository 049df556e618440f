//! File-transfer peers against a `sesh serve`: OpenSSH's `scp` and `sftp`,
//! `rsync -e ssh` and `git` over ssh, each with its own empty HOME and no
//! ssh config, plus helpers to make and compare files and trees.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{Server, run_with_input};

/// Client-side settings shared by every tool: this server's key and port,
/// no config file, no known_hosts, no prompts.
pub struct Peer {
    pub home: tempfile::TempDir,
    identity: PathBuf,
    port: u16,
}

impl Peer {
    pub fn of(server: &Server) -> Self {
        Self::with_identity(server, &server.keys.identity())
    }

    pub fn with_identity(server: &Server, identity: &Path) -> Self {
        Self {
            home: tempfile::tempdir().expect("temp home"),
            identity: identity.to_path_buf(),
            port: server.port(),
        }
    }

    /// The `-o` options and identity, as ssh, scp and sftp take them.
    fn options(&self) -> Vec<String> {
        let mut args = vec!["-F".to_string(), "/dev/null".to_string(), "-i".to_string()];
        args.push(self.identity.display().to_string());
        for option in [
            "BatchMode=yes",
            "IdentitiesOnly=yes",
            "StrictHostKeyChecking=no",
            "UserKnownHostsFile=/dev/null",
            "LogLevel=ERROR",
            "ConnectTimeout=20",
        ] {
            args.push("-o".to_string());
            args.push(option.to_string());
        }
        args
    }

    /// A tool with HOME set to this peer's empty directory.
    pub fn tool(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("HOME", self.home.path());
        command
    }

    /// `scp ARGS` (SFTP mode unless ARGS say `-O`); `host:` is 127.0.0.1.
    pub fn scp<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut command = self.tool("scp");
        command
            .arg("-P")
            .arg(self.port.to_string())
            .args(self.options())
            .args(args);
        run_with_input(command, b"")
    }

    /// `sftp -b BATCH` against the server: each line one command, the
    /// first failing one ends the run with a non-zero status.
    pub fn sftp_batch(&self, batch: &str) -> Output {
        let file = self.home.path().join("batch");
        std::fs::write(&file, batch).expect("batch file");
        let mut command = self.tool("sftp");
        command
            .arg("-P")
            .arg(self.port.to_string())
            .args(self.options())
            .arg("-b")
            .arg(&file)
            .arg("127.0.0.1");
        run_with_input(command, b"")
    }

    /// The ssh command line the wrapped tools run (rsync's `-e`,
    /// `GIT_SSH_COMMAND`), with the port.
    pub fn ssh_command_line(&self) -> String {
        let mut line = format!("ssh -p {}", self.port);
        for arg in self.options() {
            line.push(' ');
            line.push_str(&arg);
        }
        line
    }
}

/// Writes `len` reproducible bytes to `path` a MiB at a time.
pub fn write_pattern_file(path: &Path, len: usize, seed: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut left = len;
    let mut seed = seed;
    while left > 0 {
        let piece = left.min(1024 * 1024);
        file.write_all(&super::pattern_bytes(piece, seed)).expect("write");
        left -= piece;
        seed += 1;
    }
    file.flush().expect("flush");
}

/// Whether two files hold the same bytes (read a MiB at a time).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let open = |path: &Path| std::fs::File::open(path).map(std::io::BufReader::new);
    let (Ok(mut a), Ok(mut b)) = (open(a), open(b)) else {
        return false;
    };
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut b, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled
}

/// Every entry under `root`, sorted: its relative path and, for a file,
/// its bytes (`None` for a directory).
pub fn tree(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut entries = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).expect("under root").to_path_buf();
            if path.is_dir() {
                pending.push(path);
                entries.push((relative, None));
            } else {
                entries.push((relative, Some(std::fs::read(&path).expect("read"))));
            }
        }
    }
    entries.sort();
    entries
}

/// A small tree: nested directories, an empty one, an empty file and
/// files of a few sizes.
pub fn make_tree(root: &Path) {
    for dir in ["a/b/c", "empty", "d"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    std::fs::write(root.join("zero"), b"").expect("write");
    for (n, name) in ["top", "a/one", "a/b/two", "a/b/c/three", "d/four"]
        .iter()
        .enumerate()
    {
        std::fs::write(root.join(name), super::pattern_bytes(n * 40_000 + 1, n as u64)).expect("write");
    }
}
