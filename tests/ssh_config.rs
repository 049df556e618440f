//! sesh's ssh_config library against the real `ssh -G`: each case writes a
//! configuration corpus into a temp dir, runs `ssh -G -F FILE [opts] HOST`
//! with HOME set to that dir, and compares ssh's lines for the keywords
//! sesh honours with `Options::dump_lines`, line by line. Error cases check
//! that ssh refuses the file too and that sesh names the same file and line.

use std::path::PathBuf;
use std::process::Command;

use sesh::client::ssh_config::{CommandLine, CommandLineArg, DUMPED_KEYWORDS, Sources, SshConfig};

/// A temp dir holding `home/` (HOME for ssh, Include's `~`) and the files.
struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    /// Writes `files` (name, text); `@DIR@` in a text becomes the dir.
    /// Names starting with `home/` land under HOME.
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home/.ssh")).unwrap();
        let corpus = Self { dir };
        for (name, text) in files {
            let path = corpus.path(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text.replace("@DIR@", corpus.root())).unwrap();
        }
        corpus
    }

    fn root(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// `ssh -G -F config ARGS HOST`: its honoured lines, or its stderr.
    fn ssh(&self, args: &[&str], host: &str) -> Result<Vec<String>, String> {
        let args: Vec<String> = args.iter().map(|a| a.replace("@DIR@", self.root())).collect();
        let out = Command::new("ssh")
            .env("HOME", self.home())
            .env("SHELL", "/bin/sh")
            .arg("-G")
            .arg("-F")
            .arg(self.path("config"))
            .args(&args)
            .arg(host)
            .output()
            .expect("run ssh");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let keep = |l: &&str| DUMPED_KEYWORDS.contains(&l.split(' ').next().unwrap_or(""));
        Ok(text.lines().filter(keep).map(str::to_string).collect())
    }

    /// The library's lines for the same files and arguments.
    fn sesh(&self, args: &[&str], host: &str) -> Result<Vec<String>, String> {
        let args: Vec<String> = args.iter().map(|a| a.replace("@DIR@", self.root())).collect();
        self.sesh_with(&command_line(&args), host)
    }

    /// The library's lines for a command line built by the caller.
    fn sesh_with(&self, cli: &CommandLine, host: &str) -> Result<Vec<String>, String> {
        let mut sources = Sources::from_environment(Some(self.path("config"))).map_err(|e| e.to_string())?;
        sources.env_home = self.home();
        sources.system_file = self.path("no-system-file");
        sources.local.shell = "/bin/sh".into();
        let config = SshConfig::load(&sources).map_err(|e| e.to_string())?;
        let options = config.resolve(host, cli).map_err(|e| e.to_string())?;
        Ok(options.dump_lines())
    }

    /// Asserts both agree on `host` with `args`, and returns the lines.
    fn same(&self, args: &[&str], host: &str) -> Vec<String> {
        let ssh = self
            .ssh(args, host)
            .unwrap_or_else(|e| panic!("ssh -G {args:?} {host} failed: {e}"));
        let sesh = self
            .sesh(args, host)
            .unwrap_or_else(|e| panic!("sesh {args:?} {host} failed: {e}"));
        assert_eq!(sesh, ssh, "sesh (left) vs ssh -G (right) for {args:?} {host}");
        sesh
    }

    /// Asserts both refuse, and that sesh's error names `file line N` when
    /// ssh's does.
    fn both_refuse(&self, args: &[&str], host: &str) -> String {
        let ssh = self.ssh(args, host).expect_err("ssh -G accepted the config");
        let sesh = self.sesh(args, host).expect_err("sesh accepted the config");
        if let Some(place) = place_in(&ssh) {
            assert!(sesh.starts_with(&place), "sesh said {sesh:?}, ssh said {ssh:?}");
        }
        sesh
    }
}

/// `FILE line N` from ssh's first error line (it writes `FILE: line N` for
/// a bad keyword).
fn place_in(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.contains(" line "))?;
    let (file, rest) = line.split_once(" line ")?;
    let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(format!("{} line {number}", file.trim_end_matches(':')))
}

/// ssh's options, translated into the library's command line in order.
fn command_line(args: &[String]) -> CommandLine {
    let mut cli = CommandLine::default();
    for pair in args.chunks(2) {
        let value = pair[1].clone();
        cli.push(match pair[0].as_str() {
            "-o" => CommandLineArg::Option(value),
            "-l" => CommandLineArg::User(value),
            "-p" => CommandLineArg::Port(value),
            "-J" => CommandLineArg::Jump(value),
            "-i" => CommandLineArg::Identity(value),
            other => panic!("no translation for {other}"),
        });
    }
    cli
}

fn config(text: &str) -> Corpus {
    Corpus::new(&[("config", text)])
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

/// The new user's case from the issue: an alias with HostName, Port, User
/// and IdentityFile, and a host the alias does not name.
#[test]
fn alias_with_hostname_port_identity() {
    let c =
        config("Host box\n  HostName 127.0.0.1\n  Port 2222\n  User bob\n  IdentityFile ~/.ssh/box_key\n");
    let lines = c.same(&[], "box");
    assert!(has(&lines, "hostname 127.0.0.1") && has(&lines, "port 2222"));
    c.same(&[], "other");
    c.same(&[], "BOX");
}

/// First value wins inside a block, across blocks, and for options before
/// the first Host; the most specific block does not win.
#[test]
fn first_value_wins() {
    let c = config(
        "Port 1000\nHost web1\n  User first\n  User second\nHost web*\n  User third\n  Port 2000\n  HostName %h.example.com\nHost *\n  HostName fallback\n  ConnectTimeout none\n  ConnectTimeout 5\n",
    );
    let lines = c.same(&[], "web1");
    assert!(has(&lines, "user first") && has(&lines, "port 1000"));
    c.same(&[], "web2");
    c.same(&[], "db");
}

/// IdentityFile and CertificateFile accumulate with duplicates dropped;
/// SendEnv accumulates and `-PATTERN` removes; SetEnv and the known-hosts
/// lists take their first line whole.
#[test]
fn accumulation_and_removal() {
    let c = config(
        "Host a*\n  IdentityFile ~/.ssh/one\n  IdentityFile %d/two_%h\n  CertificateFile ~/c1\n  SendEnv LANG LC_* XTERM\n  SetEnv A=1 B=\"x y\" A=2\n  UserKnownHostsFile ~/kh1 /abs/kh2\nHost *\n  IdentityFile ~/.ssh/one\n  IdentityFile ~/.ssh/three\n  CertificateFile ~/c2\n  SendEnv -LC_* EDITOR\n  SetEnv C=3\n  UserKnownHostsFile ~/ignored\n  GlobalKnownHostsFile none\n",
    );
    let lines = c.same(&[], "alpha");
    assert_eq!(lines.iter().filter(|l| l.starts_with("identityfile")).count(), 3);
    c.same(&[], "beta");
}

/// Negated patterns kill the line, a line of negations never matches,
/// Host is case-sensitive, and a comma is not a separator.
#[test]
fn negation_and_case() {
    let c = config(
        "Host * !web1\n  User notweb1\nHost !only\n  Port 1111\nHost web1,web2\n  Port 2222\nHost WEB?\n  Port 3333\nHost web?\n  User web\n",
    );
    for host in ["web1", "web2", "WEB1", "db"] {
        c.same(&[], host);
    }
}

/// Match host tests the HostName obtained so far (with %h), originalhost
/// the label; a Match before the HostName line sees the label.
#[test]
fn match_host_after_hostname() {
    let c = config(
        "Match host *.example.com\n  Port 1001\nHost web1\n  HostName %h.EXAMPLE.com\nMatch host *.example.com\n  User ex\nMatch originalhost WEB1\n  IdentityFile ~/orig\nMatch host web1 !originalhost x,y\n  CertificateFile ~/never\n",
    );
    c.same(&[], "web1");
    c.same(&[], "web2.example.com");
}

/// Match user sees the User so far (not a later one); localuser the local
/// account; all; negation of criteria.
#[test]
fn match_user_localuser_all() {
    let user = sesh::client::ssh_config::Sources::from_environment(None)
        .unwrap()
        .local
        .user;
    let text = format!(
        "Match user admin\n  Port 1001\nHost *\n  User admin\nMatch user admin\n  Port 1002\nMatch localuser {user}\n  IdentityFile ~/local\nMatch !localuser {user}\n  IdentityFile ~/notlocal\nMatch all\n  HostKeyAlias Alias\nMatch host x all\n  BatchMode yes\n"
    );
    let c = config(&text);
    let lines = c.same(&[], "x");
    assert!(has(&lines, "port 1002") && has(&lines, "batchmode yes"));
    c.same(&["-l", "other"], "y");
}

/// Match exec runs the shell with tokens expanded; a failing command or
/// an earlier failed criterion leaves the block inactive.
#[test]
fn match_exec() {
    let c = Corpus::new(&[
        ("flag-web1", ""),
        (
            "config",
            "Match exec \"test -f @DIR@/flag-%h\"\n  User flagged\nMatch host nomatch exec \"touch @DIR@/must-not-run\"\n  Port 1\nMatch exec false\n  Port 2\nMatch !exec false\n  Port 3\n",
        ),
    ]);
    assert!(has(&c.same(&[], "web1"), "user flagged"));
    c.same(&[], "web2");
    assert!(
        !c.path("must-not-run").exists(),
        "exec ran after a failed criterion"
    );
}

/// Match final asks for a second pass: Host lines then test the final
/// HostName, Match final/canonical become true, first-wins continues and
/// identity files accumulate.
#[test]
fn match_final_second_pass() {
    let c = config(
        "Host alias\n  HostName Real1\n  IdentityFile ~/first\nHost real1\n  Port 2001\n  IdentityFile ~/second\nMatch final host real1\n  User fin\nMatch canonical\n  ServerAliveInterval 7\nMatch !final\n  ServerAliveCountMax 9\n",
    );
    let lines = c.same(&[], "alias");
    assert!(has(&lines, "port 2001") && has(&lines, "user fin"));
    c.same(&[], "real1");
    let plain = config("Host alias\n  HostName Real1\nHost real1\n  Port 2001\n");
    assert!(!has(&plain.same(&[], "alias"), "port 2001"));
}

/// Include: relative paths under ~/.ssh (even with -F), sorted globs, no
/// error for no match, absolute paths, the includer's block kept after the
/// file, and an Include inside an inactive block applying nothing.
#[test]
fn include_globs_and_scope() {
    let c = Corpus::new(&[
        (
            "home/.ssh/conf.d/20-b.conf",
            "Host *\n  User from-b\n  IdentityFile ~/b\n",
        ),
        (
            "home/.ssh/conf.d/10-a.conf",
            "Match host nothing\n  IdentityFile ~/a-match\n",
        ),
        ("home/.ssh/conf.d/.hidden.conf", "Port 9\n"),
        ("abs.conf", "Port 4242\n"),
        ("inactive.conf", "ServerAliveInterval 99\n"),
        (
            "config",
            "Host web*\n  Include conf.d/*.conf nomatch/*.conf\n  IdentityFile ~/after\nHost db\n  Include @DIR@/inactive.conf\nHost *\n  Include @DIR@/abs.conf\n",
        ),
    ]);
    let lines = c.same(&[], "web1");
    assert!(has(&lines, "user from-b") && has(&lines, "identityfile ~/after"));
    c.same(&[], "other");
}

/// Tokens: IdentityFile and ProxyCommand printed raw; ControlPath,
/// UserKnownHostsFile and IdentityAgent expanded (%C %h %p %r %u %d %n %k
/// %l %L %i, `~`, `${VAR}`).
#[test]
fn tokens_per_keyword() {
    let c = config(
        "Host box\n  HostName Box.Example\n  User bob\n  Port 2200\n  HostKeyAlias KeyName\n  IdentityFile %d/.ssh/%h_%r_%u\n  ControlPath ~/.ssh/cm-%C-%r@%h:%p-%n-%k-%L-%i-%%\n  UserKnownHostsFile ~/kh %d/kh_%h_%l ${PATH}/kh3\n  IdentityAgent ~/agent.%h\n  ProxyCommand ssh -W %h:%p 'jump host' # kept\n  ControlMaster auto\n  ControlPersist 10m\n",
    );
    c.same(&[], "box");
    let agent = config("IdentityAgent SSH_AUTH_SOCK\nControlPath none\nControlPersist 0\n");
    c.same(&[], "x");
    agent.same(&[], "x");
}

/// ProxyJump chains print as ssh rebuilds them; ProxyJump and ProxyCommand
/// share one slot (first wins); `ProxyJump none` still lets a later
/// ProxyCommand through.
#[test]
fn proxy_jump_and_command_slot() {
    let cases = [
        "ProxyJump alice@jump1:2201,ssh://bob@jump2:2202,jump3\n",
        "ProxyJump u@10.0.0.1:22\nProxyCommand never\n",
        "ProxyCommand nc %h %p\nProxyJump never\n",
        "Host x\n  ProxyJump none\nHost *\n  ProxyCommand nc %h %p\n  ProxyJump never\n",
        "ProxyCommand none\nProxyJump never\nProxyCommand never\n",
        "ProxyJump j1 # comment\n",
    ];
    for text in cases {
        config(text).same(&[], "x");
    }
}

/// Command-line precedence: -o/-l/-p/-J beat the files, and among
/// themselves the first typed wins.
#[test]
fn command_line_precedence() {
    let c =
        config("Host *\n  Port 5000\n  User fileuser\n  ProxyCommand nc %h %p\n  IdentityFile ~/file_key\n");
    c.same(&["-p", "3000", "-o", "Port=4000"], "x");
    c.same(&["-o", "Port 4000", "-p", "3000"], "x");
    c.same(&["-o", "User=x", "-l", "y"], "x");
    c.same(&["-l", "y", "-o", "User=x"], "x");
    c.same(&["-J", "a@b:2,c"], "x");
    c.same(&["-J", "none"], "x");
    c.same(&["-o", "ProxyJump=none"], "x");
    c.same(
        &["-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=7"],
        "x",
    );
    c.same(&["-i", "@DIR@/config"], "x");
}

/// Values print as ssh -G prints them: multistate names, times in seconds,
/// log levels, flags; `none` lists; ignored and IgnoreUnknown keywords.
#[test]
fn value_forms() {
    let c = config(
        "IgnoreUnknown foo*,Bar\nFooOption 1\nbar 2\nStrictHostKeyChecking off\nRequestTTY yes\nConnectTimeout 1m30s\nServerAliveInterval 1h\nServerAliveCountMax 0\nLogLevel debug1\nBatchMode yes\nHashKnownHosts yes\nIdentitiesOnly yes\nControlMaster autoask\nUserKnownHostsFile none\nCompression yes\nForwardAgent yes\nCiphers +aes128-cbc\nPORT=2022\n\tUser\t\"alice#x\"\nhostname = Upper.Example\n",
    );
    c.same(&[], "x");
    for strict in ["yes", "ask", "accept-new", "no"] {
        config(&format!(
            "StrictHostKeyChecking {strict}\nRequestTTY force\nLogLevel QUIET\n"
        ))
        .same(&[], "x");
    }
}

/// Bad files: ssh refuses each, and sesh refuses it naming the same file
/// and line.
#[test]
fn errors_name_file_and_line() {
    let cases = [
        "Host x\n  User a\n  NoSuchKeyword yes\n",
        "Host nevermatches\n  NoSuchKeyword yes\n",
        "NoSuchKeyword yes\nIgnoreUnknown NoSuchKeyword\n",
        "Port 0\n",
        "Port 99999\n",
        "StrictHostKeyChecking maybe\n",
        "Compression maybe\n",
        "ConnectTimeout 5x\n",
        "User a b\n",
        "User \"open\n",
        "Match nosuch x\n",
        "Match user a host b all\n",
        "Match host\n",
        "SendEnv A=B\n",
        "SetEnv NOEQUALS\n",
        "UserKnownHostsFile a none\n",
        "ProxyJump @host\n",
        "LogLevel LOUD\n",
        "User\n",
        "NoSuchKeyword x\nUser \"open\n",
        "Host nevermatches\n  Include @DIR@/missing-is-fine\n  User\n",
    ];
    for text in cases {
        let c = config(&format!("# comment\n{text}"));
        let message = c.both_refuse(&[], "x");
        assert!(message.contains("config line "), "{message}");
    }
}

/// Errors ssh reports without a line: unknown tokens at expansion, a
/// missing -F file, Include recursion past depth 16, Host on the command line.
#[test]
fn other_refusals() {
    config("ControlPath ~/%x\n").both_refuse(&[], "x");
    config("HostName %p.example\n").both_refuse(&[], "x");
    config("Include @DIR@/config\n").both_refuse(&[], "x");
    config("User a\n").both_refuse(&["-o", "Host=x"], "x");
    config("User a\n").both_refuse(&["-J", "a", "-J", "b"], "x");
    config("User a\n").both_refuse(&["-J", "-oProxyCommand=x"], "x");
    config("User a\n").both_refuse(&["-J", "j1,a;b"], "x");
    config("User a\n").both_refuse(&["-o", "ProxyCommand=nc %h %p", "-J", "j"], "x");
    let missing = Corpus::new(&[]);
    missing.both_refuse(&[], "x");
}

/// Resolving reads no file again: a corpus loaded once resolves many labels
/// with their own Match exec results, and ignored keywords are collected
/// once for `-v`.
#[test]
fn load_once_resolve_many() {
    let c = Corpus::new(&[
        ("flag-h7", ""),
        (
            "config",
            "Compression yes\nMatch exec \"test -f @DIR@/flag-%n\"\n  Port 7\n",
        ),
    ]);
    let mut sources = Sources::from_environment(Some(c.path("config"))).unwrap();
    sources.env_home = c.home();
    let config = SshConfig::load(&sources).unwrap();
    std::fs::remove_file(c.path("config")).unwrap();
    let ports: Vec<u16> = (0..20)
        .map(|i| {
            config
                .resolve(&format!("h{i}"), &CommandLine::default())
                .unwrap()
                .port
        })
        .collect();
    assert_eq!(ports.iter().filter(|&&p| p == 7).count(), 1);
    assert_eq!(ports[7], 7);
    assert!(
        config
            .notes()
            .iter()
            .any(|n| n.contains("ignoring option \"compression\""))
    );
}

/// CanonicalizeHostname (anything but `no`) also forces the second pass;
/// an address HostName keeps its case; Match exec sees %n %p %r so far.
#[test]
fn canonicalize_addresses_exec_tokens() {
    let c = Corpus::new(&[
        ("flag-lbl-2222-bob", ""),
        (
            "config",
            "Host lbl\n  HostName Real2\n  CanonicalizeHostname yes\nHost real2\n  User second\nHost v6\n  HostName FE80::1\nHost *\n  Port 2222\n  User bob\nMatch exec \"test -f @DIR@/flag-%n-%p-%r\"\n  IdentityFile ~/exec_hit\n",
        ),
    ]);
    c.same(&[], "lbl");
    c.same(&[], "v6");
}

/// Include with `~/` (from $HOME), nested includes keeping reading order,
/// and a Host line inside an included file not ending the includer's block.
#[test]
fn include_tilde_and_nesting() {
    let c = Corpus::new(&[
        ("home/.ssh/inner.conf", "Host nomatch\n  User never\n"),
        ("home/.ssh/outer.conf", "Include inner.conf\nPort 3001\n"),
        (
            "config",
            "Host web\n  Include ~/.ssh/outer.conf\n  User kept\n  Port 3002\n",
        ),
    ]);
    let lines = c.same(&[], "web");
    assert!(has(&lines, "user kept") && has(&lines, "port 3001"));
    c.same(&[], "other");
}

/// sesh's own flags, mapped by `CommandLine`'s helpers, give what the
/// matching `-o` options give ssh, and beat the file's values.
#[test]
fn sesh_flags_as_options() {
    let c = config(
        "Host *\n  UserKnownHostsFile ~/file_kh\n  StrictHostKeyChecking yes\n  ConnectTimeout 99\n  ServerAliveInterval 99\n  SetEnv FILE=1\n",
    );
    let ssh = c
        .ssh(
            &[
                "-o",
                "UserKnownHostsFile=\"/tmp/with space/kh\"",
                "-o",
                "StrictHostKeyChecking=accept-new",
                "-o",
                "ConnectTimeout=7",
                "-o",
                "ServerAliveInterval=15",
                "-o",
                "SetEnv=A=1 \"B=two words\" C=\"q\\\"\"",
            ],
            "x",
        )
        .unwrap();
    let mut cli = CommandLine::default();
    cli.known_hosts("/tmp/with space/kh")
        .accept_new()
        .connect_timeout(std::time::Duration::from_secs(7))
        .keepalive(std::time::Duration::from_secs(15))
        .set_env([("A", "1"), ("B", "two words"), ("C", "q\"")]);
    assert_eq!(c.sesh_with(&cli, "x").unwrap(), ssh);
    assert!(has(&ssh, "setenv C=q\""), "{ssh:?}");
}

/// The system's own /etc/ssh/ssh_config (Debian's has an Include of
/// ssh_config.d, SendEnv, HashKnownHosts and GSSAPI lines) parses and
/// resolves as ssh -G reads it.
#[test]
fn system_config_parses() {
    let Ok(text) = std::fs::read_to_string("/etc/ssh/ssh_config") else {
        return; // no system file on this machine: nothing to compare
    };
    let c = config(&text);
    c.same(&[], "x");
}

/// Less common forms: `Host=`, CRLF line ends, `Port ssh`, zero times,
/// `IdentityFile none`, `~user` paths, SendEnv removal then re-adding,
/// `-o IgnoreUnknown` before an unknown `-o`, `%C` in Match exec.
#[test]
fn less_common_forms() {
    let c = Corpus::new(&[
        ("flag", ""),
        (
            "config",
            "Host=a b\r\n  Port ssh\r\n  ConnectTimeout 0\r\n  IdentityFile none\r\nHost *\r\n  UserKnownHostsFile ~root/kh\r\n  SendEnv A* B\r\n  SendEnv -A* AB\r\n  ControlPersist yes\r\nMatch exec \"test -n %C && test -f @DIR@/flag\"\r\n  User hashed\r\n",
        ),
    ]);
    c.same(&[], "a");
    c.same(&[], "c");
    c.same(&["-o", "IgnoreUnknown=foo*", "-o", "foobar=1"], "c");
    c.same(&["-o", "ControlPersist=no", "-o", "ServerAliveCountMax=1"], "c");
}

/// Line templates for random configurations; `{}` takes a pattern.
const TEMPLATES: &[&str] = &[
    "Host {}",
    "Host {} !web1",
    "Match host {}",
    "Match originalhost {}",
    "Match !host {} user bob",
    "Match final host {}",
    "Match canonical",
    "HostName %h.example.com",
    "HostName Real1",
    "User bob",
    "User alice",
    "Port 2201",
    "Port 2202",
    "IdentityFile ~/.ssh/{}",
    "CertificateFile ~/c",
    "SendEnv LANG LC_*",
    "SendEnv -LC_*",
    "SetEnv A=1 B=2",
    "SetEnv C=3",
    "ProxyJump alice@j1:2200,j2",
    "ProxyJump none",
    "ProxyCommand nc %h %p",
    "ProxyCommand none",
    "UserKnownHostsFile ~/kh %d/kh_%h",
    "ControlPath ~/.ssh/cm-%C-%h",
    "StrictHostKeyChecking accept-new",
    "ConnectTimeout 10",
    "CanonicalizeHostname yes",
    "HostKeyAlias Alias1",
    "ServerAliveInterval 1m",
    "Include inc/*.conf",
    "Match exec \"test %h = web1\"",
    "IgnoreUnknown Foo*",
    "FooBar yes",
    "BatchMode yes",
    "RequestTTY force",
];
/// Command lines for random configurations.
const ARG_SETS: &[&[&str]] = &[
    &[],
    &["-p", "3000"],
    &["-l", "carol", "-o", "User=dave"],
    &["-o", "ProxyCommand=none"],
    &["-J", "hop1"],
    &["-o", "ProxyJump=none"],
    &["-o", "HostName=%h.cli"],
    &["-o", "IdentityFile=~/cli_key", "-o", "SendEnv=CLI"],
];
const PATTERNS: &[&str] = &[
    "*",
    "web*",
    "web1",
    "WEB1",
    "*.example.com",
    "real1",
    "db?",
    "w*,!web2",
];
const LABELS: &[&str] = &["web1", "web2", "WEB1", "db1", "real1"];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Random configurations built from the templates resolve to what
    /// ssh -G prints, for every label.
    #[test]
    fn random_configurations(
        lines in proptest::collection::vec((0..TEMPLATES.len(), 0..PATTERNS.len()), 1..14),
        args in 0..ARG_SETS.len(),
    ) {
        let text: String = lines
            .iter()
            .map(|&(t, p)| format!("{}\n", TEMPLATES[t].replace("{}", PATTERNS[p])))
            .collect();
        let c = Corpus::new(&[
            ("config", &text),
            ("home/.ssh/inc/a.conf", "Host web*\n  Port 2301\nMatch host real1\n  User included\n"),
        ]);
        let args = ARG_SETS[args];
        for label in LABELS {
            let ssh = c.ssh(args, label);
            let sesh = c.sesh(args, label);
            match (ssh, sesh) {
                (Ok(ssh), Ok(sesh)) => proptest::prop_assert_eq!(sesh, ssh, "config:\n{}args {:?} label {}", text, args, label),
                (Err(_), Err(_)) => {}
                (ssh, sesh) => proptest::prop_assert!(false, "config:\n{}args {:?} label {}: ssh {:?} sesh {:?}", text, args, label, ssh, sesh),
            }
        }
    }
}

/// What ssh -G prints raw is expanded at use: a real `ssh -v` run (with a
/// ProxyCommand that fails at once, so nothing connects) logs the expanded
/// ProxyCommand and identity files, and the library's expansions match.
#[test]
fn use_time_expansions_match_ssh_v() {
    let c = config(
        "Host box\n  HostName Real.Example\n  User bob\n  Port 2200\n  HostKeyAlias KA\n  ProxyCommand false %h %p %r %n %k %% # c\n  IdentityFile ~/id_%h_%r\n  IdentityFile %d/.ssh/%u-%i-%L\n",
    );
    let out = Command::new("ssh")
        .env("HOME", c.home())
        .args(["-v", "-o", "BatchMode=yes", "-F"])
        .arg(c.path("config"))
        .args(["box", "true"])
        .output()
        .expect("run ssh");
    let log = String::from_utf8_lossy(&out.stderr);
    let ssh_proxy = log
        .lines()
        .find_map(|l| l.strip_prefix("debug1: Executing proxy command: exec "))
        .expect("ssh logged its proxy command");
    let ssh_identities: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("debug1: identity file "))
        .filter_map(|l| l.strip_suffix(" type -1"))
        .filter(|l| !l.ends_with("-cert"))
        .collect();
    let mut sources = Sources::from_environment(Some(c.path("config"))).unwrap();
    sources.env_home = c.home();
    let options = SshConfig::load(&sources)
        .unwrap()
        .resolve("box", &CommandLine::default())
        .unwrap();
    assert_eq!(options.proxy_command().unwrap().as_deref(), Some(ssh_proxy));
    let ours: Vec<String> = options
        .identity_paths()
        .unwrap()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(ours, ssh_identities);
}
