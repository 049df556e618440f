//! The argument checks of one line, as ssh makes them whether or not the
//! line's block applies: how many arguments, which names a keyword accepts,
//! and the rules for file lists and agent paths.

use super::ConfigError;
use super::parse::Line;
use super::tokens;

/// ssh's `SSH_MAX_HOSTS_FILES`.
const MAX_HOSTS_FILES: usize = 32;

/// The single argument of a one-value keyword.
pub fn single(line: &Line) -> Result<&str, ConfigError> {
    match line.args.as_slice() {
        [a] if !a.is_empty() => Ok(a.as_str()),
        [] | [_] => Err(line.error("missing argument")),
        _ => Err(extra(line)),
    }
}

pub fn extra(line: &Line) -> ConfigError {
    line.error(format!("keyword {} extra arguments at end of line", line.keyword))
}

/// The single argument parsed by `parse`; ssh's "unsupported option" else.
pub fn choice<T>(line: &Line, parse: fn(&str) -> Option<T>) -> Result<T, ConfigError> {
    let arg = single(line)?;
    parse(arg).ok_or_else(|| line.error(format!("unsupported option \"{arg}\"")))
}

/// CanonicalizeHostname: whether it is anything but `no`.
pub fn canonicalize(arg: &str) -> Option<bool> {
    match arg.to_ascii_lowercase().as_str() {
        "yes" | "true" | "always" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// IdentityAgent's argument, checked as ssh checks it at parse time: every
/// `${VAR}` set, and a legacy `$VAR` a valid name.
pub fn agent_path(line: &Line) -> Result<&str, ConfigError> {
    let arg = single(line)?;
    tokens::check_dollar(arg).map_err(|_| line.error(format!("invalid environment expansion {arg}")))?;
    if let Some(name) = arg.strip_prefix('$').filter(|n| !n.starts_with('{'))
        && (name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(line.error(format!("invalid environment name {arg}")));
    }
    Ok(arg)
}

/// `parse_char_array`: no empty entry, `none` only alone, at most 32.
pub fn check_file_list(line: &Line) -> Result<(), ConfigError> {
    let args = &line.args;
    if args.iter().any(String::is_empty) {
        return Err(line.error(format!("keyword {} empty argument", line.keyword)));
    }
    if args.len() > 1 && args.iter().any(|a| a.eq_ignore_ascii_case("none")) {
        return Err(line.error(format!(
            "keyword {} \"none\" argument must appear alone",
            line.keyword
        )));
    }
    if args.len() > MAX_HOSTS_FILES {
        return Err(line.error(format!("too many {} entries", line.keyword)));
    }
    Ok(())
}
