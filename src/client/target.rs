//! Where `sesh exec` connects: `[user@]host[:port]` or
//! `ssh://[user@]host[:port]`, with `[v6-address]` brackets, port 22 and
//! the local user by default.

use std::fmt;

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
}

/// A target as typed: the user and port only when given (ssh_config's
/// lookup fills in the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    /// Parses `text`; `default_user` fills in a missing user.
    pub fn parse(text: &str, default_user: &str) -> Result<Self, String> {
        let parts = Self::parts(text)?;
        Ok(Self {
            user: parts.user.unwrap_or_else(|| default_user.to_string()),
            host: parts.host,
            port: parts.port.unwrap_or(22),
        })
    }

    /// Splits `text` into what it gives: user, host, port.
    pub fn parts(text: &str) -> Result<Parts, String> {
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
            None => (String::new(), rest),
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
        // Brackets only ever delimit an IPv6 address: a host holding one
        // (`[[a]`, `:]:`) would print as a target that does not parse back.
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "/[]".contains(c))
        {
            return Err(bad("expected [user@]host[:port]"));
        }
        // No login name has these; `ssh://a@h` as a user would print as
        // a URL and parse back as another user.
        if user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(bad("bad user name"));
        }
        let port = match port {
            None => None,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => return Err(bad(&format!("bad port {port:?}"))),
            },
        };
        Ok(Parts {
            user: Some(user).filter(|u| !u.is_empty()),
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
    use proptest::prelude::*;

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
            ":]:",
            "[[a]",
            "a b@host",
            "ssh://ssh://a@host",
        ] {
            assert!(Target::parse(bad, "me").is_err(), "{bad:?}");
        }
    }

    /// Hosts as they come: DNS names, IPv4 and IPv6 addresses.
    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
            any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
            any::<std::net::Ipv6Addr>().prop_map(|ip| ip.to_string()),
        ]
    }

    proptest! {
        /// A target written as `user@host:port`, `ssh://user@host:port`
        /// or a bare host parses to its parts (IPv6 in brackets).
        #[test]
        fn generated_targets_parse(user in "[a-z_][a-z0-9_.-]{0,12}", host in host(), port in 1..=u16::MAX) {
            let shown = if host.contains(':') { format!("[{host}]") } else { host.clone() };
            let expected = t(&user, &host, port);
            prop_assert_eq!(Target::parse(&format!("{user}@{shown}:{port}"), "me"), Ok(expected.clone()));
            prop_assert_eq!(Target::parse(&format!("ssh://{user}@{shown}:{port}/"), "me"), Ok(expected));
            prop_assert_eq!(Target::parse(&host, "me"), Ok(t("me", &host, 22)));
        }

        /// Whatever parses, written back out, parses to the same target;
        /// nothing panics.
        #[test]
        fn display_round_trips(
            any_text in "\\PC{0,30}",
            tricky in "(ssh://)?[a-z@:\\[\\]/ ]{0,14}",
        ) {
            for text in [any_text, tricky] {
                if let Ok(target) = Target::parse(&text, "me") {
                    prop_assert_eq!(Target::parse(&target.to_string(), "me"), Ok(target.clone()), "from {:?}", text);
                }
            }
        }
    }
}
