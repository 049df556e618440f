//! Where `sesh exec` connects: `[user@]host[:port]` or
//! `ssh://[user@]host[:port]`, with `[v6-address]` brackets, port 22 and
//! the local user by default.

use std::fmt;

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `text`; `default_user` fills in a missing user.
    pub fn parse(text: &str, default_user: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("invalid target {text:?}: {why}");
        let rest = text.strip_prefix("ssh://").unwrap_or(text);
        let rest = if text.starts_with("ssh://") {
            rest.strip_suffix('/').unwrap_or(rest)
        } else {
            rest
        };
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) if !user.is_empty() => (user.to_string(), hostport),
            Some(_) => return Err(bad("empty user name")),
            None => (default_user.to_string(), rest),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| bad("expected :PORT after ']'"))?,
                    ),
                ),
            }
        } else if hostport.matches(':').count() > 1 {
            // A bare IPv6 address: no port can follow without brackets.
            (hostport, None)
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(bad("expected [user@]host[:port]"));
        }
        let port = match port {
            None => 22,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(bad(&format!("bad port {port:?}"))),
            },
        };
        Ok(Self {
            user,
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 22 {
            write!(f, "{}@{host}", self.user)
        } else {
            write!(f, "{}@{host}:{}", self.user, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: &str, host: &str, port: u16) -> Target {
        Target {
            user: user.into(),
            host: host.into(),
            port,
        }
    }

    /// Every accepted form, with defaults filled in.
    #[test]
    fn parses_forms() {
        assert_eq!(Target::parse("host", "me").unwrap(), t("me", "host", 22));
        assert_eq!(
            Target::parse("bob@host:2222", "me").unwrap(),
            t("bob", "host", 2222)
        );
        assert_eq!(
            Target::parse("ssh://bob@host:2222", "me").unwrap(),
            t("bob", "host", 2222)
        );
        assert_eq!(Target::parse("ssh://host/", "me").unwrap(), t("me", "host", 22));
        assert_eq!(Target::parse("[::1]:2200", "me").unwrap(), t("me", "::1", 2200));
        assert_eq!(Target::parse("::1", "me").unwrap(), t("me", "::1", 22));
        assert_eq!(Target::parse("a@b@host", "me").unwrap(), t("a@b", "host", 22));
        assert_eq!(t("me", "::1", 2200).to_string(), "me@[::1]:2200");
    }

    /// Bad ports, empty parts and brackets that do not close are refused.
    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "@host",
            "host:",
            "host:0",
            "host:99999",
            "host:x",
            "[::1",
            "[::1]x",
            "a b",
            "user@",
        ] {
            assert!(Target::parse(bad, "me").is_err(), "{bad:?}");
        }
    }
}
