//! Whether to trust the key a server presents: pinned by fingerprint, or
//! checked against `known_hosts` (learning unknown hosts only with
//! `--accept-new`). A changed or revoked key is always refused.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use russh::keys::PublicKey;

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
    let file =
        KnownHosts::read(known_hosts).map_err(|e| format!("could not read known hosts {shown}: {e}"))?;
    warn_once(known_hosts, &file.warnings);
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
