//! The options before a key in `authorized_keys`, read as OpenSSH reads
//! them: `name` or `name="value"` separated by commas, ending at the first
//! space or tab outside quotes. Inside quotes only `\"` is an escape (a
//! backslash before anything else is kept), so a value cannot end with a
//! backslash. An option sesh does not know fails the line: it might have
//! restricted the key.

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
    /// `cert-authority`: the key is a CA whose user certificates log in,
    /// and never logs in as a plain key itself.
    pub cert_authority: bool,
    /// `principals="a,b"`: with `cert-authority`, a certificate must carry
    /// one of these names (instead of the account's).
    pub principals: Option<Vec<String>>,
}

/// Parses the options at the start of `line`; returns them and the rest of
/// the line (the key and its comment).
pub fn parse(line: &str) -> Result<(KeyOptions, &str), String> {
    let mut options = KeyOptions::default();
    let mut rest = line;
    loop {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        if name_end == 0 {
            return Err("expected a key type or options".to_string());
        }
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let value = match rest.strip_prefix('=') {
            Some(quoted) => {
                let (value, after) = dequote(&name, quoted)?;
                rest = after;
                Some(value)
            }
            None => None,
        };
        apply(&mut options, &name, value)?;
        match rest.chars().next() {
            Some(',') => rest = &rest[1..],
            Some(' ' | '\t') | None => return Ok((options, rest.trim_start())),
            Some(c) => return Err(format!("unexpected {c:?} after option {name}")),
        }
    }
}

/// `"value"` at the start of `text`, unescaped, and what follows it.
fn dequote<'a>(name: &str, text: &'a str) -> Result<(String, &'a str), String> {
    let body = text
        .strip_prefix('"')
        .ok_or_else(|| format!("value of option {name} must be in double quotes"))?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &body[i + 1..])),
            '\\' if body[i + 1..].starts_with('"') => {
                chars.next();
                value.push('"');
            }
            c => value.push(c),
        }
    }
    Err(format!("unterminated quote in option {name}"))
}

fn apply(options: &mut KeyOptions, name: &str, value: Option<String>) -> Result<(), String> {
    match (name, value) {
        ("command", Some(v)) => options.command = Some(v),
        ("environment", Some(v)) => options.environment.push(environment(&v)?),
        ("from", Some(v)) => options.from = Some(v.split(',').map(str::to_string).collect()),
        ("no-pty" | "restrict", None) => options.no_pty = true,
        ("cert-authority", None) => options.cert_authority = true,
        ("principals", Some(v)) => options.principals = Some(v.split(',').map(str::to_string).collect()),
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
        ("command" | "environment" | "from" | "permitopen" | "permitlisten" | "principals", None) => {
            return Err(format!("option {name} needs a quoted value"));
        }
        (name, _) => return Err(format!("unsupported option {name:?}")),
    }
    Ok(())
}

/// `NAME=value`, with a name sshd would accept (letters, digits, `_`).
fn environment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value))
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Ok((name.to_string(), value.to_string()))
        }
        _ => Err(format!("environment option {text:?} is not NAME=value")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn options(text: &str) -> Result<KeyOptions, String> {
        parse(text).map(|(options, _)| options)
    }

    /// `cert-authority` with `principals="a,b"` is read as a CA line.
    #[test]
    fn cert_authority_and_principals() {
        let parsed = options("cert-authority,principals=\"alice,bob\"").unwrap();
        assert!(parsed.cert_authority);
        assert_eq!(
            parsed.principals,
            Some(vec!["alice".to_string(), "bob".to_string()])
        );
        assert!(
            parse("principals KEY")
                .unwrap_err()
                .contains("needs a quoted value")
        );
    }

    /// `restrict` forbids a pty unless `pty` follows it; names ignore case.
    #[test]
    fn restrict_and_pty() {
        assert!(options("restrict").unwrap().no_pty);
        assert!(!options("Restrict,PTY").unwrap().no_pty);
        assert!(options("no-pty,no-agent-forwarding").unwrap().no_pty);
    }

    /// Quoting as OpenSSH reads it: only `\"` escapes, the value ends at
    /// its closing quote, and the options end at a space or tab.
    #[test]
    fn quoting_as_openssh() {
        let (parsed, rest) = parse("command=\"a \\\"b\\\" c\\d\",no-pty\tKEY x").unwrap();
        assert_eq!(parsed.command.as_deref(), Some("a \"b\" c\\d"));
        assert_eq!(rest, "KEY x");
        // A backslash before a backslash is kept, so `\\"` is `\` + `"`.
        let (parsed, rest) = parse("command=\"a\\\\\"b\" KEY").unwrap();
        assert_eq!(parsed.command.as_deref(), Some("a\\\"b"));
        assert_eq!(rest, "KEY");
        for (bad, why) in [
            ("command=\"a\\\" KEY", "unterminated quote"),
            ("command=\"a\"b KEY", "unexpected 'b' after option command"),
            ("command=a KEY", "must be in double quotes"),
            ("command KEY", "needs a quoted value"),
            ("no-pty=\"x\" KEY", "unsupported option"),
            ("environment=\"=x\" KEY", "not NAME=value"),
            ("environment=\"A-B=x\" KEY", "not NAME=value"),
            (",no-pty KEY", "expected a key type or options"),
            ("frobnicate KEY", "unsupported option \"frobnicate\""),
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    /// Writes options as they appear in a file: `"` escaped as `\"`.
    fn format(options: &KeyOptions) -> String {
        let quote = |value: &str| format!("\"{}\"", value.replace('"', "\\\""));
        let mut parts = Vec::new();
        if let Some(command) = &options.command {
            parts.push(format!("command={}", quote(command)));
        }
        for (name, value) in &options.environment {
            parts.push(format!("environment={}", quote(&format!("{name}={value}"))));
        }
        if let Some(from) = &options.from {
            parts.push(format!("from={}", quote(&from.join(","))));
        }
        if options.no_pty {
            parts.push("no-pty".to_string());
        }
        if options.cert_authority {
            parts.push("cert-authority".to_string());
        }
        if let Some(principals) = &options.principals {
            parts.push(format!("principals={}", quote(&principals.join(","))));
        }
        parts.join(",")
    }

    /// Any value a file can hold: no newline, and no trailing backslash
    /// (it would escape the closing quote, in OpenSSH too).
    fn value() -> impl Strategy<Value = String> {
        "[^\n]{0,24}".prop_filter("ends with a backslash", |v| !v.ends_with('\\'))
    }

    /// Options whose values hold quotes, commas, spaces and backslashes.
    fn key_options() -> impl Strategy<Value = KeyOptions> {
        let env = ("[A-Za-z_][A-Za-z0-9_]{0,8}", value());
        let from = prop::collection::vec("!?[0-9a-f.:*?/]{1,12}", 1..4);
        (
            prop::option::of(value()),
            prop::collection::vec(env, 0..3),
            prop::option::of(from),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(prop::collection::vec("[a-z0-9_.@-]{1,10}", 1..4)),
        )
            .prop_filter("no options at all", |(c, e, f, p, ca, pr)| {
                c.is_some() || !e.is_empty() || f.is_some() || *p || *ca || pr.is_some()
            })
            .prop_map(
                |(command, environment, from, no_pty, cert_authority, principals)| KeyOptions {
                    command,
                    environment,
                    from,
                    no_pty,
                    cert_authority,
                    principals,
                },
            )
    }

    proptest! {
        /// Options written out parse back to the same values, the rest of
        /// the line is left alone, and a whole file line keeps its key.
        #[test]
        fn options_round_trip(options in key_options()) {
            let line = format!("{} {KEY} a comment", format(&options));
            let (parsed, rest) = parse(&line).unwrap();
            prop_assert_eq!(&parsed, &options);
            prop_assert_eq!(rest, format!("{KEY} a comment"));
            let file = super::super::AuthorizedKeys::parse(format!("# keys\n{line}\n"));
            prop_assert!(file.warnings.is_empty(), "{:?}", file.warnings);
            prop_assert_eq!(&file.keys[0].options, &options);
            prop_assert_eq!(file.keys[0].line, 2);
        }

        /// No text makes the option parser panic.
        #[test]
        fn options_never_panic(text in "\\PC{0,64}", raw in "[a-z\",=\\\\ \t!-]{0,40}") {
            let _ = parse(&text);
            let _ = parse(&raw);
        }
    }
}
