//! Reading configuration files as `readconf.c` does: lines split into a
//! keyword (one `=` allowed) and arguments (`argv_split`: quotes, escapes, a
//! token starting with `#` ends the line), and `Include` resolved into the
//! files it names (sorted globs, relative paths under `~/.ssh` for user files
//! and `/etc/ssh` for the system file, depth capped at 16). Files are read
//! once; evaluation (mod.rs) walks the tree for each label.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ConfigError;
use super::glob;

/// ssh's `READCONF_MAX_DEPTH`.
const MAX_DEPTH: usize = 16;

/// One non-empty line: where it is, its keyword, and its arguments.
#[derive(Debug, Clone)]
pub struct Line {
    pub file: Arc<str>,
    pub number: usize,
    /// Lowercased.
    pub keyword: String,
    /// The arguments as `argv_split` cuts them.
    pub args: Vec<String>,
    /// The rest of the line after the keyword, unsplit (ProxyCommand,
    /// ProxyJump and Match read this).
    pub rest: String,
}

/// A line, or the files an `Include` line named (in glob order).
#[derive(Debug, Clone)]
pub enum Entry {
    Line(Line),
    Include(Vec<ConfigFile>),
    /// A line ssh refuses whatever the state: reported when reached.
    Bad(ConfigError),
}

/// One file's entries.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

/// Whether a file is a user file (`-F`, `~/.ssh/config`, and what they
/// include) or the system one: it decides where a relative Include points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    User,
    System,
}

/// Where Include paths are anchored.
#[derive(Debug, Clone)]
pub struct IncludeRoots {
    /// `$HOME`: glob(3) expands `~` from it, and relative user includes
    /// live in `$HOME/.ssh`.
    pub env_home: PathBuf,
    /// The system directory, `/etc/ssh`.
    pub system_dir: PathBuf,
}

/// Reads `path`; `Ok(None)` if it does not exist. `check_perm` is ssh's
/// SSHCONF_CHECKPERM (`~/.ssh/config` and every included file).
pub fn read_file(
    path: &Path,
    origin: Origin,
    roots: &IncludeRoots,
    depth: usize,
    check_perm: bool,
) -> Result<Option<ConfigFile>, ConfigError> {
    if check_perm {
        check_permissions(path)?;
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::plain(format!(
                "can't open config file {}: {e}",
                path.display()
            )));
        }
    };
    let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        // A bad line is kept as an error where it stands: ssh reports it
        // when it reaches it, after the lines before it (an earlier bad
        // keyword is the error it names first).
        let entry = match split_line(raw, &name, index + 1) {
            Ok(None) => continue,
            Ok(Some(line)) if line.keyword == "include" => match include(&line, origin, roots, depth) {
                Ok(files) => Entry::Include(files),
                Err(e) => Entry::Bad(e),
            },
            Ok(Some(line)) => Entry::Line(line),
            Err(e) => Entry::Bad(e),
        };
        entries.push(entry);
    }
    Ok(Some(ConfigFile {
        path: path.to_path_buf(),
        entries,
    }))
}

/// Reads the files one Include line names.
fn include(
    line: &Line,
    origin: Origin,
    roots: &IncludeRoots,
    depth: usize,
) -> Result<Vec<ConfigFile>, ConfigError> {
    if depth + 1 > MAX_DEPTH {
        return Err(line.error("too many recursive configuration includes"));
    }
    let mut files = Vec::new();
    for arg in &line.args {
        if arg.is_empty() {
            return Err(line.error("keyword include empty argument"));
        }
        if arg.starts_with('~') && origin == Origin::System {
            return Err(line.error(format!("bad include path {arg}")));
        }
        let anchored = if arg.starts_with('/') || arg.starts_with('~') {
            arg.clone()
        } else if origin == Origin::User {
            format!("~/.ssh/{arg}")
        } else {
            format!("{}/{arg}", roots.system_dir.display())
        };
        let pattern = tilde_from_env(&anchored, &roots.env_home);
        for path in glob::expand(&pattern) {
            if let Some(file) = read_file(&path, origin, roots, depth + 1, true)? {
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// The owner must be root or the user, and nobody else may write it.
fn check_permissions(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // a missing file is reported (or skipped) by the caller
    };
    let uid = nix::unistd::getuid().as_raw();
    if (meta.uid() != 0 && meta.uid() != uid) || meta.mode() & 0o022 != 0 {
        return Err(ConfigError::plain(format!(
            "bad owner or permissions on {}",
            path.display()
        )));
    }
    Ok(())
}

/// glob(3)'s GLOB_TILDE: `~` from `$HOME`, `~user` from the account database.
fn tilde_from_env(path: &str, env_home: &Path) -> String {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", env_home.display()),
        Some(_) => super::tokens::tilde(path, "").unwrap_or_else(|_| path.to_string()),
        None => path.to_string(),
    }
}

/// Splits one line; `Ok(None)` for blank lines and comments. The error
/// cases are ssh's: a keyword without argument, unbalanced quotes.
pub fn split_line(raw: &str, file: &Arc<str>, number: usize) -> Result<Option<Line>, ConfigError> {
    let trimmed = raw.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
    let start = trimmed.trim_start_matches([' ', '\t', '\r', '\n']);
    let end = start
        .find([' ', '\t', '\r', '\n', '"', '='])
        .unwrap_or(start.len());
    let keyword = start[..end].to_ascii_lowercase();
    if keyword.is_empty() || keyword.starts_with('#') {
        return Ok(None);
    }
    let mut rest = &start[end..];
    // strdelim: skip whitespace and at most one '='.
    rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    if let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start_matches([' ', '\t', '\r', '\n']);
    }
    let line = Line {
        file: file.clone(),
        number,
        keyword,
        args: Vec::new(),
        rest: rest.to_string(),
    };
    if rest.is_empty() {
        return Err(line.error(format!("no argument after keyword \"{}\"", line.keyword)));
    }
    let args = argv_split(rest).ok_or_else(|| line.error("invalid quotes"))?;
    Ok(Some(Line { args, ..line }))
}

/// `misc.c:argv_split` with `terminate_on_comment`: `None` on an unbalanced
/// quote.
pub fn argv_split(s: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        if chars[i] == '#' {
            break;
        }
        let mut quote = None;
        let mut arg = String::new();
        while i < chars.len() {
            let c = chars[i];
            match (c, quote) {
                ('\\', _)
                    if matches!(chars.get(i + 1), Some('\'' | '"' | '\\'))
                        || (quote.is_none() && chars.get(i + 1) == Some(&' ')) =>
                {
                    i += 1;
                    arg.push(chars[i]);
                }
                (' ' | '\t', None) => break,
                ('"' | '\'', None) => quote = Some(c),
                (_, Some(q)) if c == q => quote = None,
                _ => arg.push(c),
            }
            i += 1;
        }
        if quote.is_some() {
            return None;
        }
        args.push(arg);
    }
    Some(args)
}

/// `misc.c:strdelim` (no `=` splitting): the next word of `s`, where `"…"`
/// groups; `None` at the end, `Some(Err)` on an unbalanced quote. Match
/// lines are read with it.
pub fn strdelim(s: &mut &str) -> Option<Result<String, ()>> {
    if s.is_empty() {
        return None;
    }
    let text = *s;
    let Some(cut) = text.find([' ', '\t', '\r', '\n', '"']) else {
        *s = "";
        return Some(Ok(text.to_string()));
    };
    let mut word = text[..cut].to_string();
    let after = if text[cut..].starts_with('"') {
        let quoted = &text[cut + 1..];
        let Some(close) = quoted.find('"') else {
            return Some(Err(()));
        };
        word.push_str(&quoted[..close]);
        &quoted[close + 1..]
    } else {
        &text[cut + 1..]
    };
    *s = after.trim_start_matches([' ', '\t', '\r', '\n']);
    Some(Ok(word))
}

impl Line {
    /// An error on this line: `FILE line N: message`.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(&self.file, self.number, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(raw: &str) -> Line {
        split_line(raw, &Arc::from("f"), 1).unwrap().unwrap()
    }

    /// The keyword forms ssh accepts, and its comment and quoting rules.
    #[test]
    fn line_grammar() {
        let l = split("  HOST=web1");
        assert_eq!(
            (l.keyword.as_str(), l.args.clone()),
            ("host", vec!["web1".to_string()])
        );
        assert_eq!(split("Port = 22").args, ["22"]);
        assert_eq!(split("User alice#x # comment").args, ["alice#x"]);
        assert_eq!(
            split("SetEnv A=\"x y\" 'b c' d\\ e").args,
            ["A=x y", "b c", "d e"]
        );
        assert_eq!(
            split("ProxyCommand ssh -W %h:%p j # c").rest,
            "ssh -W %h:%p j # c"
        );
        assert!(split_line("# comment", &Arc::from("f"), 1).unwrap().is_none());
        assert!(split_line("   ", &Arc::from("f"), 1).unwrap().is_none());
        let err = split_line("User", &Arc::from("f"), 3).unwrap_err();
        assert_eq!(err.to_string(), "f line 3: no argument after keyword \"user\"");
        assert!(split_line("User \"open", &Arc::from("f"), 1).is_err());
    }

    /// strdelim groups double quotes only and reports an open one.
    #[test]
    fn strdelim_words() {
        let mut s = "exec \"test -f x\"  host a";
        let words: Vec<_> = std::iter::from_fn(|| strdelim(&mut s)).collect();
        assert_eq!(
            words,
            [
                Ok("exec".into()),
                Ok("test -f x".into()),
                Ok("host".into()),
                Ok("a".into())
            ]
        );
        let mut open = "exec \"x";
        assert_eq!(strdelim(&mut open), Some(Ok("exec".into())));
        assert_eq!(strdelim(&mut open), Some(Err(())));
    }
}
