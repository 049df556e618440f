//! The command line, and nothing else: clap definitions whose doc comments
//! are the user's help text. Logic never sees these types; each subcommand
//! turns its arguments into a validated config first.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueHint};

/// Run commands over SSH with the fidelity scripts need.
#[derive(Debug, Parser)]
#[command(name = "sesh", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an embedded SSH server that runs a local command for each session
    Serve(ServeArgs),
    /// Run a command on a remote host (or many); its exit status becomes sesh's
    #[command(
        override_usage = "sesh exec [OPTIONS] TARGET [--] COMMAND...\n       sesh exec [OPTIONS] -H HOSTS... [--hosts FILE] [--] COMMAND...",
        after_help = crate::exit::HELP
    )]
    Exec(ExecArgs),
    /// Check an SSH server's session semantics (no TARGET: check sesh itself)
    #[command(
        after_help = "Exit codes:\n  0    every check passed (or differs by a known policy)\n  1    a check failed\n  255  could not connect"
    )]
    Test(TestArgs),
    /// A connection's background mux master (started by `sesh exec --reuse`)
    #[command(hide = true, name = "__mux-master")]
    MuxMaster,
    /// Write shell completions and man pages under DIR (for packagers)
    #[command(hide = true)]
    Generate {
        /// Directory that gets `completions/` and `man/`
        #[arg(value_hint = ValueHint::DirPath)]
        dir: PathBuf,
    },
}

/// How much sesh tells on stderr.
#[derive(Debug, Clone, Copy, Args)]
pub struct Verbosity {
    /// More detail on stderr (repeat for more)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// `sesh serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port); repeatable, IPv4
    /// and IPv6 alike
    #[arg(long, default_value = "127.0.0.1:2222", value_name = "ADDR")]
    pub listen: Vec<SocketAddr>,

    /// Host key (ed25519, OpenSSH format); created on first start when missing
    /// [default: $XDG_STATE_HOME/sesh/ssh_host_ed25519_key]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub host_key: Option<PathBuf>,

    /// Use a new in-memory host key that is never written (for tests)
    #[arg(long, conflicts_with = "host_key")]
    pub ephemeral_host_key: bool,

    /// Public keys allowed to log in, OpenSSH format [default: ~/.ssh/authorized_keys]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub authorized_keys: Option<PathBuf>,

    /// CA public keys (one per line) whose user certificates may log in, like
    /// sshd's TrustedUserCAKeys: the account must be among a certificate's
    /// principals
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub trusted_user_ca_keys: Option<PathBuf>,

    /// Host certificate (`ssh-keygen -s CA -h`) for the host key, presented
    /// to clients that trust its CA with `@cert-authority` in known_hosts
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath, requires = "host_key")]
    pub host_certificate: Option<PathBuf>,

    /// Environment variable names clients may set (`*` and `?` wildcards);
    /// repeatable [default: LANG LC_*]
    #[arg(long, value_name = "PATTERN")]
    pub accept_env: Vec<String>,

    /// Skip the safety checks on the host key, authorized keys and trusted CA keys files
    /// (like sshd's `StrictModes no`). By default sesh refuses to start, and
    /// refuses logins, when such a file, a directory above it or a symlink
    /// on its path is owned by another user (not root), the file or a
    /// directory (unless sticky, like /tmp) is writable by group or others,
    /// or the host key is readable by group or others
    #[arg(long)]
    pub no_strict_modes: bool,

    /// Shell that runs commands, instead of the account's login shell
    /// (e.g. /bin/sh to skip a heavy ~/.bashrc)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::ExecutablePath)]
    pub shell: Option<PathBuf>,

    /// How SFTP (and so `scp`) is served: `internal` (built in, needs no
    /// OpenSSH), `off`, or a command such as `/usr/lib/openssh/sftp-server`
    #[arg(long, value_name = "internal|off|COMMAND", default_value = "internal", value_parser = parse_sftp)]
    pub sftp: SftpServer,

    /// A subsystem and the command that serves it, e.g. `sftp=/usr/lib/openssh/sftp-server`;
    /// `internal-sftp` is the builtin. Wins over `--sftp`
    #[arg(long, value_name = "NAME=COMMAND", value_parser = parse_subsystem)]
    pub subsystem: Vec<(String, String)>,

    /// Most connections open at once; more are refused
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Most session channels open at once on one connection
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: u32,

    /// Most authentication attempts on one connection
    #[arg(long, default_value_t = 6, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_auth_tries: u32,

    /// Time a connection has to authenticate before it is dropped
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub login_grace_time: Duration,

    /// After a hang-up (client gone, server stopping), time a command has
    /// between SIGHUP and SIGKILL
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub hangup_grace: Duration,

    /// Interval of keepalive probes to clients (0 turns them off); three
    /// unanswered probes drop the connection
    #[arg(long, default_value = "15s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub keepalive: Duration,

    /// Largest receive window (client input in flight) a channel may grow
    /// to while the path's round trip keeps it full; 2M or less keeps
    /// russh's fixed 2M window
    #[arg(long, default_value = "64M", value_name = "SIZE", value_parser = crate::size::window)]
    pub window_max: u32,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// `sesh exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// TARGET ([user@]host[:port] or ssh://...) then the remote command; with
    /// -H or --hosts, only the command. Its words are joined with spaces, as ssh does
    #[arg(
        value_name = "TARGET COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_hint = ValueHint::CommandWithArguments
    )]
    pub words: Vec<OsString>,

    /// Run on these hosts: a target, a comma-separated list, or a range
    /// such as web[01-20] or 10.0.0.[1-9]:2222; repeatable
    #[arg(short = 'H', long = "host", value_name = "HOSTS", value_hint = ValueHint::Hostname)]
    pub hosts: Vec<String>,

    /// Run on the hosts listed in FILE, one target per line (# comments)
    #[arg(long = "hosts", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub hosts_file: Option<PathBuf>,

    /// With many hosts: sessions at once
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub parallel: u32,

    /// With many hosts: print lines without the `host: ` prefix
    #[arg(long, conflicts_with_all = ["json", "output_dir"])]
    pub no_prefix: bool,

    /// With many hosts: newline-delimited JSON events on stdout (output lines,
    /// one record per host, a summary)
    #[arg(long, conflicts_with = "output_dir")]
    pub json: bool,

    /// With many hosts: write DIR/HOST/stdout, stderr and status.json instead of printing
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub output_dir: Option<PathBuf>,

    /// With many hosts: at the first failure, start no more hosts and hang up the running ones
    #[arg(long)]
    pub fail_fast: bool,

    #[command(flatten)]
    pub access: AccessArgs,

    /// Send no stdin: the remote command reads end of file at once
    #[arg(short = 'n')]
    pub no_stdin: bool,

    /// Run the command in a pty, with the local terminal in raw mode
    #[arg(short = 't')]
    pub tty: bool,

    /// Stop the remote command after this long: TERM, then KILL after --kill-after; exit 124
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub timeout: Option<Duration>,

    /// Time between TERM and KILL when --timeout expires
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub kill_after: Duration,

    /// Set a variable for the remote command (NAME alone sends the local value);
    /// repeatable; the server decides which it accepts
    #[arg(long, value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,

    /// Time allowed to connect and finish the SSH handshake (ConnectTimeout)
    /// [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub connect_timeout: Option<Duration>,

    /// Keepalive interval (ServerAliveInterval); ServerAliveCountMax (3)
    /// unanswered probes end the session (0 turns them off) [default: 15s]
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub keepalive: Option<Duration>,

    /// Largest receive window (remote output in flight) a channel may grow
    /// to while the path's round trip keeps it full; 2M or less keeps
    /// russh's fixed 2M window
    #[arg(long, default_value = "64M", value_name = "SIZE", value_parser = crate::size::window)]
    pub window_max: u32,

    /// Print the effective configuration for TARGET as `ssh -G` does (the
    /// keywords sesh honours) and exit
    #[arg(short = 'G')]
    pub show_config: bool,

    /// Reuse one connection per host across calls: start a background master
    /// when none runs, and keep it this long after its last session [default: 60s]
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true,
          default_missing_value = "60s", value_parser = crate::duration::parse)]
    pub reuse: Option<Duration>,

    /// Control the TARGET's mux master, as ssh -O: check, stop (finish the
    /// running sessions, take no new ones), exit (end them now); exit 0, or 255
    /// when no master answers
    #[arg(short = 'O', value_name = "CMD", value_enum)]
    pub control: Option<crate::client::mux::Control>,

    /// Write how the session ended as JSON to PATH (tells a remote `exit 143` from SIGTERM)
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub status_json: Option<PathBuf>,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// `sesh test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Server to check: [user@]host[:port] or ssh://...; none starts an embedded sesh serve
    #[arg(value_name = "TARGET", value_hint = ValueHint::Hostname)]
    pub target: Option<String>,

    #[command(flatten)]
    pub access: AccessArgs,

    /// Run only these checks (comma-separated names; see the table)
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Print one JSON report on stdout instead of the table
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// How to log in to a server and whether to trust it (shared by `exec`
/// and `test`).
#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    /// Identity file (private key; IdentityFile), offered after its certificate
    /// PATH-cert.pub when there is one; repeatable, added to the configured
    /// ones [default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa]
    #[arg(short, long = "identity", value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub identity: Vec<PathBuf>,

    /// Known hosts file (UserKnownHostsFile) [default: ~/.ssh/known_hosts ~/.ssh/known_hosts2]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub known_hosts: Option<PathBuf>,

    /// Trust and remember the host key of a host not yet in known_hosts
    /// (StrictHostKeyChecking accept-new)
    #[arg(long)]
    pub accept_new: bool,

    /// Trust exactly this host key fingerprint (SHA256:...), or a host certificate
    /// signed by the CA with this fingerprint; known_hosts is not read or written
    #[arg(long, value_name = "SHA256:...", conflicts_with = "accept_new", value_parser = parse_fingerprint)]
    pub host_key: Option<String>,

    /// Reach the target through these jump hosts, the first dialled first
    /// (`none`: directly; ProxyJump). Each hop is looked up in the ssh_config
    /// files on its own: -i, -o, -l, -p, --known-hosts and --host-key are for
    /// the target only
    #[arg(
        short = 'J',
        long = "jump",
        value_name = "[USER@]HOST[:PORT],...",
        value_hint = ValueHint::Hostname
    )]
    pub jump: Option<String>,

    /// ssh_config file to read instead of ~/.ssh/config and
    /// /etc/ssh/ssh_config (`none`: no file)
    #[arg(short = 'F', value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config_file: Option<PathBuf>,

    /// An ssh_config option (KEY=VALUE, as in the file), ahead of the files;
    /// repeatable, the first value wins
    #[arg(short = 'o', value_name = "KEY=VALUE")]
    pub options: Vec<String>,

    /// User to log in as (User); as in ssh, it wins over a user@ in the target
    #[arg(short = 'l', value_name = "USER")]
    pub login: Option<String>,

    /// Port to connect to (Port); as in ssh, it wins over a :PORT in the target
    #[arg(short = 'p', value_name = "PORT")]
    pub port: Option<String>,
}

fn parse_fingerprint(text: &str) -> Result<String, String> {
    match text.strip_prefix("SHA256:") {
        Some(rest)
            if !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/') =>
        {
            Ok(text.to_string())
        }
        _ => Err(format!(
            "invalid fingerprint {text:?}: expected SHA256:... as ssh-keygen -l prints it"
        )),
    }
}

/// What `--sftp` chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpServer {
    /// The builtin SFTP server.
    Internal,
    /// No `sftp` subsystem.
    Off,
    /// A command run by the login shell, as for `--subsystem`.
    Command(String),
}

fn parse_sftp(text: &str) -> Result<SftpServer, String> {
    match text {
        "internal" | "internal-sftp" => Ok(SftpServer::Internal),
        "off" => Ok(SftpServer::Off),
        _ if text.trim().is_empty() => Err("expected internal, off or a command".to_string()),
        _ => Ok(SftpServer::Command(text.to_string())),
    }
}

fn parse_subsystem(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, command)) if !name.is_empty() && !command.trim().is_empty() => {
            Ok((name.to_string(), command.to_string()))
        }
        _ => Err(format!("invalid subsystem {text:?}: expected NAME=COMMAND")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The clap definition is internally consistent (clap's own checks).
    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// A subsystem needs both a name and a command.
    #[test]
    fn subsystem_syntax() {
        assert_eq!(
            parse_subsystem("sftp=/bin/x -y").unwrap(),
            ("sftp".into(), "/bin/x -y".into())
        );
        for bad in ["sftp", "=cmd", "sftp=", "sftp= "] {
            assert!(parse_subsystem(bad).is_err(), "{bad}");
        }
    }

    /// `--sftp` takes internal, off or a command, and refuses an empty one.
    #[test]
    fn sftp_choice() {
        assert_eq!(parse_sftp("internal").unwrap(), SftpServer::Internal);
        assert_eq!(parse_sftp("off").unwrap(), SftpServer::Off);
        assert_eq!(
            parse_sftp("/usr/lib/openssh/sftp-server -l INFO").unwrap(),
            SftpServer::Command("/usr/lib/openssh/sftp-server -l INFO".into())
        );
        for bad in ["", " "] {
            assert!(parse_sftp(bad).is_err(), "{bad:?}");
        }
    }
}
