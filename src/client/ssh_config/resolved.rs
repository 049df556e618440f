//! The resolved options of one label: ssh's defaults filled in
//! (`fill_default_options`) and the keywords ssh expands at this point
//! expanded (ControlPath, IdentityAgent, UserKnownHostsFile: `~`, tokens,
//! `${VAR}`). IdentityFile, CertificateFile and ProxyCommand stay as written,
//! as `ssh -G` prints them; methods expand them for use.

use std::path::PathBuf;

use super::ConfigError;
use super::jump::JumpSpec;
use super::matching::Local;
use super::options::{Partial, PathEntry};
use super::tokens::{self, TokenValues};
use super::values::{ControlMaster, ControlPersist, LogLevel, RequestTty, StrictHostKeyChecking};

/// How the connection reaches the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// A direct TCP connection.
    Direct,
    /// ProxyCommand, as written (see [`Options::proxy_command`]).
    Command(String),
    /// ProxyJump hops (see [`JumpSpec::hops`]).
    Jump(JumpSpec),
}

/// Every honoured option for one label, resolved.
#[derive(Debug, Clone)]
pub struct Options {
    /// The host as typed.
    pub label: String,
    /// HostName (`%h` expanded, lowercased unless an address), else the label.
    pub hostname: String,
    pub user: String,
    pub port: u16,
    /// As written; ssh's default list when none was configured.
    pub identity_files: Vec<PathEntry>,
    pub certificate_files: Vec<PathEntry>,
    pub identities_only: bool,
    /// Expanded; `none` and `SSH_AUTH_SOCK` as written.
    pub identity_agent: Option<String>,
    /// Expanded; empty for `none`. New keys go to the first.
    pub user_known_hosts_files: Vec<String>,
    /// Empty for `none`.
    pub global_known_hosts_files: Vec<String>,
    pub strict_host_key_checking: StrictHostKeyChecking,
    pub hash_known_hosts: bool,
    /// Seconds; `None` for no limit.
    pub connect_timeout: Option<u32>,
    /// Seconds; 0 is off.
    pub server_alive_interval: u32,
    pub server_alive_count_max: u32,
    /// Name patterns of local variables to send.
    pub send_env: Vec<String>,
    /// `NAME=VALUE` entries.
    pub set_env: Vec<String>,
    pub request_tty: RequestTty,
    pub proxy: Proxy,
    /// Lowercased.
    pub host_key_alias: Option<String>,
    pub batch_mode: bool,
    pub log_level: LogLevel,
    pub control_master: ControlMaster,
    /// Expanded; `None` when unset or `none`.
    pub control_path: Option<String>,
    pub control_persist: ControlPersist,
    pub ignore_unknown: Option<String>,
    /// `-v` lines from the command line (ignored keywords, dropped `-i`).
    pub notes: Vec<String>,
    /// Token values for the expansions done at use time.
    pub(super) tokens: TokenValues,
}

/// ssh 9.2's default identities, in its order.
const DEFAULT_IDENTITIES: &[&str] = &[
    "id_rsa",
    "id_ecdsa",
    "id_ecdsa_sk",
    "id_ed25519",
    "id_ed25519_sk",
    "id_xmss",
    "id_dsa",
];

/// Fills in defaults and expands, after the last pass.
pub(super) fn finish(
    so_far: Partial,
    label: &str,
    host: String,
    local: &Local,
    notes: Vec<String>,
) -> Result<Options, ConfigError> {
    let user = so_far.user.clone().unwrap_or_else(|| local.user.clone());
    let port = so_far.port.unwrap_or(22);
    let host_key_alias = so_far.host_key_alias.as_ref().map(|a| a.to_ascii_lowercase());
    let tokens = token_values(label, &host, port, &user, host_key_alias.as_deref(), local);
    let expand = |keyword: &str, value: &str| expand_path(keyword, value, &tokens);
    let user_known = so_far
        .user_known_hosts
        .clone()
        .unwrap_or_else(|| vec!["~/.ssh/known_hosts".into(), "~/.ssh/known_hosts2".into()]);
    let user_known_hosts_files = match user_known.as_slice() {
        [none] if none.eq_ignore_ascii_case("none") => Vec::new(),
        files => files
            .iter()
            .map(|f| expand("UserKnownHostsFile", f))
            .collect::<Result<_, _>>()?,
    };
    let global_known_hosts_files = match so_far.global_known_hosts.as_deref() {
        None => vec![
            "/etc/ssh/ssh_known_hosts".into(),
            "/etc/ssh/ssh_known_hosts2".into(),
        ],
        Some([none]) if none.eq_ignore_ascii_case("none") => Vec::new(),
        Some(files) => files.to_vec(),
    };
    let control_path = match so_far.control_path.as_deref() {
        None | Some("none") | Some("") => None,
        Some(path) => Some(expand("ControlPath", path)?),
    };
    let identity_agent = so_far
        .identity_agent
        .as_deref()
        .map(|a| expand("IdentityAgent", a))
        .transpose()?;
    Ok(Options {
        label: label.to_string(),
        hostname: host,
        user,
        port,
        identity_files: identity_files(&so_far),
        proxy: proxy(&so_far),
        certificate_files: so_far.certificate_files,
        identities_only: so_far.identities_only.unwrap_or(false),
        identity_agent,
        user_known_hosts_files,
        global_known_hosts_files,
        strict_host_key_checking: so_far
            .strict_host_key_checking
            .unwrap_or(StrictHostKeyChecking::Ask),
        hash_known_hosts: so_far.hash_known_hosts.unwrap_or(false),
        connect_timeout: so_far.connect_timeout,
        // Debian's patch: with BatchMode the default interval is 300 s. The
        // installed ssh does it, and -G parity follows the installed ssh.
        server_alive_interval: so_far
            .server_alive_interval
            .unwrap_or(if so_far.batch_mode == Some(true) { 300 } else { 0 }),
        server_alive_count_max: so_far.server_alive_count_max.unwrap_or(3),
        send_env: so_far.send_env,
        set_env: so_far.set_env,
        request_tty: so_far.request_tty.unwrap_or(RequestTty::Auto),
        host_key_alias,
        batch_mode: so_far.batch_mode.unwrap_or(false),
        log_level: so_far.log_level.unwrap_or(LogLevel::Info),
        control_master: so_far.control_master.unwrap_or(ControlMaster::No),
        control_path,
        control_persist: so_far.control_persist.unwrap_or(ControlPersist::No),
        ignore_unknown: so_far.ignore_unknown,
        notes,
        tokens,
    })
}

/// The token values of the final options.
fn token_values(
    label: &str,
    host: &str,
    port: u16,
    user: &str,
    alias: Option<&str>,
    local: &Local,
) -> TokenValues {
    let port = port.to_string();
    TokenValues {
        hash: tokens::connection_hash(&local.hostname, host, &port, user),
        short_local_host: local.hostname.split('.').next().unwrap_or("").to_string(),
        uid: local.uid.to_string(),
        key_alias: alias.unwrap_or(label).to_string(),
        local_host: local.hostname.clone(),
        original_host: label.to_string(),
        port,
        home: local.home.clone(),
        host: host.to_string(),
        remote_user: user.to_string(),
        local_user: local.user.clone(),
    }
}

/// `~` (account home), then `%` tokens and `${VAR}`, as ssh expands paths.
fn expand_path(keyword: &str, value: &str, values: &TokenValues) -> Result<String, ConfigError> {
    let tilded =
        tokens::tilde(value, &values.home).map_err(|e| ConfigError::plain(format!("{keyword}: {e}")))?;
    tokens::expand(&tilded, tokens::DEFAULT_TOKENS, values, true)
        .map_err(|e| ConfigError::plain(format!("{keyword} {value:?}: {e}")))
}

/// The configured identities, else ssh's default list.
fn identity_files(so_far: &Partial) -> Vec<PathEntry> {
    if !so_far.identity_files.is_empty() {
        return so_far.identity_files.clone();
    }
    DEFAULT_IDENTITIES
        .iter()
        .map(|name| PathEntry {
            path: format!("~/.ssh/{name}"),
            user_provided: false,
        })
        .collect()
}

/// The shared ProxyCommand/ProxyJump slot; `none` in either means direct.
fn proxy(so_far: &Partial) -> Proxy {
    match (&so_far.jump, so_far.proxy_command.as_deref()) {
        (Some(spec @ JumpSpec::Hops { .. }), _) => Proxy::Jump(spec.clone()),
        (_, None | Some("none") | Some("")) => Proxy::Direct,
        (_, Some(command)) => Proxy::Command(command.to_string()),
    }
}

impl Options {
    /// The IdentityFile paths to try, expanded (`~`, tokens, `${VAR}`).
    pub fn identity_paths(&self) -> Result<Vec<PathBuf>, ConfigError> {
        self.expand_paths("IdentityFile", &self.identity_files)
    }

    /// The CertificateFile paths, expanded.
    pub fn certificate_paths(&self) -> Result<Vec<PathBuf>, ConfigError> {
        self.expand_paths("CertificateFile", &self.certificate_files)
    }

    fn expand_paths(&self, keyword: &str, entries: &[PathEntry]) -> Result<Vec<PathBuf>, ConfigError> {
        entries
            .iter()
            .map(|e| expand_path(keyword, &e.path, &self.tokens).map(PathBuf::from))
            .collect()
    }

    /// The ProxyCommand to run (`%h %n %p %k %r %%` expanded), if any.
    pub fn proxy_command(&self) -> Result<Option<String>, ConfigError> {
        let Proxy::Command(command) = &self.proxy else {
            return Ok(None);
        };
        tokens::expand(command, tokens::PROXY_TOKENS, &self.tokens, false)
            .map(Some)
            .map_err(|m| ConfigError::plain(format!("ProxyCommand {command:?}: {m}")))
    }
}
