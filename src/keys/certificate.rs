//! OpenSSH certificates, checked the same way by both sides: `sesh serve`
//! for user certificates and `sesh exec` for host certificates. Which CA is
//! trusted is the caller's business (a TrustedUserCAKeys file, a
//! `cert-authority` line, an `@cert-authority` line); this module checks
//! everything else OpenSSH checks (`sshkey_cert_check_authority`): the CA's
//! signature, the certificate type, the validity window, the principals and
//! the critical options. Each refusal is one line that names the reason.

use std::time::{SystemTime, UNIX_EPOCH};

use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Algorithm, Certificate, HashAlg, PublicKey};

/// The critical options sesh enforces on user certificates; any other one
/// refuses the certificate, as sshd refuses what it does not understand.
pub const USER_CRITICAL_OPTIONS: &[&str] = &["force-command", "source-address"];

/// Which principals a certificate must carry.
#[derive(Debug, Clone, Copy)]
pub enum Principals<'a> {
    /// This exact name (the account, or the host name a client used).
    Name(&'a str),
    /// One of these exact names (a `cert-authority` line's `principals=`).
    AnyOf(&'a [String]),
}

/// What a certificate must be for the use at hand.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub kind: CertType,
    pub principals: Principals<'a>,
    /// Seconds since the epoch.
    pub now: u64,
}

impl Expected<'_> {
    /// A user certificate for `principals`, now.
    pub fn user(principals: Principals<'_>) -> Expected<'_> {
        Expected {
            kind: CertType::User,
            principals,
            now: now(),
        }
    }

    /// A host certificate for the host name `host`, now.
    pub fn host(host: &str) -> Expected<'_> {
        Expected {
            kind: CertType::Host,
            principals: Principals::Name(host),
            now: now(),
        }
    }
}

/// Seconds since the epoch (0 for a clock before it).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks all but CA trust; `Err` is the reason, one line.
pub fn check(cert: &Certificate, expected: &Expected) -> Result<(), String> {
    if cert.verify_signature().is_err() {
        return Err("its CA signature does not verify".to_string());
    }
    if cert.signature().algorithm() == (Algorithm::Rsa { hash: None }) {
        // OpenSSH's CASignatureAlgorithms has refused SHA-1 since 8.2.
        return Err("its CA signed it with ssh-rsa (SHA-1), which is no longer accepted".to_string());
    }
    if cert.cert_type() != expected.kind {
        return Err(match expected.kind {
            CertType::Host => "it is a user certificate, not a host certificate".to_string(),
            CertType::User => "it is a host certificate, not a user certificate".to_string(),
        });
    }
    check_validity(cert.valid_after(), cert.valid_before(), expected.now)?;
    principals_ok(cert.valid_principals(), expected.kind, expected.principals)?;
    let allowed: &[&str] = match expected.kind {
        CertType::User => USER_CRITICAL_OPTIONS,
        // No critical option is defined for host certificates.
        CertType::Host => &[],
    };
    match cert
        .critical_options()
        .keys()
        .find(|name| !allowed.contains(&name.as_str()))
    {
        Some(unknown) => Err(format!("unsupported critical option {unknown}")),
        None => Ok(()),
    }
}

/// Whether `cert` is inside its validity window now; `Err` says how not.
pub fn validity_now(cert: &Certificate) -> Result<(), String> {
    check_validity(cert.valid_after(), cert.valid_before(), now())
}

/// `valid_after <= now < valid_before`, as PROTOCOL.certkeys says.
fn check_validity(after: u64, before: u64, now: u64) -> Result<(), String> {
    if now < after {
        return Err(format!("not valid before {}", utc(after)));
    }
    if now >= before {
        return Err(format!("expired at {}", utc(before)));
    }
    Ok(())
}

/// The principal rules of OpenSSH: exact names, never patterns. A host
/// certificate with no principals is valid for every host (OpenSSH 9.2
/// accepts it); a user certificate with none is refused, stricter than an
/// sshd `cert-authority` line, because a certificate for everyone is
/// rarely what its CA meant.
pub fn principals_ok(listed: &[String], kind: CertType, wanted: Principals) -> Result<(), String> {
    if listed.is_empty() {
        return match kind {
            CertType::Host => Ok(()),
            CertType::User => Err("it lists no principals".to_string()),
        };
    }
    match wanted {
        Principals::Name(name) if listed.iter().any(|p| p == name) => Ok(()),
        Principals::Name(name) => Err(format!(
            "principal mismatch: {name} is not among its principals ({})",
            listed.join(",")
        )),
        Principals::AnyOf(names) if listed.iter().any(|p| names.contains(p)) => Ok(()),
        Principals::AnyOf(names) => Err(format!(
            "principal mismatch: none of its principals ({}) is in principals=\"{}\"",
            listed.join(","),
            names.join(",")
        )),
    }
}

/// The CA's `SHA256:...` fingerprint.
pub fn ca_fingerprint(cert: &Certificate) -> String {
    cert.signature_key().fingerprint(HashAlg::Sha256).to_string()
}

/// Whether `ca` signed the certificate (same key data; comments aside).
pub fn signed_by(cert: &Certificate, ca: &PublicKey) -> bool {
    cert.signature_key() == ca.key_data()
}

/// The certificate's own key, as a plain public key.
pub fn inner_key(cert: &Certificate) -> PublicKey {
    PublicKey::new(cert.public_key().clone(), "")
}

/// `ID "alice@ci" serial 7 CA SHA256:...`: how logs and errors name it.
pub fn describe(cert: &Certificate) -> String {
    format!(
        "ID {:?} serial {} CA {}",
        cert.key_id(),
        cert.serial(),
        ca_fingerprint(cert)
    )
}

/// `2020-01-02 00:00:00 UTC` for seconds since the epoch.
pub fn utc(secs: u64) -> String {
    if secs == u64::MAX {
        return "forever".to_string();
    }
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::civil::date_from_days(days as i64);
    let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
}

#[cfg(test)]
mod tests;
