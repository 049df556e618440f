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

mod route;
#[cfg(test)]
mod tests;
mod trust;

use super::destination::{CONNECT_TIMEOUT, Destination, KEEPALIVE, Route};
use super::ssh_config::{CommandLine, CommandLineArg, Options, Sources, SshConfig};
use super::target::Target;
use crate::cli::AccessArgs;

/// The values sesh's flags give after resolution, exactly as typed (the
/// configuration language has whole seconds only).
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub connect_timeout: Option<Duration>,
    pub keepalive: Option<Duration>,
    /// `--window-max`; `None`: the default cap.
    pub window_max: Option<u32>,
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
                // A dropped `-i` is worth a line without -v, as in ssh.
                match note.strip_prefix("warning: ") {
                    Some(warning) => crate::say!("sesh: warning: {warning}"),
                    None => tracing::debug!("{note}"),
                }
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
        self.resolve(text).map(|(_, destination)| destination)
    }

    /// The destination `text` names and the options it came from (for
    /// what is not about reaching the host: env, pty). One lookup, so a
    /// `Match exec` runs once.
    pub fn resolve(&self, text: &str) -> Result<(Options, Destination), String> {
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
        Ok((options, destination))
    }

    /// A destination from resolved options: identities, host key trust,
    /// timers and the route. ControlMaster, ControlPath and ControlPersist
    /// are what to run rather than where: `mux::Reuse::from_config` reads
    /// them for each session (client/config.rs).
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
            agent: trust::agent(options),
            host_keys: trust::policy(options, pin),
            connect_timeout: options
                .connect_timeout
                .map_or(CONNECT_TIMEOUT, |s| Duration::from_secs(s.into())),
            keepalive,
            keepalive_max: options.server_alive_count_max as usize,
            window_max: self.typed.window_max.unwrap_or(crate::transport::WINDOW_MAX),
            hops: None,
        })
    }
}
