//! ProxyJump and `-J` specs: `[user@]host[:port]` or
//! `ssh://[user@]host[:port]`, comma-separated, first hop first (the one
//! dialled). Parsing follows `readconf.c:parse_jump` and
//! `misc.c:parse_user_host_port`/`parse_uri`.

/// One jump hop as written; `None` fields come from the hop's own config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// A parsed ProxyJump value, kept as ssh keeps it: the last hop (nearest
/// the target) apart, everything before it verbatim in `extra`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JumpSpec {
    /// `ProxyJump none`.
    None,
    /// One or more hops.
    Hops { extra: Option<String>, last: Hop },
}

impl JumpSpec {
    /// Parses a ProxyJump argument as `parse_jump` does (text from the
    /// first `#` on is a comment). The error is ssh's wording.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let text = spec.split('#').next().unwrap_or("").trim_end();
        if spec.eq_ignore_ascii_case("none") {
            return Ok(Self::None);
        }
        let hops = parse_hops(text)?;
        let last = hops
            .last()
            .cloned()
            .ok_or_else(|| format!("invalid ProxyJump \"{spec}\""))?;
        let extra = text.rfind(',').filter(|&i| i > 0).map(|i| text[..i].to_string());
        Ok(Self::Hops { extra, last })
    }

    /// `-J`'s extra checks (`ssh_valid_hostname`, `ssh_valid_ruser`): no
    /// shell metacharacters, nothing that could pass for an option.
    pub fn check_strict(&self) -> Result<(), String> {
        for hop in self.hops() {
            if !valid_hostname(&hop.host) {
                return Err(format!("invalid hostname \"{}\"", hop.host));
            }
            if let Some(user) = hop.user.as_deref().filter(|u| !valid_user(u)) {
                return Err(format!("invalid username \"{user}\""));
            }
        }
        Ok(())
    }

    /// All hops, first hop (the one dialled) first; empty for `none`.
    pub fn hops(&self) -> Vec<Hop> {
        match self {
            Self::None => Vec::new(),
            Self::Hops { extra, last } => {
                let mut hops = extra
                    .as_deref()
                    .map(|e| parse_hops(e).unwrap_or_default())
                    .unwrap_or_default();
                hops.push(last.clone());
                hops
            }
        }
    }

    /// The `proxyjump` value `ssh -G` prints, rebuilt from the parse.
    pub fn dump(&self) -> String {
        match self {
            Self::None => "none".into(),
            Self::Hops { extra, last } => {
                let numeric =
                    last.host.contains(':') || last.host.chars().all(|c| c.is_ascii_digit() || c == '.');
                let mut out = extra.as_ref().map(|e| format!("{e},")).unwrap_or_default();
                if let Some(user) = &last.user {
                    out.push_str(&format!("{user}@"));
                }
                if numeric {
                    out.push_str(&format!("[{}]", last.host));
                } else {
                    out.push_str(&last.host);
                }
                if let Some(port) = last.port {
                    out.push_str(&format!(":{port}"));
                }
                out
            }
        }
    }
}

fn valid_hostname(host: &str) -> bool {
    !host.starts_with('-')
        && !host
            .chars()
            .any(|c| "'`\"$\\;&<>|(){},".contains(c) || c.is_whitespace() || c.is_control())
}

fn valid_user(user: &str) -> bool {
    let chars: Vec<char> = user.chars().collect();
    // No control or shell characters, no `-` after a space, no final `\`.
    let bad = |(i, &c): (usize, &char)| {
        c.is_control() || "'`\";&<>|(){}".contains(c) || (c.is_whitespace() && chars.get(i + 1) == Some(&'-'))
    };
    !user.starts_with('-') && !user.ends_with('\\') && !chars.iter().enumerate().any(bad)
}

/// Parses a comma-separated list of hops, first hop first.
pub fn parse_hops(text: &str) -> Result<Vec<Hop>, String> {
    text.split(',')
        .map(|hop| parse_hop(hop).ok_or_else(|| format!("invalid ProxyJump \"{text}\"")))
        .collect()
}

/// One `[user@]host[:port]` or `ssh://[user@]host[:port]`.
pub fn parse_hop(text: &str) -> Option<Hop> {
    if let Some(uri) = text.strip_prefix("ssh://") {
        let (user, rest) = match uri.split_once('@') {
            Some((info, rest)) => {
                let user = info.split(';').next().unwrap_or("");
                (Some(user.to_string()).filter(|u| !u.is_empty())?, rest)
            }
            None => (String::new(), uri),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return None; // a path is not allowed
        }
        let hop = host_port(rest)?;
        return Some(Hop {
            user: Some(user).filter(|u| !u.is_empty()),
            ..hop
        });
    }
    let (user, rest) = match text.rsplit_once('@') {
        Some(("", _)) => return None,
        Some((user, rest)) => (Some(user.to_string()), rest),
        None => (None, text),
    };
    Some(Hop {
        user,
        ..host_port(rest)?
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` (`misc.c:hpdelim`).
fn host_port(text: &str) -> Option<Hop> {
    let (host, port) = if let Some(inner) = text.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match text.split_once([':', '/']) {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(super::values::port(p)?),
    };
    Some(Hop {
        user: None,
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hop(user: Option<&str>, host: &str, port: Option<u16>) -> Hop {
        Hop {
            user: user.map(str::to_string),
            host: host.into(),
            port,
        }
    }

    /// The forms of the field guide's chain, and what ssh -G prints for it.
    #[test]
    fn chain() {
        let spec = JumpSpec::parse("alice@jump1:2201,ssh://bob@jump2:2202,jump3 # c").unwrap();
        assert_eq!(
            spec.hops(),
            [
                hop(Some("alice"), "jump1", Some(2201)),
                hop(Some("bob"), "jump2", Some(2202)),
                hop(None, "jump3", None)
            ]
        );
        assert_eq!(spec.dump(), "alice@jump1:2201,ssh://bob@jump2:2202,jump3");
        assert_eq!(JumpSpec::parse("u@10.0.0.1:2").unwrap().dump(), "u@[10.0.0.1]:2");
        assert_eq!(
            JumpSpec::parse("[::1]:22").unwrap().hops(),
            [hop(None, "::1", Some(22))]
        );
        assert_eq!(JumpSpec::parse("NONE").unwrap(), JumpSpec::None);
        assert!(JumpSpec::parse("@host").is_err());
        assert!(JumpSpec::parse("host:0").is_err());
        assert!(JumpSpec::parse("a,,b").is_err());
        assert!(JumpSpec::parse("ssh://h/path").is_err());
        assert!(JumpSpec::parse("-x").unwrap().check_strict().is_err());
        assert!(JumpSpec::parse("a;b").unwrap().check_strict().is_err());
        assert!(JumpSpec::parse("u$er@h,j2").unwrap().check_strict().is_ok());
    }

    proptest! {
        /// A hop built from parts parses back to those parts.
        #[test]
        fn hop_round_trip(user in proptest::option::of("[a-z][a-z0-9_.-]{0,8}"), host in "[a-z][a-z0-9.-]{0,12}", port in proptest::option::of(1u16..)) {
            let mut text = user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
            text.push_str(&host);
            if let Some(p) = port {
                text.push_str(&format!(":{p}"));
            }
            prop_assert_eq!(parse_hop(&text), Some(hop(user.as_deref(), &host, port)));
            let uri = format!("ssh://{text}");
            prop_assert_eq!(parse_hop(&uri), Some(hop(user.as_deref(), &host, port)));
        }
    }
}
