//! Token expansion as ssh does it: `%` tokens (each keyword accepts its own
//! set, an unknown one is an error), `${VAR}` from the environment where ssh
//! allows it, and `~` from the account database (never `$HOME`, as
//! `misc.c:tilde_expand` does).

use sha1::{Digest, Sha1};

/// Values for the `%` tokens of one resolution.
#[derive(Debug, Clone, Default)]
pub struct TokenValues {
    /// `%C`: hex SHA-1 of `%l%h%p%r`.
    pub hash: String,
    /// `%L`: the local host name up to its first dot.
    pub short_local_host: String,
    /// `%i`: the local uid.
    pub uid: String,
    /// `%k`: HostKeyAlias (lowercased), else the host as typed.
    pub key_alias: String,
    /// `%l`: the local host name.
    pub local_host: String,
    /// `%n`: the host as typed.
    pub original_host: String,
    /// `%p`: the port.
    pub port: String,
    /// `%d`: the local home directory.
    pub home: String,
    /// `%h`: the remote host name.
    pub host: String,
    /// `%r`: the remote user.
    pub remote_user: String,
    /// `%u`: the local user.
    pub local_user: String,
}

/// The tokens ssh's `DEFAULT_CLIENT_PERCENT_EXPAND_ARGS` offers
/// (ControlPath, IdentityAgent, UserKnownHostsFile, IdentityFile, Match exec).
pub const DEFAULT_TOKENS: &str = "CLiklnpdhru";
/// The tokens of ProxyCommand and ProxyJump (`sshconnect.c:expand_proxy_command`).
pub const PROXY_TOKENS: &str = "hnpkr";

impl TokenValues {
    /// The value of token `c`, if `c` is one of the known tokens.
    fn get(&self, c: char) -> Option<&str> {
        Some(match c {
            'C' => &self.hash,
            'L' => &self.short_local_host,
            'i' => &self.uid,
            'k' => &self.key_alias,
            'l' => &self.local_host,
            'n' => &self.original_host,
            'p' => &self.port,
            'd' => &self.home,
            'h' => &self.host,
            'r' => &self.remote_user,
            'u' => &self.local_user,
            _ => return None,
        })
    }
}

/// `%C`: the connection hash ssh computes in `ssh_connection_hash`.
pub fn connection_hash(local_host: &str, host: &str, port: &str, user: &str) -> String {
    let mut sha = Sha1::new();
    for part in [local_host, host, port, user] {
        sha.update(part.as_bytes());
    }
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Expands `%` tokens from `allowed` (a string of token letters) and, when
/// `dollar`, `${VAR}` from the environment. Errors name the problem; the
/// caller adds which keyword it was.
pub fn expand(text: &str, allowed: &str, values: &TokenValues, dollar: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if dollar && c == '$' && text[i + 1..].starts_with('{') {
            let rest = &text[i + 2..];
            let end = rest
                .find('}')
                .ok_or_else(|| format!("environment variable '{rest}' missing closing '}}'"))?;
            let name = &rest[..end];
            if name.is_empty() {
                return Err("zero-length environment variable".into());
            }
            let value = std::env::var(name).map_err(|_| format!("env var ${{{name}}} has no value"))?;
            out.push_str(&value);
            // Skip `{`, the name and `}`.
            for _ in 0..name.chars().count() + 2 {
                chars.next();
            }
            continue;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '%')) => out.push('%'),
            None => return Err("invalid format: '%' at end".into()),
            Some((_, t)) => match values.get(t).filter(|_| allowed.contains(t)) {
                Some(value) => out.push_str(value),
                None => return Err(format!("unknown key %{t}")),
            },
        }
    }
    Ok(out)
}

/// Checks that every `${VAR}` in `text` is set, as ssh does at parse time
/// for IdentityAgent.
pub fn check_dollar(text: &str) -> Result<(), String> {
    expand(&text.replace('%', "%%"), "", &TokenValues::default(), true).map(drop)
}

/// `~` and `~/...` become the local home; `~user/...` that user's home.
/// Anything else is returned unchanged.
pub fn tilde(path: &str, home: &str) -> Result<String, String> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    let (name, tail) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let dir = if name.is_empty() {
        home.to_string()
    } else {
        let user = nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .ok_or_else(|| format!("no such user {name:?} in {path:?}"))?;
        user.dir.to_string_lossy().into_owned()
    };
    // ssh joins without doubling the slash when the home is "/".
    let dir = dir.trim_end_matches('/');
    Ok(format!("{dir}{tail}"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn values() -> TokenValues {
        TokenValues {
            hash: "c0ffee".into(),
            short_local_host: "vm".into(),
            uid: "0".into(),
            key_alias: "alias".into(),
            local_host: "vm.example".into(),
            original_host: "box".into(),
            port: "2222".into(),
            home: "/root".into(),
            host: "127.0.0.1".into(),
            remote_user: "bob".into(),
            local_user: "root".into(),
        }
    }

    /// Every default token, `%%`, and the refusals ssh makes.
    #[test]
    fn tokens() {
        let v = values();
        let all = expand("%C %L %i %k %l %n %p %d %h %r %u %%", DEFAULT_TOKENS, &v, false).unwrap();
        assert_eq!(
            all,
            "c0ffee vm 0 alias vm.example box 2222 /root 127.0.0.1 bob root %"
        );
        assert_eq!(
            expand("%h:%p", PROXY_TOKENS, &v, false).unwrap(),
            "127.0.0.1:2222"
        );
        assert!(expand("%d", PROXY_TOKENS, &v, false).is_err());
        assert!(expand("%x", DEFAULT_TOKENS, &v, false).is_err());
        assert!(expand("trailing %", DEFAULT_TOKENS, &v, false).is_err());
    }

    /// `${VAR}` only where asked, and a missing variable is an error.
    #[test]
    fn dollar() {
        let v = values();
        // SAFETY-free: reading PATH, which every test environment has.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand("${PATH}", "", &v, true).unwrap(), path);
        assert_eq!(expand("${PATH}", "", &v, false).unwrap(), "${PATH}");
        assert!(expand("${SESH_SURELY_UNSET_VARIABLE}", "", &v, true).is_err());
        assert!(expand("${PATH", "", &v, true).is_err());
        assert!(check_dollar("$SSH_AUTH_SOCK").is_ok());
    }

    /// `~` from the given home, `~root` from the account database.
    #[test]
    fn tilde_forms() {
        assert_eq!(tilde("~/x", "/home/u").unwrap(), "/home/u/x");
        assert_eq!(tilde("~", "/home/u").unwrap(), "/home/u");
        assert_eq!(tilde("/abs/~", "/home/u").unwrap(), "/abs/~");
        assert_eq!(tilde("~root/k", "/home/u").unwrap(), "/root/k");
        assert!(tilde("~no-such-user-here/k", "/home/u").is_err());
    }

    /// The `%C` hash matches the value ssh -G printed for
    /// `vm` + `127.0.0.1` + `2222` + `bob`.
    #[test]
    fn connection_hash_matches_ssh() {
        assert_eq!(
            connection_hash("vm", "127.0.0.1", "2222", "bob"),
            "55f012e405a242a343774a6f3c81d94dfd69e522"
        );
    }

    proptest! {
        /// Text without `%` or `$` is left alone; escaping every `%` as `%%`
        /// gives the text back; each token is replaced by its value.
        #[test]
        fn expansion_properties(text in "[^%$]{0,20}", any in "\\PC{0,20}") {
            let v = values();
            prop_assert_eq!(expand(&text, DEFAULT_TOKENS, &v, true).unwrap(), text.clone());
            prop_assert_eq!(expand(&any.replace('%', "%%"), DEFAULT_TOKENS, &v, false).unwrap(), any.clone());
            let with = format!("{text}%h{text}");
            prop_assert_eq!(expand(&with, DEFAULT_TOKENS, &v, false).unwrap(), format!("{text}127.0.0.1{text}"));
        }
    }
}
