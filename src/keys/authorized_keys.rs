//! `authorized_keys` in OpenSSH's format, parsed by sesh itself: russh's
//! parser splits quoted option values at the first space
//! (`command="echo hi"`), so option syntax is ours ([`options`]) and only
//! the key itself goes to `PublicKey::from_openssh`.
//!
//! A line that cannot be read (garbage, a broken key, an unknown key type,
//! a bad or unknown option, bytes that are not UTF-8) is skipped with a
//! warning that names the line, and the rest of the file still works.
//! Skipping is failing closed: an option we cannot read might have
//! restricted the key.

mod addresses;
mod options;

use std::net::IpAddr;
use std::path::Path;

use color_eyre::eyre::WrapErr;
use russh::keys::PublicKey;

pub use addresses::{from_allows, source_address_allows};
pub use options::KeyOptions;

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
        let bytes = std::fs::read(path)
            .wrap_err_with(|| format!("could not read authorized keys {}", path.display()))?;
        Ok(Self::parse(bytes))
    }

    /// Parses the contents of a file; bad lines become warnings.
    pub fn parse(text: impl AsRef<[u8]>) -> Self {
        let mut parsed = Self::default();
        for (number, line) in super::numbered_lines(text.as_ref()) {
            let line = match line {
                Ok(line) => line.trim(),
                Err(_) => {
                    parsed
                        .warnings
                        .push(format!("line {number}: not UTF-8 text, line skipped"));
                    continue;
                }
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Ok((key, options)) => parsed.keys.push(AuthorizedKey {
                    key,
                    options,
                    line: number,
                }),
                Err(reason) => parsed
                    .warnings
                    .push(format!("line {number}: {reason}, line skipped")),
            }
        }
        parsed
    }

    /// The options of the first line that holds `key` as a plain key (not
    /// `cert-authority`) and admits `peer`.
    pub fn find(&self, key: &PublicKey, peer: IpAddr) -> Option<&KeyOptions> {
        // PublicKey's PartialEq compares comments too: compare key data.
        self.keys
            .iter()
            .filter(|k| !k.options.cert_authority && k.key.key_data() == key.key_data())
            .map(|k| &k.options)
            .find(|options| options.from.as_deref().is_none_or(|from| from_allows(from, peer)))
    }
}

impl AuthorizedKeys {
    /// The `cert-authority` lines, in file order.
    pub fn authorities(&self) -> impl Iterator<Item = &AuthorizedKey> {
        self.keys.iter().filter(|k| k.options.cert_authority)
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
        options::parse(line)?
    };
    let key = PublicKey::from_openssh(key_text).map_err(|e| format!("invalid public key: {e}"))?;
    Ok((key, options))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    /// Garbage, unknown options, broken quotes, bad base64, unknown key
    /// types and bytes that are not UTF-8 skip only their line, each with
    /// a warning naming it; CRLF endings are fine.
    #[test]
    fn bad_lines_are_skipped_with_line_numbers() {
        let mut text = format!(
            "frobnicate {KEY}\ncommand=\"open {KEY}\nssh-ed25519 AAAAnotbase64\nssh-foo AAAAC3NzaC1lZDI1NTE5\n\
             just garbage\n%%%\ncommand=\"x\"y {KEY}\n"
        )
        .into_bytes();
        text.extend_from_slice(b"command=\"\xff\" ");
        text.extend_from_slice(format!("{KEY}\n{KEY}\r\n").as_bytes());
        let parsed = AuthorizedKeys::parse(&text);
        assert_eq!(parsed.keys.len(), 1, "{:?}", parsed.warnings);
        assert_eq!(parsed.keys[0].line, 9);
        let expected = [
            "line 1: unsupported option \"frobnicate\"",
            "line 2: unterminated quote",
            "line 3: invalid public key",
            "line 4: invalid public key",
            "line 5: unsupported option \"just\"",
            "line 6: expected a key type or options",
            "line 7: unexpected 'y' after option command",
            "line 8: not UTF-8 text",
        ];
        assert_eq!(parsed.warnings.len(), expected.len(), "{:?}", parsed.warnings);
        for (warning, start) in parsed.warnings.iter().zip(expected) {
            assert!(
                warning.starts_with(start),
                "{warning:?} should start with {start:?}"
            );
            assert!(warning.ends_with(", line skipped"), "{warning}");
        }
    }

    proptest! {
        /// No bytes make the file parser panic, and every line it skips is
        /// named by a warning with a line number inside the file.
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256), text in "\\PC{0,200}") {
            for input in [&bytes[..], text.as_bytes()] {
                let parsed = AuthorizedKeys::parse(input);
                let lines = input.split(|&b| b == b'\n').count();
                for warning in &parsed.warnings {
                    let number: usize = warning["line ".len()..].split(':').next().unwrap().parse().unwrap();
                    prop_assert!((1..=lines).contains(&number), "{}", warning);
                }
            }
        }

        /// A good key after any number of bad lines is still found, with
        /// its own line number.
        #[test]
        fn good_key_survives_bad_lines(bad in prop::collection::vec("[^\n#]{1,40}", 0..6)) {
            let bad: Vec<String> = bad.into_iter().filter(|l| !l.trim().is_empty() && !l.contains(KEY)).collect();
            let text: String = bad.iter().map(|l| format!("{l}\n")).collect::<String>() + KEY;
            let parsed = AuthorizedKeys::parse(&text);
            let key = PublicKey::from_openssh(KEY).unwrap();
            prop_assert!(parsed.find(&key, "127.0.0.1".parse().unwrap()).is_some());
            prop_assert_eq!(parsed.keys.last().unwrap().line, bad.len() + 1);
        }
    }
}
