//! `known_hosts` in OpenSSH's format, read by sesh itself: hashed entries
//! (`|1|salt|hash`), `[host]:port` names, `*`/`?` wildcards, `!` negation,
//! `@revoked` (always refused) and `@cert-authority` (the CAs whose host
//! certificates are trusted for the hosts the line names; they never match
//! as plain keys). A malformed line (too few fields, a bad
//! key, an unknown marker, a broken hashed name, an empty pattern, bytes
//! that are not UTF-8) is skipped with a warning naming it, never fatal.
//! Keys compare by key data: a comment never makes a key "different".

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

use hmac::{KeyInit, Mac};
use russh::keys::PublicKey;

/// What the file says about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line holds this key.
    Known,
    /// Lines name the host, none with this key: the first such line.
    Changed { line: usize },
    /// The key is marked `@revoked`.
    Revoked { line: usize },
    /// Nothing is on file for the host.
    Unknown,
}

/// The name a host is filed under: `host`, or `[host]:port` off port 22.
pub fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The readable lines of a file, and why the others were skipped.
#[derive(Debug, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    /// `line N: reason` for each skipped line.
    pub warnings: Vec<String>,
}

impl KnownHosts {
    /// Reads the file at `path`; a missing file knows nothing.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Self::parse(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e),
        }
    }

    /// Parses the contents of a file; bad lines become warnings.
    pub fn parse(text: impl AsRef<[u8]>) -> Self {
        let mut parsed = Self::default();
        for (number, line) in super::numbered_lines(text.as_ref()) {
            let entry = match line {
                Ok(line) => parse_line(line, number),
                Err(_) => Err("not UTF-8 text".to_string()),
            };
            match entry {
                Ok(Some(entry)) => parsed.entries.push(entry),
                Ok(None) => {}
                Err(why) => parsed
                    .warnings
                    .push(format!("line {number}: {why}, line skipped")),
            }
        }
        parsed
    }

    /// What the file says about `key` for `host:port`.
    pub fn verdict(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        // Host names compare without case, as OpenSSH lowercases them.
        let name = host_name(host, port).to_ascii_lowercase();
        let mut changed = None;
        for entry in &self.entries {
            if entry.marker == Some(Marker::CertAuthority) || !entry.hosts.matches(&name) {
                continue;
            }
            let same = entry.key.key_data() == key.key_data();
            match (entry.marker, same) {
                (Some(Marker::Revoked), true) => return Verdict::Revoked { line: entry.line },
                (Some(Marker::Revoked), false) => {}
                (_, true) => return Verdict::Known,
                (_, false) => {
                    changed.get_or_insert(entry.line);
                }
            }
        }
        match changed {
            Some(line) => Verdict::Changed { line },
            None => Verdict::Unknown,
        }
    }
}

impl KnownHosts {
    /// The `@cert-authority` keys for `host:port`: `(line, CA key)`, in
    /// file order.
    pub fn authorities(&self, host: &str, port: u16) -> impl Iterator<Item = (usize, &PublicKey)> {
        let name = host_name(host, port).to_ascii_lowercase();
        self.entries
            .iter()
            .filter(move |e| e.marker == Some(Marker::CertAuthority) && e.hosts.matches(&name))
            .map(|e| (e.line, &e.key))
    }

    /// The algorithms of the plain keys filed for `host:port`, in file
    /// order (`@revoked` and `@cert-authority` lines are not keys of it).
    pub fn key_algorithms(&self, host: &str, port: u16) -> Vec<russh::keys::Algorithm> {
        let name = host_name(host, port).to_ascii_lowercase();
        self.entries
            .iter()
            .filter(|e| e.marker.is_none() && e.hosts.matches(&name))
            .map(|e| e.key.algorithm())
            .collect()
    }

    /// The line marking `key` `@revoked` for `host:port`, if any: for a
    /// host certificate, both its CA and its own key are looked up.
    pub fn revoked(&self, host: &str, port: u16, key: &PublicKey) -> Option<usize> {
        let name = host_name(host, port).to_ascii_lowercase();
        self.entries
            .iter()
            .find(|e| {
                e.marker == Some(Marker::Revoked)
                    && e.key.key_data() == key.key_data()
                    && e.hosts.matches(&name)
            })
            .map(|e| e.line)
    }
}

/// Appends `host:port key` to the file, creating it (and its directory)
/// when missing. An exclusive lock makes concurrent appends from many
/// sessions land as whole lines.
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey, hash: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    // SAFETY: flock on an open descriptor; released when the file closes.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut line = String::new();
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut last, len - 1)?;
        if last[0] != b'\n' {
            line.push('\n');
        }
    }
    let key = key.to_openssh().map_err(std::io::Error::other)?;
    let mut name = host_name(host, port).to_ascii_lowercase();
    if hash {
        name = hashed_name(&name)?;
    }
    line.push_str(&format!("{name} {key}\n"));
    file.write_all(line.as_bytes())
}

/// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` with a fresh 20-byte
/// salt, as ssh writes names under HashKnownHosts.
pub fn hashed_name(name: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut salt = [0u8; 20];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut salt)?;
    let mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).map_err(std::io::Error::other)?;
    let hash = mac.chain_update(name.as_bytes()).finalize().into_bytes();
    let b64 = data_encoding::BASE64;
    Ok(format!("|1|{}|{}", b64.encode(&salt), b64.encode(&hash)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Revoked,
    CertAuthority,
}

#[derive(Debug)]
struct Entry {
    line: usize,
    marker: Option<Marker>,
    hosts: Hosts,
    key: PublicKey,
}

/// The first field of a line.
#[derive(Debug)]
enum Hosts {
    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, decoded.
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    /// Comma-separated patterns, lowercased.
    Patterns(Vec<String>),
}

/// One line: `Ok(None)` for blanks and comments, `Err` for what cannot be
/// read.
fn parse_line(line: &str, number: usize) -> Result<Option<Entry>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut words = line.split_whitespace();
    let mut first = words.next().unwrap_or_default();
    let marker = match first {
        "@revoked" => Some(Marker::Revoked),
        "@cert-authority" => Some(Marker::CertAuthority),
        other if other.starts_with('@') => return Err(format!("unknown marker {other}")),
        _ => None,
    };
    if marker.is_some() {
        first = words.next().unwrap_or_default();
    }
    let (Some(algorithm), Some(data)) = (words.next(), words.next()) else {
        return Err("expected host patterns, a key type and a key".to_string());
    };
    let key = PublicKey::from_openssh(&format!("{algorithm} {data}"))
        .map_err(|e| format!("invalid public key: {e}"))?;
    Ok(Some(Entry {
        line: number,
        marker,
        hosts: Hosts::parse(first)?,
        key,
    }))
}

impl Hosts {
    fn parse(field: &str) -> Result<Self, String> {
        if let Some(hashed) = field.strip_prefix('|') {
            return Self::parse_hashed(hashed);
        }
        let patterns: Vec<String> = field.split(',').map(str::to_ascii_lowercase).collect();
        if patterns.iter().any(|p| p.is_empty() || p == "!") {
            return Err(format!("empty host pattern in {field:?}"));
        }
        Ok(Self::Patterns(patterns))
    }

    /// After the leading `|`: `1|salt|hash`, each 20 bytes as OpenSSH
    /// writes them (SHA-1 sized).
    fn parse_hashed(text: &str) -> Result<Self, String> {
        let bad = || "malformed hashed host name (expected |1|salt|hash)".to_string();
        let mut parts = text.split('|');
        let (Some("1"), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let decode = |text: &str| {
            data_encoding::BASE64
                .decode(text.as_bytes())
                .ok()
                .filter(|b| b.len() == 20)
        };
        match (decode(salt), decode(hash)) {
            (Some(salt), Some(hash)) => Ok(Self::Hashed { salt, hash }),
            _ => Err(bad()),
        }
    }

    /// OpenSSH's rule: a negated pattern that matches refuses the line,
    /// else any matching pattern accepts it. `name` is lowercase.
    fn matches(&self, name: &str) -> bool {
        let patterns = match self {
            Self::Hashed { salt, hash } => {
                let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt) else {
                    return false;
                };
                return mac.chain_update(name.as_bytes()).verify_slice(hash).is_ok();
            }
            Self::Patterns(patterns) => patterns,
        };
        crate::pattern::list_matches(patterns.iter().map(String::as_str), |p| {
            crate::pattern::matches(p, name)
        })
    }
}

#[cfg(test)]
mod tests;
