//! `authorized_keys` in OpenSSH's format, parsed by sesh itself: russh's
//! parser splits quoted option values at the first space
//! (`command="echo hi"`), so option syntax is ours and only the key itself
//! goes to `PublicKey::from_openssh`.
//!
//! A line whose options we do not understand is skipped with a warning that
//! names the line: failing closed is the only safe reading of an option
//! that might restrict the key.

use std::net::IpAddr;
use std::path::Path;

use color_eyre::eyre::WrapErr;
use russh::keys::PublicKey;

/// What the options of one key line allow and impose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// `command="..."`: the forced command run whatever the client asks.
    pub command: Option<String>,
    /// `environment="NAME=value"`, in file order.
    pub environment: Vec<(String, String)>,
    /// `from="pattern,..."`: addresses the key may log in from.
    pub from: Option<Vec<String>>,
    /// `no-pty`, or `restrict` without a later `pty`.
    pub no_pty: bool,
}

/// One usable key line.
#[derive(Debug, Clone)]
pub struct AuthorizedKey {
    pub key: PublicKey,
    pub options: KeyOptions,
    /// 1-based line number in the file.
    pub line: usize,
}

/// The usable keys of a file, and why the other lines were skipped.
#[derive(Debug, Default)]
pub struct AuthorizedKeys {
    pub keys: Vec<AuthorizedKey>,
    /// `line N: reason` for each skipped line.
    pub warnings: Vec<String>,
}

impl AuthorizedKeys {
    /// Reads and parses a file.
    pub fn read(path: &Path) -> color_eyre::Result<Self> {
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("could not read authorized keys {}", path.display()))?;
        Ok(Self::parse(&text))
    }

    /// Parses the text of a file; bad lines become warnings.
    pub fn parse(text: &str) -> Self {
        let mut parsed = Self::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Ok((key, options)) => parsed.keys.push(AuthorizedKey {
                    key,
                    options,
                    line: index + 1,
                }),
                Err(reason) => parsed.warnings.push(format!("line {}: {reason}", index + 1)),
            }
        }
        parsed
    }

    /// The options of the first line that holds `key` and admits `peer`.
    pub fn find(&self, key: &PublicKey, peer: IpAddr) -> Option<&KeyOptions> {
        // PublicKey's PartialEq compares comments too: compare key data.
        self.keys
            .iter()
            .filter(|k| k.key.key_data() == key.key_data())
            .map(|k| &k.options)
            .find(|options| options.from.as_deref().is_none_or(|from| from_allows(from, peer)))
    }
}

/// Key type names a line can start with when it has no options.
fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-") || word.starts_with("ecdsa-sha2-") || word.starts_with("sk-")
}

fn parse_line(line: &str) -> Result<(PublicKey, KeyOptions), String> {
    let first_word = line.split_whitespace().next().unwrap_or_default();
    let (options, key_text) = if is_key_type(first_word) {
        (KeyOptions::default(), line)
    } else {
        let end = options_end(line).ok_or("unterminated quote in options")?;
        (parse_options(&line[..end])?, line[end..].trim_start())
    };
    let key = PublicKey::from_openssh(key_text).map_err(|e| format!("invalid public key: {e}"))?;
    Ok((key, options))
}

/// Byte index of the first whitespace outside double quotes.
fn options_end(line: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Some(i),
            _ => {}
        }
    }
    (!quoted).then_some(line.len())
}

/// Splits `a,b="x,y",c` at commas outside quotes.
fn split_options(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The value of `name="value"`, with `\"` unescaped.
fn quoted_value(raw: &str) -> Result<String, String> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(|| format!("option value {raw} must be in double quotes"))?;
    Ok(inner.replace("\\\"", "\""))
}

fn parse_options(text: &str) -> Result<KeyOptions, String> {
    let mut options = KeyOptions::default();
    for option in split_options(text) {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name.to_ascii_lowercase(), Some(quoted_value(value)?)),
            None => (option.to_ascii_lowercase(), None),
        };
        match (name.as_str(), value) {
            ("command", Some(v)) => options.command = Some(v),
            ("environment", Some(v)) => {
                let (k, val) = v.split_once('=').ok_or("environment option needs NAME=value")?;
                options.environment.push((k.to_string(), val.to_string()));
            }
            ("from", Some(v)) => options.from = Some(v.split(',').map(str::to_string).collect()),
            ("no-pty" | "restrict", None) => options.no_pty = true,
            ("pty", None) => options.no_pty = false,
            // sesh forwards nothing, so these restrict or permit nothing here.
            (
                "no-port-forwarding"
                | "no-agent-forwarding"
                | "no-x11-forwarding"
                | "no-user-rc"
                | "port-forwarding"
                | "agent-forwarding"
                | "x11-forwarding"
                | "user-rc",
                None,
            )
            | ("permitopen" | "permitlisten", Some(_)) => {}
            _ => return Err(format!("unsupported option {option:?}, line skipped")),
        }
    }
    Ok(options)
}

/// `from=` semantics: a negated match (`!pattern`) refuses, otherwise any
/// match admits. Patterns are wildcards or CIDR blocks, matched against the
/// peer's address (sesh does no reverse DNS, like sshd's `UseDNS no`).
pub fn from_allows(patterns: &[String], peer: IpAddr) -> bool {
    let peer = canonical(peer);
    let text = peer.to_string();
    let mut admitted = false;
    for pattern in patterns {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        let hit = match pattern.split_once('/') {
            Some((net, bits)) => cidr_contains(net, bits, peer),
            None => crate::pattern::matches(pattern, &text),
        };
        if hit && negated {
            return false;
        }
        admitted |= hit;
    }
    admitted
}

/// IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) are matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn cidr_contains(net: &str, bits: &str, peer: IpAddr) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (canonical(net), peer) {
        (IpAddr::V4(n), IpAddr::V4(p)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(p) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(p)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(p) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    /// A bare key line and one with quoted option values holding spaces and
    /// commas parse, with every option read.
    #[test]
    fn parses_options_with_quotes() {
        let text = format!(
            "# comment\n\n{KEY} me@host\ncommand=\"echo \\\"hi, there\\\"\",environment=\"A=b c\",from=\"127.0.0.1,10.*\",no-pty {KEY} two words\n"
        );
        let parsed = AuthorizedKeys::parse(&text);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert_eq!(parsed.keys.len(), 2);
        assert_eq!(parsed.keys[0].options, KeyOptions::default());
        let options = &parsed.keys[1].options;
        assert_eq!(options.command.as_deref(), Some("echo \"hi, there\""));
        assert_eq!(options.environment, vec![("A".to_string(), "b c".to_string())]);
        assert_eq!(
            options.from,
            Some(vec!["127.0.0.1".to_string(), "10.*".to_string()])
        );
        assert!(options.no_pty);
        assert_eq!(parsed.keys[1].line, 4);
    }

    /// `restrict` forbids a pty unless `pty` follows it.
    #[test]
    fn restrict_and_pty() {
        let restricted = AuthorizedKeys::parse(&format!("restrict {KEY}"));
        assert!(restricted.keys[0].options.no_pty);
        let reopened = AuthorizedKeys::parse(&format!("restrict,pty {KEY}"));
        assert!(!reopened.keys[0].options.no_pty);
    }

    /// Unknown options, broken quotes and broken keys skip only their line,
    /// each with a warning naming it.
    #[test]
    fn bad_lines_are_skipped_with_line_numbers() {
        let text = format!("frobnicate {KEY}\ncommand=\"open {KEY}\nssh-ed25519 AAAAnotbase64\n{KEY}\n");
        let parsed = AuthorizedKeys::parse(&text);
        assert_eq!(parsed.keys.len(), 1);
        assert_eq!(parsed.keys[0].line, 4);
        assert_eq!(parsed.warnings.len(), 3, "{:?}", parsed.warnings);
        assert!(parsed.warnings[0].starts_with("line 1: unsupported option"));
        assert!(parsed.warnings[1].starts_with("line 2:"));
        assert!(parsed.warnings[2].starts_with("line 3:"));
    }

    /// `from=`: wildcards, CIDR, negation, IPv4-mapped peers.
    #[test]
    fn from_patterns() {
        let p = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(from_allows(&p(&["127.0.0.1"]), lo));
        assert!(from_allows(&p(&["127.*"]), lo));
        assert!(from_allows(&p(&["127.0.0.0/8"]), lo));
        assert!(!from_allows(&p(&["10.0.0.0/8"]), lo));
        assert!(!from_allows(&p(&["127.*", "!127.0.0.1"]), lo));
        assert!(from_allows(
            &p(&["127.0.0.1"]),
            "::ffff:127.0.0.1".parse().unwrap()
        ));
        assert!(from_allows(&p(&["::1/128"]), "::1".parse().unwrap()));
        assert!(!from_allows(&p(&[]), lo));
    }
}
