//! Whether to trust the key a server presents: pinned by fingerprint, or
//! checked against the known_hosts files (UserKnownHostsFile then
//! GlobalKnownHostsFile, read in order), with what StrictHostKeyChecking
//! says about a host none of them knows: refuse, learn it into the first
//! user file (accept-new, hashed under HashKnownHosts), or accept it (no).
//! A changed or revoked key is always refused, in every mode. A host
//! certificate is trusted when an `@cert-authority` line for the host names
//! its CA and it passes OpenSSH's checks ([`verify_certificate`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::keys::{Certificate, PublicKey};

use crate::keys::certificate::{self, Expected};
use crate::keys::fingerprint;
use crate::keys::known_hosts::{self, KnownHosts, Verdict};
use crate::parsed_files::ParsedFiles;

/// How host keys are trusted.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Policy {
    /// Known hosts only.
    Strict { known_hosts: PathBuf },
    /// Known hosts, and unknown ones are learned (OpenSSH's accept-new).
    AcceptNew { known_hosts: PathBuf },
    /// Exactly this `SHA256:` fingerprint; the file is not touched.
    Pin(String),
    /// The files and modes ssh_config gives.
    Files(KnownHostsFiles),
}

/// The known_hosts files of one destination and what to do with a host
/// none of them knows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KnownHostsFiles {
    /// UserKnownHostsFile, in order: new keys go to the first.
    pub user: Vec<PathBuf>,
    /// GlobalKnownHostsFile: read, never written.
    pub global: Vec<PathBuf>,
    pub unknown: Unknown,
    /// HashKnownHosts: learned names are written hashed.
    pub hash: bool,
    /// HostKeyAlias: the name looked up (and learned) instead of the host.
    pub alias: Option<String>,
}

/// A host no file knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Unknown {
    /// StrictHostKeyChecking yes/ask: refused with the fix.
    Refuse,
    /// accept-new: learned into the first user file.
    Learn,
    /// no/off: accepted, not written, and said on stderr.
    Accept,
}

/// Decides on `key` for `host:port`; `Err` is the one line to show.
pub fn verify(policy: &Policy, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    let presented = fingerprint(key);
    let files = match policy {
        Policy::Pin(pinned) if *pinned == presented => return Ok(()),
        Policy::Pin(pinned) => {
            return Err(format!(
                "host key of {} is {presented}, not the pinned {pinned}: refusing to connect",
                known_hosts::host_name(host, port)
            ));
        }
        Policy::Strict { known_hosts } => single(known_hosts, Unknown::Refuse),
        Policy::AcceptNew { known_hosts } => single(known_hosts, Unknown::Learn),
        Policy::Files(files) => files.clone(),
    };
    verify_files(&files, host, port, key)
}

fn single(path: &Path, unknown: Unknown) -> KnownHostsFiles {
    KnownHostsFiles {
        user: vec![path.to_path_buf()],
        global: Vec::new(),
        unknown,
        hash: false,
        alias: None,
    }
}

/// The key against every file: revoked anywhere refuses, held anywhere
/// admits, named elsewhere with another key is a changed key.
fn verify_files(files: &KnownHostsFiles, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    let presented = fingerprint(key);
    let host = files.alias.as_deref().unwrap_or(host);
    let name = known_hosts::host_name(host, port);
    let mut changed = None;
    for path in files.user.iter().chain(&files.global) {
        let shown = path.display();
        let file = read(path)?;
        match file.verdict(host, port, key) {
            Verdict::Known => return Ok(()),
            Verdict::Revoked { line } => {
                return Err(format!(
                    "host key {presented} of {name} is revoked in {shown} line {line}: refusing to connect"
                ));
            }
            Verdict::Changed { line } => {
                changed.get_or_insert((path, line));
            }
            Verdict::Unknown => {}
        }
    }
    if let Some((path, line)) = changed {
        let shown = path.display();
        return Err(format!(
            "HOST KEY CHANGED for {name}: it is now {presented}, which {shown} line {line} does not hold; \
             someone may be intercepting the connection. If the change is expected, remove the old key \
             with: ssh-keygen -R '{name}' -f {shown}"
        ));
    }
    unknown(files, host, port, key)
}

/// A host no file knows, under the mode.
fn unknown(files: &KnownHostsFiles, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    let presented = fingerprint(key);
    let name = known_hosts::host_name(host, port);
    match (files.unknown, files.user.first()) {
        (Unknown::Learn, Some(path)) => {
            let shown = path.display();
            known_hosts::learn(path, host, port, key, files.hash)
                .map_err(|e| format!("could not add {name} to known hosts {shown}: {e}"))?;
            crate::say!("sesh: added {name} ({presented}) to {shown}");
            Ok(())
        }
        (Unknown::Accept, _) => {
            // Once per host and key: a fan-out through one unknown bastion
            // would repeat it for every target.
            static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
            let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
            if said.insert(format!("{name} {presented}")) {
                crate::say!(
                    "sesh: warning: {name} is not known (key {presented}); accepted without a check \
                     (StrictHostKeyChecking no)"
                );
            }
            Ok(())
        }
        _ => Err(format!(
            "host {name} is not known (key {presented}); to trust it, rerun with --accept-new \
             or --host-key {presented}"
        )),
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
    match (policy, files_for(policy, host)) {
        (Policy::Pin(pinned), _) if *pinned == certificate::ca_fingerprint(cert) => {
            check_host(cert, host, port)
        }
        (_, Some((paths, host))) => against_known_hosts(policy, &paths, &host, port, cert),
        (_, None) => verify(policy, host, port, &certificate::inner_key(cert)),
    }
}

/// The known_hosts files a policy reads, in order, and the name the host is
/// looked up under (HostKeyAlias); `None` for a pinned fingerprint.
fn files_for(policy: &Policy, host: &str) -> Option<(Vec<PathBuf>, String)> {
    match policy {
        Policy::Pin(_) => None,
        Policy::Strict { known_hosts } | Policy::AcceptNew { known_hosts } => {
            Some((vec![known_hosts.clone()], host.to_string()))
        }
        Policy::Files(files) => Some((
            files.user.iter().chain(&files.global).cloned().collect(),
            files.alias.clone().unwrap_or_else(|| host.to_string()),
        )),
    }
}

/// What the files hold for a host, which decides the host key algorithms
/// to ask for (as ssh orders them): its plain keys' algorithms, and
/// whether a `@cert-authority` line names it.
#[derive(Debug, Default, PartialEq)]
pub struct OnFile {
    pub algorithms: Vec<russh::keys::Algorithm>,
    pub authority: bool,
}

impl OnFile {
    /// Nothing on file: the default order applies.
    pub fn is_empty(&self) -> bool {
        self.algorithms.is_empty() && !self.authority
    }
}

/// [`OnFile`] for `host:port` under `policy`; nothing for a pin or a file
/// that cannot be read (the host key check reports that).
pub fn on_file(policy: &Policy, host: &str, port: u16) -> OnFile {
    let Some((paths, host)) = files_for(policy, host) else {
        return OnFile::default();
    };
    let mut found = OnFile::default();
    for file in paths.iter().filter_map(|path| read(path).ok()) {
        found.algorithms.extend(file.key_algorithms(&host, port));
        found.authority |= file.authorities(&host, port).next().is_some();
    }
    found
}

/// [`verify_certificate`] with the known_hosts files at `paths`, read in
/// order: a revocation in any refuses, a trusting CA line in any admits.
fn against_known_hosts(
    policy: &Policy,
    paths: &[PathBuf],
    host: &str,
    port: u16,
    cert: &Certificate,
) -> Result<(), String> {
    let key = certificate::inner_key(cert);
    let files = paths
        .iter()
        .map(|path| read(path).map(|file| (path, file)))
        .collect::<Result<Vec<_>, _>>()?;
    let ca = PublicKey::new(cert.signature_key().clone(), "");
    for (what, revoked) in [("CA", &ca), ("key", &key)] {
        if let Some((path, line)) = files
            .iter()
            .find_map(|(path, file)| file.revoked(host, port, revoked).map(|line| (path, line)))
        {
            let why = format!(
                "its {what} {} is revoked in {} line {line}",
                fingerprint(revoked),
                path.display()
            );
            return Err(refused(cert, host, port, &why));
        }
    }
    let trusted = files.iter().find_map(|(path, file)| {
        file.authorities(host, port)
            .find(|(_, ca)| certificate::signed_by(cert, ca))
            .map(|(line, _)| (path, line))
    });
    let Some((path, line)) = trusted else {
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
    if files
        .iter()
        .any(|(_, file)| matches!(file.verdict(host, port, &key), Verdict::Known))
    {
        return Ok(());
    }
    Err(format!("{why} (CA trusted by {} line {line})", path.display()))
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

/// Reads a known_hosts file, warning once about its bad lines. A file is
/// parsed once per process while it stays the same (size, times, inode):
/// a fan-out looks every host up in the same files, twice per connection
/// (the host key order, then the check), and parsing is what costs: 300
/// hosts against a 2,000-line hashed file took 2.3 s instead of 0.65.
fn read(path: &Path) -> Result<Arc<KnownHosts>, String> {
    static PARSED: ParsedFiles<KnownHosts> = ParsedFiles::new();
    PARSED.get(path, || {
        let file = KnownHosts::read(path)
            .map_err(|e| format!("could not read known hosts {}: {e}", path.display()))?;
        warn_once(path, &file.warnings);
        Ok(file)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed file is reused only while it is unchanged: a key learned
    /// (appended) in the same process is seen at the next lookup.
    #[test]
    fn a_changed_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let key = PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbMmyQxZ05DxDGNVFR7x2yoRnY8AMV3Cjdrj7hwnKHv",
        )
        .unwrap();
        let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwU8MGv5lqjk8CCNzsJuzR3CmSU7H8mLbdiN3kPw2YB";
        std::fs::write(&path, format!("other.example {other}\n")).unwrap();
        let policy = Policy::Strict {
            known_hosts: path.clone(),
        };
        assert!(verify(&policy, "h.example", 22, &key).is_err());
        assert!(on_file(&policy, "h.example", 22).is_empty());
        known_hosts::learn(&path, "h.example", 22, &key, false).unwrap();
        assert_eq!(verify(&policy, "h.example", 22, &key), Ok(()));
        assert_eq!(
            on_file(&policy, "h.example", 22).algorithms,
            vec![key.algorithm()]
        );
    }
}
