//! ssh_config as OpenSSH's client reads it (`readconf.c`): the files are read
//! once per run ([`SshConfig::load`]: `-F FILE`, else `~/.ssh/config` then
//! `/etc/ssh/ssh_config`, with their Includes), then each label is resolved
//! on its own ([`SshConfig::resolve`]): command-line values first, one pass
//! over the files in order where the first value wins and `Match` sees the
//! options obtained so far, a second pass when `Match final` or
//! CanonicalizeHostname asks for it, then ssh's defaults and token
//! expansion. [`Options::dump_lines`] prints the result as `ssh -G` does.
//! The field guide is SSH_CONFIG.md in the project notes.
//!
//! Parity target: the installed OpenSSH 9.2 (Debian), checked line by line
//! against `ssh -G` in tests/ssh_config.rs. Where Debian's binary differs
//! from the upstream 9.2 source, sesh follows the binary: `ProxyJump none`
//! does not block a later ProxyCommand and `-J` checks hop names (a
//! backport of HEAD's `parse_jump`), BatchMode makes the default
//! ServerAliveInterval 300, QUIET prints as `SILENT`. Known gaps: tokens in
//! User, Include and SetEnv (10.0+) stay literal as in 9.2;
//! CanonicalizeHostname only triggers the second pass (no DNS search);
//! Include globs have no `[...]`; values of ignored keywords are checked only
//! when they are flags; Port service names other than `ssh` are refused.

mod args;
mod cli;
mod dump;
mod glob;
pub mod jump;
mod keywords;
mod matching;
mod options;
mod parse;
mod resolved;
mod sources;
pub mod tokens;
pub mod values;

use std::fmt;
use std::path::Path;

pub use cli::{CommandLine, CommandLineArg};
pub use dump::DUMPED_KEYWORDS;
pub use jump::{Hop, JumpSpec};
pub use matching::Local;
pub use options::PathEntry;
pub use resolved::{Options, Proxy};
pub use sources::Sources;

use keywords::Kw;
use matching::Pass;
use options::Partial;
use parse::{ConfigFile, Entry, IncludeRoots, Line, Origin};

/// A configuration error: `FILE line N: message` as ssh prints it (ssh
/// then exits 255), or a message without a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: Option<String>,
    pub line: usize,
    pub message: String,
}

impl ConfigError {
    fn at(file: &str, line: usize, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.to_string()),
            line,
            message: message.into(),
        }
    }

    fn plain(message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file} line {}: {}", self.line, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The configuration files of one run, read once.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// Each top-level file and whether it is a user file.
    files: Vec<(ConfigFile, bool)>,
    local: Local,
    /// One line per keyword sesh accepts but ignores (for `-v`).
    notes: Vec<String>,
}

impl SshConfig {
    /// Reads the files as ssh does: a missing `-F` file is an error, missing
    /// default files are skipped, `~/.ssh/config` must not be writable by
    /// others.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let system_dir = sources
            .system_file
            .parent()
            .unwrap_or(Path::new("/"))
            .to_path_buf();
        let roots = IncludeRoots {
            env_home: sources.env_home.clone(),
            system_dir,
        };
        let mut files = Vec::new();
        match &sources.config_file {
            Some(path) if path.as_os_str().eq_ignore_ascii_case("none") => {}
            Some(path) => {
                let file = parse::read_file(path, Origin::User, &roots, 0, false)?.ok_or_else(|| {
                    ConfigError::plain(format!(
                        "can't open user config file {}: no such file",
                        path.display()
                    ))
                })?;
                files.push((file, true));
            }
            None => {
                let user = Path::new(&sources.local.home).join(".ssh/config");
                if let Some(file) = parse::read_file(&user, Origin::User, &roots, 0, true)? {
                    files.push((file, true));
                }
                if let Some(file) = parse::read_file(&sources.system_file, Origin::System, &roots, 0, false)?
                {
                    files.push((file, false));
                }
            }
        }
        let mut notes = Vec::new();
        for (file, _) in &files {
            collect_notes(file, &mut notes);
        }
        Ok(Self {
            files,
            local: sources.local.clone(),
            notes,
        })
    }

    /// The `-v` lines for keywords accepted and ignored, one per line.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Resolves one label (the host as typed) with the command line's values.
    pub fn resolve(&self, label: &str, cli: &CommandLine) -> Result<Options, ConfigError> {
        let mut so_far = Partial::default();
        let mut notes = Vec::new();
        cli.apply(&mut so_far, &self.local, &mut notes)?;
        let mut want_final = false;
        let first = Pass {
            host: label,
            original: label,
            final_pass: false,
        };
        self.pass(&mut so_far, first, &mut want_final)?;
        let mut host = match &so_far.hostname {
            Some(h) => matching::expand_hostname(h, label).map_err(ConfigError::plain)?,
            None => label.to_string(),
        };
        if host.parse::<std::net::IpAddr>().is_err() {
            host = host.to_ascii_lowercase();
        }
        if want_final || so_far.canonicalize == Some(true) {
            so_far.hostname = Some(host.clone());
            let second = Pass {
                host: &host,
                original: label,
                final_pass: true,
            };
            self.pass(&mut so_far, second, &mut false)?;
        }
        resolved::finish(so_far, label, host, &self.local, notes)
    }

    /// One pass over every file; each top-level file starts active.
    fn pass(&self, so_far: &mut Partial, pass: Pass<'_>, want_final: &mut bool) -> Result<(), ConfigError> {
        for (file, user_file) in &self.files {
            let mut walk = Walk {
                so_far: &mut *so_far,
                pass,
                local: &self.local,
                user_file: *user_file,
                want_final: &mut *want_final,
            };
            walk.entries(&file.entries, &mut true, false)?;
        }
        Ok(())
    }
}

/// The state of one pass.
struct Walk<'a, 'p> {
    so_far: &'a mut Partial,
    pass: Pass<'p>,
    local: &'a Local,
    user_file: bool,
    want_final: &'a mut bool,
}

impl Walk<'_, '_> {
    /// Processes entries; `never` is ssh's SSHCONF_NEVERMATCH (a file
    /// included from an inactive block: parsed, never applied).
    fn entries(&mut self, entries: &[Entry], active: &mut bool, never: bool) -> Result<(), ConfigError> {
        for entry in entries {
            match entry {
                Entry::Line(line) => self.line(line, active, never)?,
                Entry::Bad(error) => return Err(error.clone()),
                Entry::Include(files) => {
                    for file in files {
                        let outer = *active;
                        self.entries(&file.entries, active, never || !outer)?;
                        // A Host or Match in the included file cannot end
                        // the includer's block.
                        *active = outer;
                    }
                }
            }
        }
        Ok(())
    }

    fn line(&mut self, line: &Line, active: &mut bool, never: bool) -> Result<(), ConfigError> {
        let Some(kw) = keywords::lookup(&line.keyword) else {
            return match &self.so_far.ignore_unknown {
                Some(list) if matching::list_matches(&line.keyword, list, true) => Ok(()),
                _ => Err(line.error(format!("bad configuration option: {}", line.keyword))),
            };
        };
        match kw {
            Kw::Host => {
                if line.args.iter().any(String::is_empty) {
                    return Err(line.error("keyword host empty argument"));
                }
                *active = !never && matching::host_line(&line.args, self.pass.host);
            }
            Kw::Match => {
                let hit = matching::match_line(line, self.so_far, self.pass, self.local, self.want_final)?;
                *active = !never && hit;
            }
            Kw::Ignored | Kw::Obsolete | Kw::Include => {}
            _ => self.so_far.apply(kw, line, *active, self.user_file)?,
        }
        Ok(())
    }
}

/// `-v` lines: each file read, and each line whose keyword sesh accepts
/// and ignores.
fn collect_notes(file: &ConfigFile, notes: &mut Vec<String>) {
    notes.push(format!("reading configuration data {}", file.path.display()));
    for entry in &file.entries {
        match entry {
            Entry::Line(line) => {
                if let Some(Kw::Ignored | Kw::IgnoredFlag | Kw::Obsolete) = keywords::lookup(&line.keyword) {
                    notes.push(format!(
                        "{} line {}: ignoring option \"{}\"",
                        line.file, line.number, line.keyword
                    ));
                }
            }
            Entry::Include(files) => files.iter().for_each(|f| collect_notes(f, notes)),
            Entry::Bad(_) => {}
        }
    }
}
