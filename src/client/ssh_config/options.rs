//! The options as they fill up while lines are read: every field starts
//! unset and the first active value wins (`if (*activep && unset) set`), the
//! exceptions as ssh has them (IdentityFile, CertificateFile and SendEnv
//! accumulate; the known-hosts lists and SetEnv take their first line whole;
//! ProxyCommand and ProxyJump share one slot). Values are checked even in
//! inactive blocks, since ssh refuses a bad value wherever it is.

use super::ConfigError;
use super::args::{agent_path, canonicalize, check_file_list, choice, single};
use super::jump::JumpSpec;
use super::keywords::Kw;
use super::parse::Line;
use super::values::{self, ControlMaster, ControlPersist, LogLevel, RequestTty, StrictHostKeyChecking};

/// An IdentityFile or CertificateFile entry as written (ssh -G prints it
/// unexpanded), and whether it came from a user file or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathEntry {
    pub path: String,
    pub user_provided: bool,
}

/// Options obtained so far (`None` = unset).
#[derive(Debug, Clone, Default)]
pub struct Partial {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathEntry>,
    pub certificate_files: Vec<PathEntry>,
    pub identities_only: Option<bool>,
    pub identity_agent: Option<String>,
    pub user_known_hosts: Option<Vec<String>>,
    pub global_known_hosts: Option<Vec<String>>,
    pub strict_host_key_checking: Option<StrictHostKeyChecking>,
    pub hash_known_hosts: Option<bool>,
    pub connect_timeout: Option<u32>,
    pub server_alive_interval: Option<u32>,
    pub server_alive_count_max: Option<u32>,
    pub send_env: Vec<String>,
    pub set_env: Vec<String>,
    pub request_tty: Option<RequestTty>,
    pub proxy_command: Option<String>,
    pub jump: Option<JumpSpec>,
    pub host_key_alias: Option<String>,
    pub batch_mode: Option<bool>,
    pub log_level: Option<LogLevel>,
    pub control_master: Option<ControlMaster>,
    pub control_path: Option<String>,
    pub control_persist: Option<ControlPersist>,
    pub ignore_unknown: Option<String>,
    /// CanonicalizeHostname is not `no`: forces the second pass.
    pub canonicalize: Option<bool>,
}

/// ssh's `SSH_MAX_IDENTITY_FILES` and `SSH_MAX_CERTIFICATE_FILES`.
const MAX_FILES: usize = 100;

fn set<T>(slot: &mut Option<T>, active: bool, value: T) {
    if active && slot.is_none() {
        *slot = Some(value);
    }
}

impl Partial {
    /// Applies one line of a keyword other than Host, Match and Include.
    /// `user_file` is ssh's SSHCONF_USERCONF (user files and `-o`).
    pub fn apply(&mut self, kw: Kw, line: &Line, active: bool, user_file: bool) -> Result<(), ConfigError> {
        let string = match kw {
            Kw::HostName => &mut self.hostname,
            Kw::User => &mut self.user,
            Kw::HostKeyAlias => &mut self.host_key_alias,
            Kw::ControlPath => &mut self.control_path,
            Kw::IgnoreUnknown => &mut self.ignore_unknown,
            _ => return self.apply_choice(kw, line, active, user_file),
        };
        set(string, active, single(line)?.to_string());
        Ok(())
    }

    /// Keywords with one value from a fixed set.
    fn apply_choice(
        &mut self,
        kw: Kw,
        line: &Line,
        active: bool,
        user_file: bool,
    ) -> Result<(), ConfigError> {
        match kw {
            Kw::IdentitiesOnly => set(&mut self.identities_only, active, choice(line, values::flag)?),
            Kw::HashKnownHosts => set(&mut self.hash_known_hosts, active, choice(line, values::flag)?),
            Kw::BatchMode => set(&mut self.batch_mode, active, choice(line, values::flag)?),
            Kw::IgnoredFlag => drop(choice(line, values::flag)?),
            Kw::StrictHostKeyChecking => set(
                &mut self.strict_host_key_checking,
                active,
                choice(line, StrictHostKeyChecking::parse)?,
            ),
            Kw::RequestTty => set(&mut self.request_tty, active, choice(line, RequestTty::parse)?),
            Kw::ControlMaster => set(
                &mut self.control_master,
                active,
                choice(line, ControlMaster::parse)?,
            ),
            Kw::CanonicalizeHostname => set(&mut self.canonicalize, active, choice(line, canonicalize)?),
            Kw::ControlPersist => {
                let v = ControlPersist::parse(single(line)?)
                    .ok_or_else(|| line.error("bad ControlPersist argument"))?;
                set(&mut self.control_persist, active, v);
            }
            Kw::LogLevel => {
                let arg = single(line)?;
                let v = LogLevel::parse(arg)
                    .ok_or_else(|| line.error(format!("unsupported log level '{arg}'")))?;
                set(&mut self.log_level, active, v);
            }
            _ => return self.apply_number(kw, line, active, user_file),
        }
        Ok(())
    }

    /// Ports, times and counts.
    fn apply_number(
        &mut self,
        kw: Kw,
        line: &Line,
        active: bool,
        user_file: bool,
    ) -> Result<(), ConfigError> {
        match kw {
            Kw::Port => {
                let arg = single(line)?;
                let port = values::port(arg).ok_or_else(|| line.error(format!("bad port '{arg}'")))?;
                set(&mut self.port, active, port);
            }
            Kw::ConnectTimeout | Kw::ServerAliveInterval => {
                let slot = match kw {
                    Kw::ConnectTimeout => &mut self.connect_timeout,
                    _ => &mut self.server_alive_interval,
                };
                // `none` is ssh's -1: it leaves the option unset.
                match single(line)? {
                    "none" => {}
                    arg => set(
                        slot,
                        active,
                        values::convtime(arg).ok_or_else(|| line.error("invalid time value"))?,
                    ),
                }
            }
            Kw::ServerAliveCountMax => {
                let arg = single(line)?;
                let v: u32 = arg
                    .parse()
                    .ok()
                    .filter(|&v| v <= i32::MAX as u32)
                    .ok_or_else(|| line.error(format!("bad number '{arg}'")))?;
                set(&mut self.server_alive_count_max, active, v);
            }
            _ => return self.apply_lists(kw, line, active, user_file),
        }
        Ok(())
    }

    /// The keywords that take several values or the raw rest of the line.
    fn apply_lists(&mut self, kw: Kw, line: &Line, active: bool, user_file: bool) -> Result<(), ConfigError> {
        let args = &line.args;
        match kw {
            Kw::IdentityFile | Kw::CertificateFile => {
                let arg = single(line)?;
                let list = match kw {
                    Kw::IdentityFile => &mut self.identity_files,
                    _ => &mut self.certificate_files,
                };
                if active {
                    add_path(list, arg, user_file).map_err(|m| line.error(m))?;
                }
            }
            Kw::IdentityAgent => set(&mut self.identity_agent, active, agent_path(line)?.to_string()),
            Kw::UserKnownHostsFile | Kw::GlobalKnownHostsFile => {
                check_file_list(line)?;
                let slot = match kw {
                    Kw::UserKnownHostsFile => &mut self.user_known_hosts,
                    _ => &mut self.global_known_hosts,
                };
                set(slot, active, args.clone());
            }
            Kw::SendEnv => self.apply_send_env(line, active)?,
            Kw::SetEnv => self.apply_set_env(line, active)?,
            Kw::ProxyCommand => {
                // The raw rest of the line, comments and quotes included. A
                // real ProxyJump has already set this slot to `none`.
                set(&mut self.proxy_command, active, line.rest.clone());
            }
            Kw::ProxyJump => {
                let spec = JumpSpec::parse(&line.rest)
                    .map_err(|_| line.error(format!("invalid ProxyJump \"{}\"", line.rest)))?;
                self.set_jump(spec, active);
            }
            _ => {}
        }
        Ok(())
    }

    /// SendEnv accumulates; `-PATTERN` removes the entries it matches.
    fn apply_send_env(&mut self, line: &Line, active: bool) -> Result<(), ConfigError> {
        for arg in &line.args {
            if arg.is_empty() || arg.contains('=') {
                return Err(line.error("invalid environment name"));
            }
            if !active {
                continue;
            }
            match arg.strip_prefix('-') {
                Some(pattern) => self.send_env.retain(|e| !crate::pattern::matches(pattern, e)),
                None => self.send_env.push(arg.clone()),
            }
        }
        Ok(())
    }

    /// SetEnv: only the first line counts, duplicate names in it dropped.
    fn apply_set_env(&mut self, line: &Line, active: bool) -> Result<(), ConfigError> {
        let first = self.set_env.is_empty();
        for arg in &line.args {
            let Some((name, _)) = arg.split_once('=') else {
                return Err(line.error("invalid SetEnv"));
            };
            if !active || !first {
                continue;
            }
            if !self
                .set_env
                .iter()
                .any(|e| e.split_once('=').is_some_and(|(n, _)| n == name))
            {
                self.set_env.push(arg.clone());
            }
        }
        Ok(())
    }

    /// ProxyJump as the installed ssh (9.2 with Debian's backports, same as
    /// HEAD's `parse_jump`) has it: hops fill the shared slot only if neither
    /// keyword has, and mark ProxyCommand `none`; `ProxyJump none` only
    /// blocks later ProxyJump lines, so a later ProxyCommand still applies.
    pub fn set_jump(&mut self, spec: JumpSpec, active: bool) {
        if !active || self.jump.is_some() {
            return;
        }
        if spec != JumpSpec::None {
            if self.proxy_command.is_some() {
                return;
            }
            self.proxy_command = Some("none".into());
        }
        self.jump = Some(spec);
    }
}

/// `add_identity_file`/`add_certificate_file`: exact duplicates (same path,
/// same origin) are dropped; at most 100.
pub fn add_path(list: &mut Vec<PathEntry>, path: &str, user_provided: bool) -> Result<(), String> {
    let entry = PathEntry {
        path: path.to_string(),
        user_provided,
    };
    if list.contains(&entry) {
        return Ok(());
    }
    if list.len() >= MAX_FILES {
        return Err(format!("too many identity files specified (max {MAX_FILES})"));
    }
    list.push(entry);
    Ok(())
}
