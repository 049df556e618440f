//! What the resolved options say about trust and credentials: the host key
//! policy (known_hosts files, StrictHostKeyChecking, HashKnownHosts,
//! HostKeyAlias, a `--host-key` pin) and the agent (IdentityAgent,
//! IdentitiesOnly).

use std::path::PathBuf;

use crate::client::auth::{AgentSocket, AgentUse};
use crate::client::host_key::{KnownHostsFiles, Policy, Unknown};
use crate::client::ssh_config::Options;
use crate::client::ssh_config::values::StrictHostKeyChecking;

/// IdentityAgent (`none`, `SSH_AUTH_SOCK`, a legacy `$VAR`, or a socket
/// path already expanded) and IdentitiesOnly.
pub fn agent(options: &Options) -> AgentUse {
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
pub fn policy(options: &Options, pin: Option<String>) -> Policy {
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
