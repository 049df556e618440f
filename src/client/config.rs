//! `sesh exec`'s arguments turned into an [`ExecConfig`].

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use super::ExecConfig;
use super::host_key::Policy;
use super::target::Target;
use crate::cli::{AccessArgs, ExecArgs};

impl ExecConfig {
    /// Validates the arguments; `Err` is the one line to show.
    pub fn from_args(args: &ExecArgs) -> Result<Self, String> {
        let mut config = Self::for_access(&args.target, &args.access)?;
        config.command = join_words(&args.command);
        config.stdin = !args.no_stdin;
        config.pty = args.tty;
        config.env = args
            .env
            .iter()
            .map(|spec| env_pair(spec))
            .collect::<Result<_, _>>()?;
        config.timeout = args.timeout;
        config.kill_after = args.kill_after;
        config.connect_timeout = args.connect_timeout;
        config.keepalive = (!args.keepalive.is_zero()).then_some(args.keepalive);
        config.status_json = args.status_json.clone();
        config.verbose = args.verbosity.verbose > 0;
        Ok(config)
    }

    /// A config that can connect to `target` (the command and stdio
    /// settings left at their defaults: no command, no stdin, no pty).
    pub fn for_access(target: &str, access: &AccessArgs) -> Result<Self, String> {
        let local_user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|user| user.name)
            .or_else(|| std::env::var("USER").ok())
            .ok_or("could not tell the local user name: give one as user@host")?;
        let target = Target::parse(target, &local_user)?;
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
            target,
            command: Vec::new(),
            identities,
            explicit_identities,
            host_keys,
            stdin: false,
            pty: false,
            env: Vec::new(),
            timeout: None,
            kill_after: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(30),
            keepalive: Some(Duration::from_secs(15)),
            status_json: None,
            verbose: false,
        })
    }
}

/// The words joined with single spaces, bytes as they are.
fn join_words(words: &[std::ffi::OsString]) -> Vec<u8> {
    let mut command = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            command.push(b' ');
        }
        command.extend_from_slice(word.as_bytes());
    }
    command
}

/// `NAME=VALUE`, or `NAME` for the local value.
fn env_pair(spec: &str) -> Result<(String, String), String> {
    let (name, value) = match spec.split_once('=') {
        Some((name, value)) => (name.to_string(), value.to_string()),
        None => {
            let value = std::env::var(spec).map_err(|_| format!("--env {spec}: not set locally"))?;
            (spec.to_string(), value)
        }
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("invalid --env {spec:?}: expected NAME[=VALUE]"));
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words join with single spaces; env specs split at the first `=`.
    #[test]
    fn words_and_env() {
        assert_eq!(
            join_words(&["echo".into(), "a b".into(), "$X".into()]),
            b"echo a b $X"
        );
        assert_eq!(env_pair("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(env_pair("=x").is_err());
        assert!(env_pair("SESH_SURELY_UNSET_VARIABLE").is_err());
    }
}
