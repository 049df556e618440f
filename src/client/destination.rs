//! Where one session goes and how it logs in: a [`Destination`], built from
//! the command line before anything connects. What to run there is the
//! caller's ([`super::ExecConfig`]); `sesh test` needs only this half.

use std::path::PathBuf;
use std::time::Duration;

use super::host_key::Policy;
use super::target::Target;
use crate::cli::AccessArgs;

/// Time to connect and finish the SSH handshake when nothing says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Keepalive interval when nothing says otherwise.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

/// Everything needed to reach one host and log in. Serialisable: a mux
/// master gets it from the caller that starts it, and its key is derived
/// from it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    /// The host as the user named it: fan-out prefixes and status records.
    pub label: String,
    /// The user, host and port to log in to.
    pub target: Target,
    /// How the byte stream to `target` is opened.
    pub route: Route,
    pub identities: Vec<PathBuf>,
    /// The identities were given with `-i` (a missing one is reported).
    pub explicit_identities: bool,
    pub host_keys: Policy,
    /// Applies to each hop on its own, as OpenSSH's ConnectTimeout does.
    pub connect_timeout: Duration,
    pub keepalive: Option<Duration>,
}

/// How the byte stream that carries the SSH connection is opened.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Route {
    /// A TCP connection to the target's host and port.
    Tcp,
}

impl Destination {
    /// The destination `label` names, with the login and trust settings of
    /// `access` and the default timeouts.
    pub fn from_access(label: &str, access: &AccessArgs) -> Result<Self, String> {
        let local_user = local_user()?;
        let target = Target::parse(label, &local_user)?;
        let home = crate::home_dir().map_err(|e| format!("{e}"))?;
        let known_hosts = access
            .known_hosts
            .clone()
            .unwrap_or_else(|| home.join(".ssh/known_hosts"));
        let host_keys = match (&access.host_key, access.accept_new) {
            (Some(pin), _) => Policy::Pin(pin.clone()),
            (None, true) => Policy::AcceptNew { known_hosts },
            (None, false) => Policy::Strict { known_hosts },
        };
        let explicit_identities = !access.identity.is_empty();
        let identities = if explicit_identities {
            access.identity.clone()
        } else {
            super::auth::default_identities(&home)
        };
        Ok(Self {
            label: label.to_string(),
            target,
            route: Route::Tcp,
            identities,
            explicit_identities,
            host_keys,
            connect_timeout: CONNECT_TIMEOUT,
            keepalive: Some(KEEPALIVE),
        })
    }
}

/// The name of the user sesh runs as: the default login name.
pub fn local_user() -> Result<String, String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok())
        .ok_or_else(|| "could not tell the local user name: give one as user@host".to_string())
}
