//! The environment a session's command gets: the client's accepted `env`
//! values, the key's `environment=` options, then the values the server
//! sets itself, which always win.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use color_eyre::eyre::{WrapErr, eyre};

/// The account the server runs as; the only one that may log in.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
    /// The login shell, `/bin/sh` when the account has none.
    pub shell: PathBuf,
}

impl Account {
    /// The account of the running process.
    pub fn current() -> color_eyre::Result<Self> {
        let uid = nix::unistd::getuid();
        let user = nix::unistd::User::from_uid(uid)
            .wrap_err("could not look up the current user")?
            .ok_or_else(|| eyre!("user id {uid} has no account entry"))?;
        let shell = if user.shell.as_os_str().is_empty() {
            PathBuf::from("/bin/sh")
        } else {
            user.shell
        };
        Ok(Self {
            name: user.name,
            uid: uid.as_raw(),
            home: user.dir,
            shell,
        })
    }
}

/// Whether a client may set variable `name` under the allow-list.
pub fn accepted(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| crate::pattern::matches(p, name))
}

/// What the server knows about one session when it builds the environment.
pub struct SessionFacts<'a> {
    pub account: &'a Account,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// `TERM`, when there is a pty (`SSH_TTY` is set where the pty opens).
    pub term: Option<&'a str>,
    /// The client's command when a forced command replaced it.
    pub original_command: Option<&'a [u8]>,
}

/// PATH when the server itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Builds the complete environment, later entries overriding earlier ones.
pub fn build(
    client: &[(String, String)],
    key: &[(String, String)],
    facts: &SessionFacts<'_>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |name: &str, value: OsString| {
        env.retain(|(n, _)| n != name);
        env.push((name.into(), value));
    };
    for (name, value) in client.iter().chain(key) {
        set(name, value.into());
    }
    let account = facts.account;
    set("USER", account.name.clone().into());
    set("LOGNAME", account.name.clone().into());
    set("HOME", account.home.clone().into());
    set("SHELL", account.shell.clone().into());
    set(
        "PATH",
        std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into()),
    );
    if let Some(term) = facts.term {
        set("TERM", term.into());
    }
    let (peer, local) = (facts.peer, facts.local);
    set(
        "SSH_CLIENT",
        format!("{} {} {}", peer.ip(), peer.port(), local.port()).into(),
    );
    set(
        "SSH_CONNECTION",
        format!("{} {} {} {}", peer.ip(), peer.port(), local.ip(), local.port()).into(),
    );
    if let Some(original) = facts.original_command {
        use std::os::unix::ffi::OsStringExt;
        set("SSH_ORIGINAL_COMMAND", OsString::from_vec(original.to_vec()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default allow-list admits LANG and LC_* only.
    #[test]
    fn allow_list() {
        let patterns = vec!["LANG".to_string(), "LC_*".to_string()];
        assert!(accepted(&patterns, "LANG"));
        assert!(accepted(&patterns, "LC_ALL"));
        assert!(!accepted(&patterns, "PATH"));
        assert!(!accepted(&patterns, "LD_PRELOAD"));
    }

    /// Server-set values override what the client and the key asked for.
    #[test]
    fn server_values_win() {
        let account = Account {
            name: "me".into(),
            uid: 1000,
            home: "/home/me".into(),
            shell: "/bin/sh".into(),
        };
        let facts = SessionFacts {
            account: &account,
            peer: "127.0.0.1:5000".parse().unwrap(),
            local: "127.0.0.1:2222".parse().unwrap(),
            term: None,
            original_command: Some(b"ls"),
        };
        let client = vec![
            ("USER".to_string(), "root".to_string()),
            ("LANG".to_string(), "C".to_string()),
        ];
        let env = build(&client, &[("LANG".into(), "fr".into())], &facts);
        let get = |n: &str| {
            env.iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.to_str().unwrap().to_string())
        };
        assert_eq!(get("USER").as_deref(), Some("me"));
        assert_eq!(get("LANG").as_deref(), Some("fr"));
        assert_eq!(
            get("SSH_CONNECTION").as_deref(),
            Some("127.0.0.1 5000 127.0.0.1 2222")
        );
        assert_eq!(get("SSH_ORIGINAL_COMMAND").as_deref(), Some("ls"));
        assert_eq!(env.iter().filter(|(k, _)| k == "USER").count(), 1);
    }
}
