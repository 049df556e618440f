//! Every target through ssh_config: the files are read once per run
//! ([`Resolver::new`]), then each target (`sesh exec TARGET`, each host of
//! `-H`/`--hosts`, `sesh test TARGET`) is looked up on its own and turned
//! into a [`Destination`].
//!
//! The command line enters as ssh's: sesh's flags that map onto keywords
//! (`-l`, `-p`, `-J`, `-i`, `--known-hosts`, `--accept-new`,
//! `--connect-timeout`, `--keepalive`, `--env`, `-t`) only when the user
//! typed them, ahead of `-o` (a typed flag wins over `-o`, which wins over
//! the files), and the target's `user@`/`:port` last, as ssh applies
//! `user@host` after its options. Defaults of sesh's own (30 s connect
//! timeout, 15 s keepalive, the ed25519/ecdsa/rsa identities) apply only
//! when nothing set the keyword.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::auth::{AgentSocket, AgentUse};
use super::destination::{CONNECT_TIMEOUT, Destination, KEEPALIVE, Route};
use super::host_key::{KnownHostsFiles, Policy, Unknown};
use super::ssh_config::values::StrictHostKeyChecking;
use super::ssh_config::{CommandLine, CommandLineArg, Hop, Options, Proxy, Sources, SshConfig};
use super::target::Target;
use crate::cli::AccessArgs;

/// The values sesh's flags give after resolution, exactly as typed (the
/// configuration language has whole seconds only).
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub connect_timeout: Option<Duration>,
    pub keepalive: Option<Duration>,
}

/// The configuration of one run and the command line's share of it.
pub struct Resolver {
    config: SshConfig,
    /// The command line's values for targets (hops get none of them).
    cli: CommandLine,
    typed: Typed,
    /// `--host-key`: the target's key is pinned, known_hosts untouched.
    pin: Option<String>,
    home: PathBuf,
    /// The command line's `-v` notes are shown for the first target only.
    noted: AtomicBool,
}

impl Resolver {
    /// Reads the configuration files of `access` (`-F`, else the default
    /// files) and records the command line; `more` adds the flags only
    /// `sesh exec` has, before `-o`. `Err` is the one line to show
    /// (`FILE line N: message` for a bad file).
    pub fn new(
        access: &AccessArgs,
        typed: Typed,
        more: impl FnOnce(&mut CommandLine),
    ) -> Result<Self, String> {
        let home = crate::home_dir().map_err(|e| format!("{e}"))?;
        let mut sources = Sources::from_environment(access.config_file.clone()).map_err(|e| e.to_string())?;
        // `~` and ~/.ssh/config follow $HOME, as every other file sesh
        // reads does (ssh takes the account database's home instead).
        sources.local.home = home.to_string_lossy().into_owned();
        sources.env_home = home.clone();
        let config = SshConfig::load(&sources).map_err(|e| e.to_string())?;
        for note in config.notes() {
            tracing::debug!("{note}");
        }
        let mut cli = CommandLine::default();
        if let Some(user) = &access.login {
            cli.push(CommandLineArg::User(user.clone()));
        }
        if let Some(port) = &access.port {
            cli.push(CommandLineArg::Port(port.clone()));
        }
        if let Some(jump) = &access.jump {
            cli.push(CommandLineArg::Jump(jump.clone()));
        }
        for identity in &access.identity {
            cli.push(CommandLineArg::Identity(identity.to_string_lossy().into_owned()));
        }
        if let Some(known_hosts) = &access.known_hosts {
            cli.known_hosts(&known_hosts.to_string_lossy());
        }
        if access.accept_new {
            cli.accept_new();
        }
        if let Some(timeout) = typed.connect_timeout {
            cli.connect_timeout(timeout);
        }
        if let Some(interval) = typed.keepalive {
            cli.keepalive(interval);
        }
        more(&mut cli);
        for option in &access.options {
            cli.push(CommandLineArg::Option(option.clone()));
        }
        Ok(Self {
            config,
            cli,
            typed,
            pin: access.host_key.clone(),
            home,
            noted: AtomicBool::new(false),
        })
    }

    /// The resolved options for `text` (`[user@]host[:port]` or
    /// `ssh://...`): the host is the label looked up, the user and port
    /// given enter as `-l`/`-p` after every flag.
    pub fn options(&self, text: &str) -> Result<Options, String> {
        let parts = Target::parts(text)?;
        let mut cli = self.cli.clone();
        if let Some(user) = parts.user {
            cli.push(CommandLineArg::User(user));
        }
        if let Some(port) = parts.port {
            cli.push(CommandLineArg::Port(port.to_string()));
        }
        let options = self
            .config
            .resolve(&parts.host, &cli)
            .map_err(|e| e.to_string())?;
        if !self.noted.swap(true, Ordering::Relaxed) {
            for note in &options.notes {
                tracing::debug!("{note}");
            }
        }
        Ok(options)
    }

    /// `sesh exec -G TARGET`: ssh -G's lines for the honoured keywords.
    pub fn show(&self, text: &str) -> Result<Vec<String>, String> {
        Ok(self.options(text)?.dump_lines())
    }

    /// The destination `text` names.
    pub fn destination(&self, text: &str) -> Result<Destination, String> {
        let options = self.options(text)?;
        let mut seen = vec![(options.user.clone(), options.hostname.clone(), options.port)];
        let route = self.route(&options, &mut seen)?;
        let mut destination = self.build(text, &options, self.pin.clone(), route)?;
        if let Some(timeout) = self.typed.connect_timeout {
            destination.connect_timeout = timeout;
        }
        if let Some(interval) = self.typed.keepalive {
            destination.keepalive = (!interval.is_zero()).then_some(interval);
        }
        Ok(destination)
    }

    /// A destination from resolved options: identities, host key trust,
    /// timers and the route.
    fn build(
        &self,
        label: &str,
        options: &Options,
        pin: Option<String>,
        route: Route,
    ) -> Result<Destination, String> {
        let target = Target {
            user: options.user.clone(),
            host: options.hostname.clone(),
            port: options.port,
        };
        let (identities, explicit_identities) = if options.identity_files_set {
            (options.identity_paths().map_err(|e| e.to_string())?, true)
        } else {
            (super::auth::default_identities(&self.home), false)
        };
        let keepalive = match (options.server_alive_interval_set, options.server_alive_interval) {
            (false, _) => Some(KEEPALIVE),
            (true, 0) => None,
            (true, seconds) => Some(Duration::from_secs(seconds.into())),
        };
        Ok(Destination {
            label: label.to_string(),
            target,
            route,
            identities,
            certificates: options.certificate_paths().map_err(|e| e.to_string())?,
            explicit_identities,
            agent: agent(options),
            host_keys: policy(options, pin),
            connect_timeout: options
                .connect_timeout
                .map_or(CONNECT_TIMEOUT, |s| Duration::from_secs(s.into())),
            keepalive,
            keepalive_max: options.server_alive_count_max as usize,
            hops: None,
        })
    }
}

/// IdentityAgent (`none`, `SSH_AUTH_SOCK`, a legacy `$VAR`, or a socket
/// path already expanded) and IdentitiesOnly.
fn agent(options: &Options) -> AgentUse {
    let socket = match options.identity_agent.as_deref() {
        None | Some("SSH_AUTH_SOCK") => AgentSocket::Env,
        Some(none) if none.eq_ignore_ascii_case("none") => AgentSocket::Off,
        Some(var) if var.starts_with('$') => match std::env::var_os(&var[1..]) {
            Some(path) => AgentSocket::Path(path.into()),
            None => AgentSocket::Off,
        },
        Some(path) => AgentSocket::Path(path.into()),
    };
    AgentUse {
        socket,
        identities_only: options.identities_only,
    }
}

/// How the host key is trusted: a pin, else the known_hosts files under
/// StrictHostKeyChecking (ask is yes: sesh never prompts).
fn policy(options: &Options, pin: Option<String>) -> Policy {
    if let Some(pin) = pin {
        return Policy::Pin(pin);
    }
    let unknown = match options.strict_host_key_checking {
        StrictHostKeyChecking::AcceptNew => Unknown::Learn,
        StrictHostKeyChecking::Off => Unknown::Accept,
        StrictHostKeyChecking::Yes | StrictHostKeyChecking::Ask => Unknown::Refuse,
    };
    Policy::Files(KnownHostsFiles {
        user: options.user_known_hosts_files.iter().map(PathBuf::from).collect(),
        global: options
            .global_known_hosts_files
            .iter()
            .map(PathBuf::from)
            .collect(),
        unknown,
        hash: options.hash_known_hosts,
        alias: options.host_key_alias.clone(),
    })
}

/// Most hops one route may pass, counting those a hop's own ProxyJump adds.
const MAX_HOPS: usize = 16;

impl Resolver {
    /// The route ProxyJump/ProxyCommand give `options`. `seen` holds the
    /// logins (user, host, port) already on the chain, for loops.
    fn route(&self, options: &Options, seen: &mut Vec<(String, String, u16)>) -> Result<Route, String> {
        match &options.proxy {
            Proxy::Direct => Ok(Route::Tcp),
            Proxy::Command(_) => match options.proxy_command().map_err(|e| e.to_string())? {
                Some(command) if command == "-" => Err(format!(
                    "{}: ProxyCommand - (ssh's own stdio) is not supported",
                    options.label
                )),
                Some(command) => Ok(Route::Command(command)),
                None => Ok(Route::Tcp),
            },
            Proxy::Jump(spec) => {
                let mut route: Option<Route> = None;
                for hop in spec.hops() {
                    let hop = self.hop(&hop, route.take(), seen)?;
                    route = Some(Route::Through(Box::new(hop)));
                }
                Ok(route.unwrap_or(Route::Tcp))
            }
        }
    }

    /// One jump host as its own destination: its own lookup with only the
    /// spec's user and port (as ssh runs `ssh -l U -p P -W ... HOP`: no
    /// `-o`, `-i` or other flag of the command line; `-F` applies). The
    /// first hop's route is its own configuration's; a later one goes
    /// through the hop before it (`previous`).
    fn hop(
        &self,
        hop: &Hop,
        previous: Option<Route>,
        seen: &mut Vec<(String, String, u16)>,
    ) -> Result<Destination, String> {
        let mut cli = CommandLine::default();
        if let Some(user) = &hop.user {
            cli.push(CommandLineArg::User(user.clone()));
        }
        if let Some(port) = hop.port {
            cli.push(CommandLineArg::Port(port.to_string()));
        }
        let options = self
            .config
            .resolve(&hop.host, &cli)
            .map_err(|e| format!("jump host {}: {e}", hop.host))?;
        let login = (options.user.clone(), options.hostname.clone(), options.port);
        if seen.contains(&login) {
            return Err(format!("jump host loop via {}", hop.host));
        }
        if seen.len() > MAX_HOPS {
            return Err(format!(
                "more than {MAX_HOPS} jump hosts on the way to {}",
                hop.host
            ));
        }
        seen.push(login);
        let route = match previous {
            Some(route) => route,
            None => self.route(&options, seen)?,
        };
        self.build(&hop_text(hop), &options, None, route)
    }
}

/// A hop as written in the spec (`[user@]host[:port]`): its label in
/// messages.
fn hop_text(hop: &Hop) -> String {
    let mut text = hop.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
    if hop.host.contains(':') {
        text.push_str(&format!("[{}]", hop.host));
    } else {
        text.push_str(&hop.host);
    }
    if let Some(port) = hop.port {
        text.push_str(&format!(":{port}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AccessArgs reading only `file`, with `options` as `-o`.
    fn access(file: &std::path::Path, options: &[&str]) -> AccessArgs {
        AccessArgs {
            identity: Vec::new(),
            known_hosts: None,
            accept_new: false,
            host_key: None,
            jump: None,
            config_file: Some(file.to_path_buf()),
            options: options.iter().map(|o| o.to_string()).collect(),
            login: None,
            port: None,
        }
    }

    fn load(text: &str, options: &[&str]) -> (tempfile::TempDir, Resolver) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, text).unwrap();
        let resolver = Resolver::new(&access(&file, options), Typed::default(), |_| {}).unwrap();
        (dir, resolver)
    }

    /// A hop has its own block and none of the command line's `-o`; the
    /// first hop's own ProxyJump applies; a later hop goes through the one
    /// before it whatever its block says.
    #[test]
    fn hops_resolve_on_their_own() {
        let config = "Host box\n  ProxyJump b1,b2\nHost b1\n  HostName 10.0.0.1\n  Port 2201\n  ProxyJump outer\n\
                      Host b2\n  User hopper\n  ProxyCommand nc %h %p\nHost *\n  User fallback\n";
        let (_dir, resolver) = load(config, &["Port=4000", "User=typed"]);
        let dest = resolver.destination("box").unwrap();
        assert_eq!((dest.target.user.as_str(), dest.target.port), ("typed", 4000));
        let Route::Through(b2) = &dest.route else {
            panic!("through b2")
        };
        assert_eq!(
            (b2.target.user.as_str(), b2.target.host.as_str(), b2.target.port),
            ("hopper", "b2", 22)
        );
        let Route::Through(b1) = &b2.route else {
            panic!("b2 through b1, not its ProxyCommand")
        };
        assert_eq!((b1.target.host.as_str(), b1.target.port), ("10.0.0.1", 2201));
        let Route::Through(outer) = &b1.route else {
            panic!("b1's own ProxyJump")
        };
        assert!(matches!(outer.route, Route::Tcp));
        assert_eq!(outer.target.user, "fallback");
    }

    /// ProxyCommand's tokens are expanded; `Host * / ProxyJump gate`
    /// without `!gate` is a loop on gate itself.
    #[test]
    fn proxy_command_and_loops() {
        let (_dir, resolver) = load("Host box\n  HostName h.example\n  ProxyCommand nc %h %p\n", &[]);
        let dest = resolver.destination("box:2200").unwrap();
        assert!(
            matches!(&dest.route, Route::Command(c) if c == "nc h.example 2200"),
            "{:?}",
            dest.route
        );
        let (_dir, resolver) = load("Host *\n  ProxyJump gate\n", &[]);
        let e = resolver.destination("box").unwrap_err();
        assert_eq!(e, "jump host loop via gate");
    }

    /// Without the keywords sesh's defaults apply; set, they win.
    #[test]
    fn defaults_only_when_unset() {
        let (_dir, resolver) = load(
            "Host set\n  ServerAliveInterval 0\n  ConnectTimeout 5\n  ServerAliveCountMax 7\n",
            &[],
        );
        let plain = resolver.destination("plain").unwrap();
        assert_eq!(
            (plain.keepalive, plain.connect_timeout, plain.keepalive_max),
            (Some(KEEPALIVE), CONNECT_TIMEOUT, 3)
        );
        assert!(!plain.explicit_identities);
        let set = resolver.destination("set").unwrap();
        assert_eq!(
            (set.keepalive, set.connect_timeout, set.keepalive_max),
            (None, Duration::from_secs(5), 7)
        );
    }
}
