//! Which blocks apply: `Host` pattern lines (whitespace-separated,
//! case-sensitive, a matching `!pattern` kills the line) and `Match` lines
//! (`readconf.c:match_cfg_line`: criteria ANDed, evaluated in place against
//! the HostName and User obtained so far; `exec` runs the user's shell).

use std::process::{Command, Stdio};

use super::ConfigError;
use super::options::Partial;
use super::parse::{self, Line};
use super::tokens::{self, TokenValues};
use crate::pattern;

/// What Match criteria are tested against, besides the options so far.
#[derive(Debug, Clone)]
pub struct Local {
    pub user: String,
    pub home: String,
    pub uid: u32,
    pub hostname: String,
    /// `$SHELL` (non-empty), else `/bin/sh`: what `Match exec` runs.
    pub shell: String,
}

/// One pass over the files.
#[derive(Debug, Clone, Copy)]
pub struct Pass<'a> {
    /// The name `Host` lines test: the label as typed, or in the final pass
    /// the final host name.
    pub host: &'a str,
    /// The label as typed.
    pub original: &'a str,
    pub final_pass: bool,
}

/// Whether a `Host` line's patterns admit `name`.
pub fn host_line(patterns: &[String], name: &str) -> bool {
    let mut admitted = false;
    for pat in patterns {
        match pat.strip_prefix('!') {
            Some(neg) if pattern::matches(neg, name) => return false,
            Some(_) => {}
            None => admitted |= pattern::matches(pat, name),
        }
    }
    admitted
}

/// `match.c:match_pattern_list`: comma-separated patterns; a matching
/// `!pattern` refuses, else any match admits. `lower` lowercases the
/// patterns (and the caller the text), as `match_hostname` does. (The same
/// rule as the planned `pattern::list_matches`; kept here until it lands.)
pub fn list_matches(text: &str, list: &str, lower: bool) -> bool {
    let mut admitted = false;
    for item in list.split(',') {
        let item = if lower {
            item.to_ascii_lowercase()
        } else {
            item.to_string()
        };
        match item.strip_prefix('!') {
            Some(neg) if pattern::matches(neg, text) => return false,
            Some(_) => {}
            None => admitted |= pattern::matches(&item, text),
        }
    }
    admitted
}

/// What one Match line is evaluated against.
struct Subject<'a> {
    /// The host name so far (`Match host`).
    host: String,
    /// The User so far, else the local user (`Match user`).
    user: String,
    so_far: &'a Partial,
    pass: Pass<'a>,
    local: &'a Local,
}

/// Evaluates a `Match` line. Sets `want_final` when it names `final`.
pub fn match_line(
    line: &Line,
    so_far: &Partial,
    pass: Pass<'_>,
    local: &Local,
    want_final: &mut bool,
) -> Result<bool, ConfigError> {
    let subject = Subject {
        host: current_host(so_far, pass).map_err(|m| line.error(m))?,
        user: so_far.user.clone().unwrap_or_else(|| local.user.clone()),
        so_far,
        pass,
        local,
    };
    let mut rest = line.rest.as_str();
    let (mut result, mut attributes) = (true, 0);
    while let Some(word) = parse::strdelim(&mut rest) {
        let word = word.map_err(|_| line.error("invalid quotes"))?;
        if word.is_empty() || word.starts_with('#') {
            break;
        }
        let (negate, attr) = match word.strip_prefix('!') {
            Some(a) => (true, a.to_ascii_lowercase()),
            None => (false, word.to_ascii_lowercase()),
        };
        if attr == "all" {
            let next = parse::strdelim(&mut rest).and_then(Result::ok);
            if attributes > 1 || next.is_some_and(|n| !n.is_empty() && !n.starts_with('#')) {
                return Err(line.error(format!("'{word}' cannot be combined with other Match attributes")));
            }
            return Ok(result && !negate);
        }
        attributes += 1;
        if attr == "canonical" || attr == "final" {
            *want_final |= attr == "final";
            result &= pass.final_pass != negate;
            continue;
        }
        let arg = match parse::strdelim(&mut rest) {
            Some(Ok(a)) if !a.is_empty() && !a.starts_with('#') => a,
            _ => return Err(line.error(format!("missing Match criteria for {attr}"))),
        };
        // ssh skips exec once the line has failed.
        if attr != "exec" || result {
            result &= subject.test(line, &attr, &arg)? != negate;
        }
    }
    if attributes == 0 {
        return Err(line.error("one or more attributes required for Match"));
    }
    Ok(result)
}

impl Subject<'_> {
    /// One criterion with its argument.
    fn test(&self, line: &Line, attr: &str, arg: &str) -> Result<bool, ConfigError> {
        Ok(match attr {
            "host" => list_matches(&self.host.to_ascii_lowercase(), arg, true),
            "originalhost" => list_matches(&self.pass.original.to_ascii_lowercase(), arg, true),
            "user" => list_matches(&self.user, arg, false),
            "localuser" => list_matches(&self.local.user, arg, false),
            "exec" => self.exec(line, arg)?,
            _ => return Err(line.error(format!("unsupported Match attribute {attr}"))),
        })
    }
}
/// The host Match tests: in the final pass the final name, else HostName so
/// far with `%h` expanded, else the label.
fn current_host(so_far: &Partial, pass: Pass<'_>) -> Result<String, String> {
    match (&so_far.hostname, pass.final_pass) {
        (Some(h), true) => Ok(h.clone()),
        (Some(h), false) => expand_hostname(h, pass.host),
        (None, _) => Ok(pass.host.to_string()),
    }
}

/// HostName's own expansion: `%h` (the label) and `%%` only.
pub fn expand_hostname(hostname: &str, label: &str) -> Result<String, String> {
    let values = TokenValues {
        host: label.to_string(),
        ..TokenValues::default()
    };
    tokens::expand(hostname, "h", &values, false).map_err(|e| format!("hostname {hostname:?}: {e}"))
}

impl Subject<'_> {
    /// `Match exec`: tokens expanded, run by the shell with stdin and
    /// stdout on /dev/null; true on exit 0; killed by a signal is an error.
    fn exec(&self, line: &Line, command: &str) -> Result<bool, ConfigError> {
        let (local, host, user) = (self.local, self.host.as_str(), self.user.as_str());
        let port = self.so_far.port.unwrap_or(22).to_string();
        let values = TokenValues {
            hash: tokens::connection_hash(&local.hostname, host, &port, user),
            short_local_host: local.hostname.split('.').next().unwrap_or("").to_string(),
            uid: local.uid.to_string(),
            key_alias: self
                .so_far
                .host_key_alias
                .clone()
                .unwrap_or_else(|| host.to_string()),
            local_host: local.hostname.clone(),
            original_host: self.pass.original.to_string(),
            port,
            home: local.home.clone(),
            host: host.to_string(),
            remote_user: user.to_string(),
            local_user: local.user.clone(),
        };
        let command = tokens::expand(command, tokens::DEFAULT_TOKENS, &values, false)
            .map_err(|e| line.error(format!("match exec {command:?}: {e}")))?;
        tracing::debug!(%command, "ssh_config: Match exec");
        let status = Command::new(&local.shell)
            .arg("-c")
            .arg(&command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| line.error(format!("match exec could not run shell {}: {e}", local.shell)))?;
        match status.code() {
            Some(code) => Ok(code == 0),
            None => Err(line.error(format!("match exec '{command}' error"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pats(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    /// Case-sensitive, negation kills the line, negations alone never match,
    /// a comma is part of a pattern.
    #[test]
    fn host_lines() {
        assert!(host_line(&pats("web*"), "web1"));
        assert!(!host_line(&pats("web*"), "WEB1"));
        assert!(!host_line(&pats("* !web1"), "web1"));
        assert!(!host_line(&pats("!web1"), "other"));
        assert!(!host_line(&pats("web1,web2"), "web1"));
        assert!(host_line(&pats("a b ?"), "x"));
    }

    /// Comma lists with negation, and the lowercasing of Match host.
    #[test]
    fn pattern_lists() {
        assert!(list_matches("web1", "db*,web*", false));
        assert!(!list_matches("web1", "*,!web1", false));
        assert!(!list_matches("web1", "!db", false));
        assert!(list_matches("web1", "WEB*", true));
        assert!(!list_matches("Web1", "web*", false));
    }

    proptest! {
        /// A list admits exactly when some positive item matches and no
        /// negated item does; one pattern on a Host line is the same as a
        /// one-item list.
        #[test]
        fn list_rule(items in proptest::collection::vec(("!?", "[ab*?]{0,3}"), 1..4), text in "[ab]{0,3}") {
            let list: Vec<String> = items.iter().map(|(neg, p)| format!("{neg}{p}")).collect();
            let positive = items.iter().any(|(neg, p)| neg.is_empty() && pattern::matches(p, &text));
            let refused = items.iter().any(|(neg, p)| !neg.is_empty() && pattern::matches(p, &text));
            prop_assert_eq!(list_matches(&text, &list.join(","), false), positive && !refused);
            prop_assert_eq!(host_line(&list, &text), positive && !refused);
        }
    }
}
