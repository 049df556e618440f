//! `sesh serve`'s validated configuration, built from its arguments: every
//! file it needs is checked here, so a bad one is a one-line startup error.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use russh::keys::{Certificate, PrivateKey};

use super::auth::{AuthorizedKeysFile, TrustedCaKeysFile};
use super::env::Account;
use crate::cli::{ServeArgs, SftpServer};
use crate::keys::host_key;

/// Limits, each set by a flag.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_sessions: usize,
    pub max_auth_tries: usize,
    pub login_grace_time: Duration,
    pub hangup_grace: Duration,
    /// `None`: no keepalive probes.
    pub keepalive: Option<Duration>,
    /// The cap of a channel's receive window (`--window-max`).
    pub window_max: u32,
}

/// What serves a subsystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subsystem {
    /// A command run by the login shell.
    Command(String),
    /// The builtin SFTP server (`internal-sftp` in sshd's spelling).
    Sftp,
}

/// Everything `sesh serve` runs with.
pub struct ServerConfig {
    /// Every address to listen on.
    pub listen: Vec<SocketAddr>,
    pub host_key: PrivateKey,
    pub authorized_keys: AuthorizedKeysFile,
    /// `--trusted-user-ca-keys`: CAs whose user certificates log in.
    pub trusted_user_ca_keys: Option<TrustedCaKeysFile>,
    /// `--host-certificate`: presented next to the host key.
    pub host_certificate: Option<Certificate>,
    pub accept_env: Vec<String>,
    pub subsystems: HashMap<String, Subsystem>,
    pub account: Account,
    pub limits: Limits,
}

impl Limits {
    /// The flags' defaults.
    pub fn defaults() -> Self {
        Self {
            max_connections: 100,
            max_sessions: 10,
            max_auth_tries: 6,
            login_grace_time: Duration::from_secs(120),
            hangup_grace: Duration::from_secs(2),
            keepalive: Some(Duration::from_secs(15)),
            window_max: crate::transport::WINDOW_MAX,
        }
    }
}

impl ServerConfig {
    /// A loopback server on a free port with a fresh host key, admitting
    /// the keys in `authorized_keys` (for `sesh test` with no target).
    pub fn embedded(authorized_keys: PathBuf) -> color_eyre::Result<Self> {
        Ok(Self {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            host_key: crate::keys::generate_ed25519()?,
            // No StrictModes: sesh wrote this file itself, in a private
            // temporary directory, and a TMPDIR without the sticky bit
            // must not stop `sesh test`.
            authorized_keys: AuthorizedKeysFile::new(authorized_keys, None),
            trusted_user_ca_keys: None,
            host_certificate: None,
            accept_env: vec!["LANG".to_string(), "LC_*".to_string()],
            subsystems: subsystems(&SftpServer::Internal, &[]),
            account: Account::current()?,
            limits: Limits::defaults(),
        })
    }

    /// Validates the arguments: the account, the authorized keys file (read
    /// once now so a missing or unsafe one stops the start) and the host key.
    pub fn from_args(args: &ServeArgs) -> color_eyre::Result<Self> {
        let mut account = Account::current()?;
        if let Some(shell) = &args.shell {
            if !shell.is_file() {
                return Err(color_eyre::eyre::eyre!(
                    "--shell {}: no such file",
                    shell.display()
                ));
            }
            account.shell = shell.clone();
        }
        let strict_uid = (!args.no_strict_modes).then_some(account.uid);
        let (authorized_keys, trusted_user_ca_keys) = auth_files(args, &account, strict_uid)?;
        let host_key = if args.ephemeral_host_key {
            crate::keys::generate_ed25519()?
        } else {
            let path = match &args.host_key {
                Some(path) => path.clone(),
                None => host_key::default_path()?,
            };
            host_key::load_or_create(&path, strict_uid)?
        };
        let host_certificate = match &args.host_certificate {
            Some(path) => Some(host_key::load_certificate(path, &host_key)?),
            None => None,
        };
        let accept_env = if args.accept_env.is_empty() {
            vec!["LANG".to_string(), "LC_*".to_string()]
        } else {
            args.accept_env.clone()
        };
        Ok(Self {
            listen: args.listen.clone(),
            host_key,
            authorized_keys,
            trusted_user_ca_keys,
            host_certificate,
            accept_env,
            subsystems: subsystems(&args.sftp, &args.subsystem),
            account,
            limits: Limits {
                max_connections: args.max_connections as usize,
                max_sessions: args.max_sessions as usize,
                max_auth_tries: args.max_auth_tries as usize,
                login_grace_time: args.login_grace_time,
                hangup_grace: args.hangup_grace,
                keepalive: (!args.keepalive.is_zero()).then_some(args.keepalive),
                window_max: args.window_max,
            },
        })
    }
}

/// The authorized keys and trusted CA keys files, each read once now so a
/// missing or unsafe one stops the start.
fn auth_files(
    args: &ServeArgs,
    account: &Account,
    strict_uid: Option<u32>,
) -> color_eyre::Result<(AuthorizedKeysFile, Option<TrustedCaKeysFile>)> {
    let path = match &args.authorized_keys {
        Some(path) => path.clone(),
        None => account.home.join(".ssh/authorized_keys"),
    };
    let authorized_keys = AuthorizedKeysFile::new(path, strict_uid);
    authorized_keys.load()?;
    let trusted = args
        .trusted_user_ca_keys
        .as_ref()
        .map(|path| TrustedCaKeysFile::new(path.clone(), strict_uid));
    if let Some(file) = &trusted {
        file.load()?;
    }
    Ok((authorized_keys, trusted))
}

/// The subsystem table: `sftp` as `--sftp` says, then every `--subsystem`
/// (the last for a name winning, `sftp` included).
fn subsystems(sftp: &SftpServer, listed: &[(String, String)]) -> HashMap<String, Subsystem> {
    let mut table = HashMap::new();
    match sftp {
        SftpServer::Internal => drop(table.insert("sftp".to_string(), Subsystem::Sftp)),
        SftpServer::Command(command) => {
            drop(table.insert("sftp".to_string(), Subsystem::Command(command.clone())))
        }
        SftpServer::Off => {}
    }
    for (name, command) in listed {
        let served = match command.trim() {
            "internal-sftp" => Subsystem::Sftp,
            _ => Subsystem::Command(command.clone()),
        };
        table.insert(name.clone(), served);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SFTP is the builtin by default, `--sftp off` removes it, and
    /// `--subsystem sftp=...` wins over `--sftp` either way.
    #[test]
    fn sftp_subsystem_choice() {
        let sftp = |table: &HashMap<String, Subsystem>| table.get("sftp").cloned();
        assert_eq!(
            sftp(&subsystems(&SftpServer::Internal, &[])),
            Some(Subsystem::Sftp)
        );
        assert_eq!(sftp(&subsystems(&SftpServer::Off, &[])), None);
        let command = SftpServer::Command("/x/sftp-server".into());
        assert_eq!(
            sftp(&subsystems(&command, &[])),
            Some(Subsystem::Command("/x/sftp-server".into()))
        );
        let listed = [("sftp".to_string(), "/y/sftp-server".to_string())];
        assert_eq!(
            sftp(&subsystems(&SftpServer::Internal, &listed)),
            Some(Subsystem::Command("/y/sftp-server".into()))
        );
        let listed = [("sftp".to_string(), "internal-sftp".to_string())];
        assert_eq!(
            sftp(&subsystems(&SftpServer::Off, &listed)),
            Some(Subsystem::Sftp)
        );
    }
}
