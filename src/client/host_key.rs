//! Whether to trust the key a server presents: pinned by fingerprint, or
//! checked against `known_hosts` (learning unknown hosts only with
//! `--accept-new`). A changed or revoked key is always refused. A host
//! certificate is trusted when an `@cert-authority` line for the host names
//! its CA and it passes OpenSSH's checks ([`verify_certificate`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use russh::keys::{Certificate, PublicKey};

use crate::keys::certificate::{self, Expected};
use crate::keys::fingerprint;
use crate::keys::known_hosts::{self, KnownHosts, Verdict};

/// How host keys are trusted.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Policy {
    /// Known hosts only.
    Strict { known_hosts: PathBuf },
    /// Known hosts, and unknown ones are learned (OpenSSH's accept-new).
    AcceptNew { known_hosts: PathBuf },
    /// Exactly this `SHA256:` fingerprint; the file is not touched.
    Pin(String),
}

/// Decides on `key` for `host:port`; `Err` is the one line to show.
pub fn verify(policy: &Policy, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    let presented = fingerprint(key);
    let known_hosts = match policy {
        Policy::Pin(pinned) if *pinned == presented => return Ok(()),
        Policy::Pin(pinned) => {
            return Err(format!(
                "host key of {} is {presented}, not the pinned {pinned}: refusing to connect",
                known_hosts::host_name(host, port)
            ));
        }
        Policy::Strict { known_hosts } | Policy::AcceptNew { known_hosts } => known_hosts,
    };
    let shown = known_hosts.display();
    let name = known_hosts::host_name(host, port);
    let file = read(known_hosts)?;
    match file.verdict(host, port, key) {
        Verdict::Known => Ok(()),
        Verdict::Changed { line } => Err(format!(
            "HOST KEY CHANGED for {name}: it is now {presented}, which {shown} line {line} does not hold; \
             someone may be intercepting the connection. If the change is expected, remove the old key \
             with: ssh-keygen -R '{name}' -f {shown}"
        )),
        Verdict::Revoked { line } => Err(format!(
            "host key {presented} of {name} is revoked in {shown} line {line}: refusing to connect"
        )),
        Verdict::Unknown => match policy {
            Policy::AcceptNew { .. } => {
                known_hosts::learn(known_hosts, host, port, key)
                    .map_err(|e| format!("could not add {name} to known hosts {shown}: {e}"))?;
                crate::say!("sesh: added {name} ({presented}) to {shown}");
                Ok(())
            }
            _ => Err(format!(
                "host {name} is not known (key {presented}); to trust it, rerun with --accept-new \
                 or --host-key {presented}"
            )),
        },
    }
}

/// Decides on a host certificate for `host:port` as OpenSSH does. A
/// revoked CA or key is refused. When an `@cert-authority` line for the
/// host names the CA, the certificate must pass every check (type host,
/// principal = the host name, validity, no critical option); a certificate
/// no CA vouches for falls back to its plain key, learnt or pinned as any
/// other. One that a trusted CA signed but that fails a check still falls
/// back, but only to a key already on file: it is never learnt with
/// `--accept-new`. A pin may name the CA's fingerprint.
pub fn verify_certificate(policy: &Policy, host: &str, port: u16, cert: &Certificate) -> Result<(), String> {
    let path = match policy {
        Policy::Pin(pinned) if *pinned == certificate::ca_fingerprint(cert) => {
            return check_host(cert, host, port);
        }
        Policy::Pin(_) => return verify(policy, host, port, &certificate::inner_key(cert)),
        Policy::Strict { known_hosts } | Policy::AcceptNew { known_hosts } => known_hosts,
    };
    against_known_hosts(policy, path, host, port, cert)
}

/// [`verify_certificate`] with `known_hosts` at `path`.
fn against_known_hosts(
    policy: &Policy,
    path: &Path,
    host: &str,
    port: u16,
    cert: &Certificate,
) -> Result<(), String> {
    let key = certificate::inner_key(cert);
    let file = read(path)?;
    let ca = PublicKey::new(cert.signature_key().clone(), "");
    let shown = path.display();
    if let Some(line) = file.revoked(host, port, &ca) {
        let why = format!("its CA {} is revoked in {shown} line {line}", fingerprint(&ca));
        return Err(refused(cert, host, port, &why));
    }
    if let Some(line) = file.revoked(host, port, &key) {
        let why = format!("its key {} is revoked in {shown} line {line}", fingerprint(&key));
        return Err(refused(cert, host, port, &why));
    }
    let Some((line, _)) = file
        .authorities(host, port)
        .find(|(_, ca)| certificate::signed_by(cert, ca))
    else {
        return verify(policy, host, port, &key).map_err(|why| {
            format!(
                "{why} (it presented a certificate from the untrusted CA {})",
                fingerprint(&ca)
            )
        });
    };
    let Err(why) = check_host(cert, host, port) else {
        return Ok(());
    };
    match file.verdict(host, port, &key) {
        Verdict::Known => Ok(()),
        _ => Err(format!("{why} (CA trusted by {shown} line {line})")),
    }
}

/// Every check but CA trust, for the host name as typed (lowercase, as
/// OpenSSH compares it).
fn check_host(cert: &Certificate, host: &str, port: u16) -> Result<(), String> {
    let principal = host.to_ascii_lowercase();
    certificate::check(cert, &Expected::host(&principal)).map_err(|why| refused(cert, host, port, &why))
}

/// `host certificate of NAME (ID ... serial ... CA ...) refused: WHY`.
fn refused(cert: &Certificate, host: &str, port: u16, why: &str) -> String {
    format!(
        "host certificate of {} ({}) refused: {why}",
        known_hosts::host_name(host, port),
        certificate::describe(cert)
    )
}

/// Reads a known_hosts file, warning once about its bad lines.
fn read(path: &Path) -> Result<KnownHosts, String> {
    let file =
        KnownHosts::read(path).map_err(|e| format!("could not read known hosts {}: {e}", path.display()))?;
    warn_once(path, &file.warnings);
    Ok(file)
}

/// Logs each skipped line of a known_hosts file once per process: a
/// fan-out reads the file again for every host, and a hundred copies of
/// the same warning would bury everything else.
fn warn_once(path: &Path, warnings: &[String]) {
    static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    // A poisoned lock only means a panic elsewhere while inserting into a
    // log-dedup set: its contents are still a valid set.
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    for warning in warnings {
        let warning = format!("{}: {warning}", path.display());
        if warned.insert(warning.clone()) {
            tracing::warn!("{warning}");
        }
    }
}
