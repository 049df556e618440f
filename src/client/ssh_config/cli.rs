//! The command line's share of the options, applied before any file and in
//! argv order as ssh applies them (`-p 3000 -o Port=4000` gives 3000): `-o`
//! lines go through the same parser as file lines, `-l`/`-p`/`-J`/`-i` set
//! their keyword if still unset. sesh's own flags enter as their `-o`
//! equivalents, and only when the user typed them, so a default never beats
//! a file.

use std::sync::Arc;

use super::jump::JumpSpec;
use super::keywords::{self, Kw};
use super::matching::{self, Local};
use super::options::{self, Partial};
use super::{ConfigError, parse, tokens, values};

/// One command-line value, in the order it was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLineArg {
    /// `-o KEY=VALUE` (or `KEY VALUE`).
    Option(String),
    /// `-l USER`, or the user of `user@host`.
    User(String),
    /// `-p PORT`, or the port of `host:port`.
    Port(String),
    /// `-J SPEC`.
    Jump(String),
    /// `-i FILE`.
    Identity(String),
}

/// The command line's values, in argv order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub args: Vec<CommandLineArg>,
}

impl CommandLine {
    /// Appends `-o KEY=VALUE`.
    pub fn option(&mut self, key: &str, value: &str) -> &mut Self {
        self.args.push(CommandLineArg::Option(format!("{key}={value}")));
        self
    }

    /// Appends one value.
    pub fn push(&mut self, arg: CommandLineArg) -> &mut Self {
        self.args.push(arg);
        self
    }

    /// sesh's `--known-hosts FILE`: UserKnownHostsFile.
    pub fn known_hosts(&mut self, path: &str) -> &mut Self {
        self.option("UserKnownHostsFile", &quote(path))
    }

    /// sesh's `--accept-new`: StrictHostKeyChecking accept-new.
    pub fn accept_new(&mut self) -> &mut Self {
        self.option("StrictHostKeyChecking", "accept-new")
    }

    /// sesh's `--connect-timeout`: ConnectTimeout, in whole seconds.
    pub fn connect_timeout(&mut self, timeout: std::time::Duration) -> &mut Self {
        self.option("ConnectTimeout", &timeout.as_secs().to_string())
    }

    /// sesh's `--keepalive`: ServerAliveInterval, in whole seconds.
    pub fn keepalive(&mut self, interval: std::time::Duration) -> &mut Self {
        self.option("ServerAliveInterval", &interval.as_secs().to_string())
    }

    /// sesh's `--env NAME=VALUE` flags, all on one SetEnv line: only the
    /// first SetEnv line counts, so one line per flag would keep only one.
    pub fn set_env<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> &mut Self {
        let entries: Vec<String> = pairs
            .into_iter()
            .map(|(n, v)| quote(&format!("{n}={v}")))
            .collect();
        if entries.is_empty() {
            return self;
        }
        self.option("SetEnv", &entries.join(" "))
    }

    /// Applies every value to `so_far`; `notes` gets the `-v` lines.
    pub(super) fn apply(
        &self,
        so_far: &mut Partial,
        local: &Local,
        notes: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        for arg in &self.args {
            match arg {
                CommandLineArg::Option(text) => option_line(text, so_far, notes)?,
                CommandLineArg::User(user) => {
                    if so_far.user.is_none() {
                        so_far.user = Some(user.clone());
                    }
                }
                CommandLineArg::Port(text) => {
                    let port =
                        values::port(text).ok_or_else(|| ConfigError::plain(format!("bad port '{text}'")))?;
                    so_far.port.get_or_insert(port);
                }
                CommandLineArg::Jump(spec) => jump(spec, so_far)?,
                CommandLineArg::Identity(path) => identity(path, so_far, local, notes)?,
            }
        }
        Ok(())
    }
}

/// Quotes `text` as one argument for the line parser (`argv_split`).
pub fn quote(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// `-o`: one configuration line, always active, never Host/Match/Include.
fn option_line(text: &str, so_far: &mut Partial, notes: &mut Vec<String>) -> Result<(), ConfigError> {
    let file: Arc<str> = Arc::from("command-line");
    let Some(line) = parse::split_line(text, &file, 0)? else {
        return Ok(());
    };
    let Some(kw) = keywords::lookup(&line.keyword) else {
        return match &so_far.ignore_unknown {
            Some(list) if matching::list_matches(&line.keyword, list, true) => Ok(()),
            _ => Err(line.error(format!("bad configuration option: {}", line.keyword))),
        };
    };
    match kw {
        Kw::Host | Kw::Match | Kw::Include => Err(ConfigError::plain(format!(
            "{} directive not supported as a command-line option",
            line.keyword
        ))),
        Kw::Ignored | Kw::Obsolete => {
            notes.push(format!("command-line: ignoring option \"{}\"", line.keyword));
            Ok(())
        }
        _ => so_far.apply(kw, &line, true, true),
    }
}

/// `-J`: once only, and not after a command-line ProxyCommand.
fn jump(spec: &str, so_far: &mut Partial) -> Result<(), ConfigError> {
    if so_far.jump.is_some() {
        return Err(ConfigError::plain(
            "only a single -J option is permitted (use commas to separate multiple jump hops)",
        ));
    }
    if so_far.proxy_command.is_some() {
        return Err(ConfigError::plain("cannot specify -J with ProxyCommand"));
    }
    let parsed = JumpSpec::parse(spec)
        .and_then(|parsed| parsed.check_strict().map(|()| parsed))
        .map_err(|e| ConfigError::plain(format!("invalid -J argument {spec:?}: {e}")))?;
    so_far.set_jump(parsed, true);
    Ok(())
}

/// `-i`: `~` expanded; a file that does not exist is dropped with a warning,
/// as ssh does.
fn identity(
    path: &str,
    so_far: &mut Partial,
    local: &Local,
    notes: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let expanded = tokens::tilde(path, &local.home).map_err(ConfigError::plain)?;
    if let Err(e) = std::fs::metadata(&expanded) {
        notes.push(format!("warning: identity file {expanded} not accessible: {e}"));
        return Ok(());
    }
    options::add_path(&mut so_far.identity_files, &expanded, true).map_err(ConfigError::plain)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A quoted value comes back from the line parser as one argument,
        /// whatever it holds.
        #[test]
        fn quote_round_trips(text in "[^\\x00\\n\\r]{0,24}") {
            let line = format!("SetEnv {}", quote(&text));
            let parsed = parse::split_line(&line, &Arc::from("t"), 1).unwrap().unwrap();
            prop_assert_eq!(parsed.args, vec![text]);
        }
    }
}
