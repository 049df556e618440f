//! Where the configuration comes from (`-F`, or the default files) and the
//! local facts that tokens and `Match` need: the account (name, home from
//! the account database, uid), `$HOME` for Include, `$SHELL`, the host name.

use std::path::PathBuf;

use super::ConfigError;
use super::matching::Local;

/// Where the configuration comes from, and the local facts tokens and
/// Match need.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `-F FILE`; `none` reads no file. `None`: the default files.
    pub config_file: Option<PathBuf>,
    /// The system file read after `~/.ssh/config` (`/etc/ssh/ssh_config`).
    pub system_file: PathBuf,
    /// `$HOME`: Include's `~` and relative paths (`$HOME/.ssh/...`), as
    /// glob(3) expands them.
    pub env_home: PathBuf,
    /// The local account: user name, home from the account database (`~`,
    /// `%d`, `~/.ssh/config`), uid, host name and shell.
    pub local: Local,
}

impl Sources {
    /// The sources of this process: its account, `$HOME`, `$SHELL`, the
    /// host name; `config_file` is `-F`.
    pub fn from_environment(config_file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let uid = nix::unistd::getuid();
        let account = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .ok_or_else(|| ConfigError::plain(format!("no account for uid {uid}")))?;
        let home = account.dir.to_string_lossy().into_owned();
        let env_home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| account.dir.clone());
        let shell = std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let hostname = local_hostname()?;
        Ok(Self {
            config_file,
            system_file: PathBuf::from("/etc/ssh/ssh_config"),
            env_home,
            local: Local {
                user: account.name,
                home,
                uid: uid.as_raw(),
                hostname,
                shell,
            },
        })
    }
}

/// gethostname(2), which `%l`, `%L` and `%C` use.
fn local_hostname() -> Result<String, ConfigError> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(ConfigError::plain(format!(
            "gethostname: {}",
            std::io::Error::last_os_error()
        )));
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}
