//! User certificates as `sesh serve` admits them, the way sshd does: the
//! CA is in the `--trusted-user-ca-keys` file (sshd's TrustedUserCAKeys;
//! the account must be a principal) or on a `cert-authority` line of
//! `authorized_keys` (a `principals="..."` name, else the account, must be
//! a principal; the line's `from=` and other options apply). Then the
//! checks of [`crate::keys::certificate`], and the critical options:
//! `source-address` is enforced, `force-command` becomes the forced
//! command, and without the `permit-pty` extension there is no pty.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use color_eyre::eyre::WrapErr;
use russh::keys::{Certificate, PublicKey};

use super::keys::{Warned, checked};
use crate::keys::authorized_keys::{AuthorizedKeys, KeyOptions, from_allows, source_address_allows};
use crate::keys::certificate::{self, Expected, Principals};
use crate::keys::strict_modes::Kind;
use crate::parsed_files::ParsedFiles;

/// The `--trusted-user-ca-keys` file: one CA public key per line, held to
/// StrictModes at every attempt, like `authorized_keys`, and parsed again
/// when it has changed ([`ParsedFiles`]).
#[derive(Debug)]
pub struct TrustedCaKeysFile {
    path: PathBuf,
    strict_uid: Option<u32>,
    parsed: ParsedFiles<CaKeys>,
    warned: Warned,
}

/// The file's usable keys and the lines it skipped.
#[derive(Debug)]
pub struct CaKeys {
    pub keys: Vec<PublicKey>,
    warnings: Vec<String>,
}

impl TrustedCaKeysFile {
    pub fn new(path: PathBuf, strict_uid: Option<u32>) -> Self {
        Self {
            path,
            strict_uid,
            parsed: ParsedFiles::new(),
            warned: Warned::default(),
        }
    }

    /// The CA keys; a line with options or a bad key is skipped with a
    /// warning (logged when the set of warnings changes).
    pub fn load(&self) -> color_eyre::Result<Arc<CaKeys>> {
        let real = checked(&self.path, Kind::TrustedCaKeys, self.strict_uid)?;
        let parsed = self.parsed.get(&real, || read(&real, &self.path))?;
        self.warned.log_changes(&self.path, &parsed.warnings);
        Ok(parsed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the CA file at `real` (`shown` in errors).
fn read(real: &Path, shown: &Path) -> color_eyre::Result<CaKeys> {
    let bytes = std::fs::read(real)
        .wrap_err_with(|| format!("could not read trusted user CA keys {}", shown.display()))?;
    let mut parsed = AuthorizedKeys::parse(bytes);
    let default = KeyOptions::default();
    for key in parsed.keys.iter().filter(|k| k.options != default) {
        parsed.warnings.push(format!(
            "line {}: options are not allowed in a trusted CA keys file, line skipped",
            key.line
        ));
    }
    Ok(CaKeys {
        keys: parsed
            .keys
            .into_iter()
            .filter(|k| k.options == default)
            .map(|k| k.key)
            .collect(),
        warnings: parsed.warnings,
    })
}

/// Where a CA that signed the certificate was found.
pub struct Source<'a> {
    /// `--trusted-user-ca-keys PATH`, or `PATH line N`.
    pub name: String,
    /// The `cert-authority` line's options (none for the CA file).
    pub options: Option<&'a KeyOptions>,
}

/// The CAs on file that signed `cert`: the CA file's first, then each
/// `cert-authority` line of `authorized_keys`, in file order.
pub fn sources<'a>(
    cert: &Certificate,
    trusted: Option<(&Path, &[PublicKey])>,
    authorized: &'a AuthorizedKeys,
    authorized_path: &Path,
) -> Vec<Source<'a>> {
    let mut found = Vec::new();
    if let Some((path, keys)) = trusted
        && keys.iter().any(|ca| certificate::signed_by(cert, ca))
    {
        found.push(Source {
            name: path.display().to_string(),
            options: None,
        });
    }
    for line in authorized
        .authorities()
        .filter(|l| certificate::signed_by(cert, &l.key))
    {
        found.push(Source {
            name: format!("{} line {}", authorized_path.display(), line.line),
            options: Some(&line.options),
        });
    }
    found
}

/// Whether `cert` may log in to `account` from `peer` through `source`:
/// the options the session gets, or the reason it may not.
pub fn admit(cert: &Certificate, source: &Source, account: &str, peer: IpAddr) -> Result<KeyOptions, String> {
    let line = source.options.cloned().unwrap_or_default();
    let principals = match &line.principals {
        Some(names) => Principals::AnyOf(names),
        None => Principals::Name(account),
    };
    certificate::check(cert, &Expected::user(principals))?;
    if let Some(from) = &line.from
        && !from_allows(from, peer)
    {
        return Err(format!(
            "{peer} is not admitted by the from= option of {}",
            source.name
        ));
    }
    let critical = cert.critical_options();
    if let Some(list) = critical.get("source-address")
        && !source_address_allows(list, peer)?
    {
        return Err(format!(
            "not from a permitted source address ({peer} is not in {list})"
        ));
    }
    let command = match (line.command.clone(), critical.get("force-command")) {
        (Some(a), Some(b)) if a != *b => {
            return Err(format!(
                "its force-command conflicts with the command= option of {}",
                source.name
            ));
        }
        (line_command, forced) => line_command.or(forced.cloned()),
    };
    Ok(KeyOptions {
        command,
        no_pty: line.no_pty || !cert.extensions().contains_key("permit-pty"),
        ..line
    })
}

#[cfg(test)]
mod tests {
    use russh::keys::PrivateKey;
    use russh::keys::ssh_key::certificate::{Builder, CertType};

    use super::*;

    /// A user certificate for `principals` with `critical` options and,
    /// when `pty`, the permit-pty extension.
    fn cert(ca: &PrivateKey, principals: &[&str], critical: &[(&str, &str)], pty: bool) -> Certificate {
        let key = crate::keys::generate_ed25519().unwrap();
        let now = certificate::now();
        let mut builder = Builder::new(
            [1u8; 16],
            key.public_key().key_data().clone(),
            now - 60,
            now + 600,
        )
        .unwrap();
        builder.cert_type(CertType::User).unwrap().key_id("t").unwrap();
        for p in principals {
            builder.valid_principal(*p).unwrap();
        }
        for (name, value) in critical {
            builder.critical_option(*name, *value).unwrap();
        }
        if pty {
            builder.extension("permit-pty", "").unwrap();
        }
        builder.sign(ca).unwrap()
    }

    fn line(text: &str) -> AuthorizedKeys {
        AuthorizedKeys::parse(text)
    }

    /// A `cert-authority` line's principals, from=, command= and no-pty
    /// combine with the certificate's options as sshd combines them.
    #[test]
    fn line_options_apply() {
        let ca = crate::keys::generate_ed25519().unwrap();
        let ca_line = ca.public_key().to_openssh().unwrap();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let path = Path::new("ak");
        let admit_with = |options: &str, cert: &Certificate| {
            let keys = line(&format!("cert-authority,{options} {ca_line}\n"));
            assert!(keys.warnings.is_empty(), "{:?}", keys.warnings);
            let found = sources(cert, None, &keys, path);
            assert_eq!(found.len(), 1);
            admit(cert, &found[0], "me", lo)
        };
        let deploy = cert(&ca, &["deploy"], &[], true);
        assert!(admit_with("principals=\"deploy\"", &deploy).is_ok_and(|o| !o.no_pty));
        let error = admit_with("principals=\"ops\"", &deploy).unwrap_err();
        assert!(error.starts_with("principal mismatch"), "{error}");
        let error = admit_with("principals=\"deploy\",from=\"10.*\"", &deploy).unwrap_err();
        assert_eq!(
            error,
            "127.0.0.1 is not admitted by the from= option of ak line 1"
        );
        let options = admit_with("principals=\"deploy\",no-pty,command=\"x\"", &deploy).unwrap();
        assert!(options.no_pty);
        assert_eq!(options.command.as_deref(), Some("x"));

        let forced = cert(&ca, &["me"], &[("force-command", "y")], false);
        let options = admit_with("pty", &forced).unwrap();
        assert!(options.no_pty, "no permit-pty extension");
        assert_eq!(options.command.as_deref(), Some("y"));
        let error = admit_with("command=\"x\"", &forced).unwrap_err();
        assert!(
            error.contains("conflicts with the command= option of ak line 1"),
            "{error}"
        );
        assert!(admit_with("command=\"y\"", &forced).is_ok());
        let error = admit_with(
            "pty",
            &cert(&ca, &["me"], &[("source-address", "nonsense")], true),
        )
        .unwrap_err();
        assert!(error.contains("is not an address or CIDR block"), "{error}");
    }

    /// The CA file comes first; a key that is no CA on file finds nothing.
    #[test]
    fn sources_in_order() {
        let ca = crate::keys::generate_ed25519().unwrap();
        let other = crate::keys::generate_ed25519().unwrap();
        let ca_line = ca.public_key().to_openssh().unwrap();
        let keys = line(&format!("{ca_line}\ncert-authority {ca_line}\n"));
        let trusted = [ca.public_key().clone()];
        let signed = cert(&ca, &["me"], &[], true);
        let found = sources(
            &signed,
            Some((Path::new("cas"), &trusted)),
            &keys,
            Path::new("ak"),
        );
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["cas", "ak line 2"]);
        assert!(
            sources(
                &cert(&other, &["me"], &[], true),
                Some((Path::new("cas"), &trusted)),
                &keys,
                Path::new("ak")
            )
            .is_empty()
        );
    }
}
