//! What a session channel asked for before its command started (`pty-req`,
//! `env`) and how an `exec`, `shell` or `subsystem` request becomes a job:
//! a process to spawn, with forced commands and the environment applied,
//! or the builtin SFTP server. A forced command always wins, the builtin
//! included, as in sshd: SFTP is no way around a key's restriction.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;

use super::ServerConfig;
use super::config::Subsystem;
use super::env::{self, SessionFacts};
use super::job::JobSpec;
use super::process::ProcessSpec;
use super::pty::WindowSize;
use crate::keys::authorized_keys::KeyOptions;

/// Most `env` values one channel may set, and most bytes of names and
/// values together; more are refused. sshd stops at 128 variables; the
/// byte cap also keeps a channel from holding megabytes (ten channels per
/// connection, a hundred connections) and the command's environment well
/// under the kernel's limits for `execve`.
pub const MAX_ENV: usize = 64;
pub const MAX_ENV_BYTES: usize = 64 * 1024;

/// The requests that start a command.
#[derive(Debug, Clone)]
pub enum Request {
    Exec(Vec<u8>),
    Shell,
    Subsystem(String),
}

/// A channel's state before (and whether) its command started.
#[derive(Debug, Default)]
pub struct SessionSetup {
    pub started: bool,
    env: Vec<(String, String)>,
    /// An `env` request was refused for a limit: logged once per channel.
    env_limit_hit: bool,
    pty: Option<(String, WindowSize)>,
}

/// An `env` value refused for the limits; `first` is true for the
/// channel's first such refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvLimit {
    pub first: bool,
}

/// A job ready to start, and how the log names it.
pub struct Plan {
    pub job: JobSpec,
    pub what: String,
}

impl SessionSetup {
    /// Records a `pty-req`; only one per channel.
    pub fn request_pty(&mut self, term: &str, size: WindowSize) -> bool {
        if self.pty.is_some() {
            return false;
        }
        self.pty = Some((term.to_string(), size));
        true
    }

    pub fn has_pty(&self) -> bool {
        self.pty.is_some()
    }

    /// A `window-change` before the command started sets the initial size.
    pub fn request_pty_size(&mut self, size: WindowSize) -> bool {
        match &mut self.pty {
            Some((_, current)) => {
                *current = size;
                true
            }
            None => false,
        }
    }

    /// Records an accepted `env` value, the last one for a name winning,
    /// within [`MAX_ENV`] and [`MAX_ENV_BYTES`].
    pub fn set_env(&mut self, name: &str, value: &str) -> Result<(), EnvLimit> {
        let others = || self.env.iter().filter(|(n, _)| n != name);
        let count = others().count() + 1;
        let bytes: usize = others().map(|(n, v)| n.len() + v.len()).sum::<usize>() + name.len() + value.len();
        if count > MAX_ENV || bytes > MAX_ENV_BYTES {
            let first = !self.env_limit_hit;
            self.env_limit_hit = true;
            return Err(EnvLimit { first });
        }
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_string(), value.to_string()));
        Ok(())
    }

    /// Turns a request into a job, or `None` when it is refused (an
    /// unknown subsystem). As in sshd, the subsystem must exist even when a
    /// forced command then runs instead of it.
    pub fn plan(
        &self,
        config: &ServerConfig,
        grant: &KeyOptions,
        request: Request,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Option<Plan> {
        let account = &config.account;
        let shell = account.shell.clone();
        let asked: Option<Vec<u8>> = match &request {
            Request::Exec(command) => Some(command.clone()),
            Request::Shell => None,
            Request::Subsystem(name) => match config.subsystems.get(name) {
                Some(Subsystem::Command(command)) => Some(command.clone().into_bytes()),
                Some(Subsystem::Sftp) if grant.command.is_none() => {
                    let home = account.home.clone();
                    let what = format!("(subsystem {name}: internal)");
                    return Some(Plan {
                        job: JobSpec::Sftp { home },
                        what,
                    });
                }
                Some(Subsystem::Sftp) => Some(b"internal-sftp".to_vec()),
                None => {
                    tracing::warn!(%peer, name, "refused an unknown subsystem");
                    return None;
                }
            },
        };
        let what = describe(&request);
        let (args, arg0, original) = match (&grant.command, asked) {
            (Some(forced), asked) => {
                let original = match &request {
                    Request::Subsystem(name) => Some(name.clone().into_bytes()),
                    _ => asked,
                };
                (shell_command(forced.as_bytes()), None, original)
            }
            (None, Some(command)) => (shell_command(&command), None, None),
            (None, None) => (Vec::new(), Some(login_name(&shell)), None),
        };
        let facts = SessionFacts {
            account,
            peer,
            local,
            term: self.pty.as_ref().map(|(term, _)| term.as_str()),
            original_command: original.as_deref(),
        };
        let cwd = if account.home.is_dir() {
            account.home.clone()
        } else {
            "/".into()
        };
        let spec = ProcessSpec {
            program: shell,
            args,
            arg0,
            env: env::build(&self.env, &grant.environment, &facts),
            cwd,
            pty: self.pty.as_ref().map(|(_, size)| *size),
        };
        Some(Plan {
            job: JobSpec::Process(spec),
            what,
        })
    }
}

/// `-c COMMAND` for the login shell; the bytes go through as they are.
fn shell_command(command: &[u8]) -> Vec<OsString> {
    use std::os::unix::ffi::OsStringExt;
    vec!["-c".into(), OsString::from_vec(command.to_vec())]
}

/// `argv[0]` of a login shell: `-` and the shell's file name.
fn login_name(shell: &Path) -> OsString {
    let mut name = OsString::from("-");
    name.push(shell.file_name().unwrap_or(shell.as_os_str()));
    name
}

/// The request as the session log names it, cut short when long.
fn describe(request: &Request) -> String {
    let text = match request {
        Request::Exec(command) => String::from_utf8_lossy(command).into_owned(),
        Request::Shell => "(shell)".to_string(),
        Request::Subsystem(name) => format!("(subsystem {name})"),
    };
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}
