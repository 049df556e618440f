//! `sesh exec` and `sesh test` reading OpenSSH's client configuration, end
//! to end: an alias in the test's own `~/.ssh/config` (or `-F`) reaches
//! `sesh serve` and a private sshd with the user, port, identity and
//! known_hosts file the file names; the command line's precedence; `-G`
//! against the real `ssh -G`; a bad file; fan-out over aliases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sesh::client::ssh_config::DUMPED_KEYWORDS;

use crate::support::sshd::Sshd;
use crate::support::{Keys, Server, describe, keygen, run_with_input, sesh_reading_config};

/// A HOME of the test's own with a `.ssh/config`.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    /// A HOME whose `~/.ssh/config` is `config` (`@HOME@` is replaced).
    pub fn with_config(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".ssh")).unwrap();
        let home = Self { dir };
        home.write(".ssh/config", config);
        home
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) {
        let text = text.replace("@HOME@", self.dir.path().to_str().unwrap());
        std::fs::write(self.path(name), text).unwrap();
    }

    /// `sesh SUBCOMMAND` with this HOME, reading its configuration
    /// (`exec` with `-n`: no stdin).
    pub fn sesh(&self, subcommand: &str) -> Command {
        let mut command = sesh_reading_config(subcommand);
        command.env("HOME", self.dir.path());
        if subcommand == "exec" {
            command.arg("-n");
        }
        command
    }
}

/// A `sesh serve` whose host key is on disk, and that key's public half.
pub fn serve_with_host_key() -> (Server, String) {
    let keys = Keys::new();
    let host_key = keys.path("host_key");
    keygen(&host_key);
    let public = public_half(&keys.path("host_key.pub"));
    let authorized_keys = keys.authorized_keys();
    let args = [
        "--shell",
        "/bin/sh",
        "--host-key",
        host_key.to_str().unwrap(),
        "--authorized-keys",
        authorized_keys.to_str().unwrap(),
    ];
    (Server::start_bare(keys, &args), public)
}

/// `TYPE BASE64` of a public key file.
pub fn public_half(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

pub fn local_user() -> String {
    sesh::client::destination::local_user().unwrap()
}

/// `Host NAMES` with everything needed to reach 127.0.0.1:PORT, the
/// identity and known_hosts file from the file.
pub fn alias_block(names: &str, port: u16, identity: &Path, known_hosts: &Path) -> String {
    format!(
        "Host {names}\n  HostName 127.0.0.1\n  Port {port}\n  User {}\n  IdentityFile {}\n  UserKnownHostsFile {}\n",
        local_user(),
        identity.display(),
        known_hosts.display()
    )
}

pub fn run(command: Command) -> Output {
    run_with_input(command, b"")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An alias in ~/.ssh/config reaches sesh serve: HostName, Port, User,
/// IdentityFile and UserKnownHostsFile all come from the file (no flag
/// names any of them); `sesh test ALIAS` goes through the same lookup.
#[test]
fn alias_reaches_serve() {
    let (server, key) = serve_with_host_key();
    let home = Home::with_config("");
    let known_hosts = home.path("kh");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", server.port())).unwrap();
    home.write(
        ".ssh/config",
        &alias_block("box", server.port(), &server.keys.identity(), &known_hosts),
    );
    let mut command = home.sesh("exec");
    command.args(["box", "echo", "via-alias"]);
    let output = run(command);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(stdout(&output), "via-alias\n");
    let mut test = home.sesh("test");
    test.args(["--only", "keepalive", "box"]);
    let output = run(test);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}

/// An alias reaches a private OpenSSH sshd the same way, the known_hosts
/// line holding sshd's own host key.
#[test]
fn alias_reaches_sshd() {
    let sshd = Sshd::start();
    let home = Home::with_config("");
    let known_hosts = home.path("kh");
    let key = public_half(&sshd.keys.path("sshd_host_key.pub"));
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", sshd.addr.port())).unwrap();
    home.write(
        ".ssh/config",
        &alias_block("box", sshd.addr.port(), &sshd.keys.identity(), &known_hosts),
    );
    let mut command = home.sesh("exec");
    command.args(["box", "echo", "sshd-alias"]);
    let output = run(command);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(stdout(&output), "sshd-alias\n");
}

/// `-o` beats the file (the file's Port is closed, `-o Port=` reaches the
/// server); a typed `-p` beats `-o`; `-F` replaces ~/.ssh/config.
#[test]
fn command_line_precedence() {
    let (server, key) = serve_with_host_key();
    let closed = crate::support::sshd::free_port();
    let home = Home::with_config("");
    let known_hosts = home.path("kh");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", server.port())).unwrap();
    let block = alias_block("box", closed, &server.keys.identity(), &known_hosts);
    home.write(".ssh/config", &block);
    let port = server.port().to_string();
    let cases: [&[&str]; 3] = [
        &["-o", &format!("Port={port}")],
        &["-p", &port, "-o", &format!("Port={closed}")],
        &["-o", &format!("port {port}"), "-o", &format!("Port={closed}")],
    ];
    for args in cases {
        let mut command = home.sesh("exec");
        command.args(args).args(["box", "echo", "ok"]);
        let output = run(command);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", describe(&output));
    }
    let mut command = home.sesh("exec");
    command.args(["box", "echo", "ok"]);
    let output = run(command);
    assert_eq!(
        output.status.code(),
        Some(255),
        "the file's closed port: {}",
        describe(&output)
    );
    // -F: only that file is read (it knows no box, so box is a host name).
    home.write("other", "Host elsewhere\n  Port 1\n");
    let mut command = home.sesh("exec");
    command.arg("-F").arg(home.path("other")).args(["-G", "box"]);
    let output = run(command);
    assert!(stdout(&output).contains("\nport 22\n"), "{}", describe(&output));
}

/// sesh's own flags enter only when typed: the file's ConnectTimeout and
/// ServerAliveInterval show in -G unless --connect-timeout/--keepalive are
/// given; --known-hosts, --accept-new and --env map onto their keywords.
#[test]
fn flags_as_keywords_only_when_typed() {
    let home = Home::with_config("Host box\n  ConnectTimeout 7\n  ServerAliveInterval 9\n");
    let show = |args: &[&str]| {
        let mut command = home.sesh("exec");
        command
            .args(["-F"])
            .arg(home.path(".ssh/config"))
            .arg("-G")
            .args(args)
            .arg("box");
        let output = run(command);
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        stdout(&output)
    };
    let plain = show(&[]);
    assert!(
        plain.contains("\nconnecttimeout 7\n") && plain.contains("\nserveraliveinterval 9\n"),
        "{plain}"
    );
    let typed = show(&[
        "--connect-timeout",
        "3s",
        "--keepalive",
        "4s",
        "--known-hosts",
        "/k h",
        "--accept-new",
        "--env",
        "A=1",
        "--env",
        "B=2",
    ]);
    for line in [
        "connecttimeout 3",
        "serveraliveinterval 4",
        "userknownhostsfile /k h",
        "stricthostkeychecking accept-new",
        "setenv A=1",
        "setenv B=2",
    ] {
        assert!(typed.lines().any(|l| l == line), "{line}:\n{typed}");
    }
}

/// `sesh exec -G` prints what `ssh -G -F FILE HOST` prints for every
/// honoured keyword, through the real binary, for a few files.
#[test]
fn show_config_equals_ssh() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let files = [
        "Host box\n  HostName 127.0.0.1\n  Port 2222\n  User bob\n  IdentityFile ~/.ssh/box_id\n".to_string(),
        format!(
            "Host web*\n  HostName %h.example.com\n  UserKnownHostsFile {root}/a {root}/b\n  \
             StrictHostKeyChecking accept-new\n  HashKnownHosts yes\n  SendEnv LANG LC_*\n  SetEnv X=1 Y=2\n\
             Match host *.example.com\n  ProxyJump jump@bastion:2200\n  ServerAliveCountMax 5\n\
             Host *\n  IdentitiesOnly yes\n  IdentityAgent none\n  RequestTTY force\n  ConnectTimeout 1m30s\n\
             ControlMaster auto\n  ControlPath ~/.ssh/cm-%C\n  ControlPersist 10m\n  GSSAPIAuthentication yes\n"
        ),
        "Host *\n  ProxyCommand ssh -W %h:%p gate\n  BatchMode yes\n  LogLevel DEBUG\n  HostKeyAlias Alias\n"
            .to_string(),
    ];
    let home = nix_home();
    for (index, text) in files.iter().enumerate() {
        let file = dir.path().join(format!("config{index}"));
        std::fs::write(&file, text).unwrap();
        for host in ["box", "web1", "other"] {
            let ssh = Command::new("ssh")
                .arg("-G")
                .arg("-F")
                .arg(&file)
                .arg(host)
                .output()
                .unwrap();
            assert!(ssh.status.success(), "{}", describe(&ssh));
            let keep = |l: &&str| DUMPED_KEYWORDS.contains(&l.split(' ').next().unwrap_or(""));
            let expected: Vec<&str> = std::str::from_utf8(&ssh.stdout)
                .unwrap()
                .lines()
                .filter(keep)
                .collect();
            // ssh expands ~ from the account's home: give sesh that HOME,
            // with -F so no file of it is read.
            let mut command = sesh_reading_config("exec");
            command.env("HOME", &home).arg("-F").arg(&file).args(["-G", host]);
            let output = run(command);
            assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
            let got = stdout(&output);
            assert_eq!(got.lines().collect::<Vec<_>>(), expected, "config{index} {host}");
        }
    }
}

/// The account database's home, as ssh uses for `~`.
fn nix_home() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "getent passwd $(id -u) | cut -d: -f6"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A bad line in ~/.ssh/config or a -F file: exit 255 with one line naming
/// the file and line, nothing on stdout, nothing connected.
#[test]
fn bad_file_is_one_line_and_255() {
    let home = Home::with_config("Host box\n  HostName 127.0.0.1\n  Port 0\n");
    let config = home.path(".ssh/config");
    for args in [&["box", "true"][..], &["-G", "box"], &["-H", "a,b", "true"]] {
        let mut command = home.sesh("exec");
        command.args(args);
        let output = run(command);
        assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
        assert!(output.stdout.is_empty(), "{}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        let expected = format!("sesh: {} line 3: ", config.display());
        assert!(stderr.starts_with(&expected), "{stderr}");
    }
    home.write("bad", "Frobnicate yes\n");
    let mut command = home.sesh("test");
    command.arg("-F").arg(home.path("bad")).arg("box");
    let output = run(command);
    assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{} line 1: ", home.path("bad").display())),
        "{stderr}"
    );
}

/// A fan-out over aliases (a list and a range) reaches each through its
/// own block; a host whose block is wrong fails alone.
#[test]
fn fanout_over_aliases() {
    let (server, key) = serve_with_host_key();
    let home = Home::with_config("");
    let known_hosts = home.path("kh");
    std::fs::write(&known_hosts, format!("[127.0.0.1]:{} {key}\n", server.port())).unwrap();
    let closed = crate::support::sshd::free_port();
    let config = format!(
        "Host web3\n  Port {closed}\n{}",
        alias_block("web*", server.port(), &server.keys.identity(), &known_hosts)
    );
    home.write(".ssh/config", &config);
    let mut command = home.sesh("exec");
    command.args(["-H", "web[1-2],web3", "--", "echo", "hi"]);
    let output = run(command);
    assert_ne!(output.status.code(), Some(0), "web3 fails: {}", describe(&output));
    let text = stdout(&output);
    for host in ["web1", "web2"] {
        assert!(
            text.lines().any(|l| l == format!("{host}: hi")),
            "{host}: {}",
            describe(&output)
        );
    }
    assert!(!text.contains("web3: hi"), "{}", describe(&output));
}
