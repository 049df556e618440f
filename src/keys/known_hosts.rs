//! `known_hosts` in OpenSSH's format, read by sesh itself: hashed entries
//! (`|1|salt|hash`), `[host]:port` names, `*`/`?` wildcards, `!` negation,
//! `@revoked` (always refused) and `@cert-authority` (skipped: sesh does
//! not verify host certificates). Malformed lines are skipped, never fatal.
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

/// Looks `key` up for `host:port` in `text`.
pub fn check_text(text: &str, host: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = host_name(host, port);
    let mut changed = None;
    for (index, line) in text.lines().enumerate() {
        let Some(entry) = parse_line(line) else { continue };
        if entry.marker == Some(Marker::CertAuthority) || !hosts_match(entry.hosts, &name) {
            continue;
        }
        let same = entry.key.key_data() == key.key_data();
        match (entry.marker, same) {
            (Some(Marker::Revoked), true) => return Verdict::Revoked { line: index + 1 },
            (Some(Marker::Revoked), false) => {}
            (_, true) => return Verdict::Known,
            (_, false) => {
                changed.get_or_insert(index + 1);
            }
        }
    }
    match changed {
        Some(line) => Verdict::Changed { line },
        None => Verdict::Unknown,
    }
}

/// Looks `key` up in the file at `path`; a missing file knows nothing.
pub fn check(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<Verdict> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(check_text(&text, host, port, key)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Verdict::Unknown),
        Err(e) => Err(e),
    }
}

/// Appends `host:port key` to the file, creating it (and its directory)
/// when missing. An exclusive lock makes concurrent appends from many
/// sessions land as whole lines.
pub fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
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
    line.push_str(&format!("{} {key}\n", host_name(host, port)));
    file.write_all(line.as_bytes())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Revoked,
    CertAuthority,
}

struct Entry<'a> {
    marker: Option<Marker>,
    hosts: &'a str,
    key: PublicKey,
}

fn parse_line(line: &str) -> Option<Entry<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    let mut first = words.next()?;
    let marker = match first {
        "@revoked" => Some(Marker::Revoked),
        "@cert-authority" => Some(Marker::CertAuthority),
        _ => None,
    };
    if marker.is_some() {
        first = words.next()?;
    }
    let algorithm = words.next()?;
    let data = words.next()?;
    let key = PublicKey::from_openssh(&format!("{algorithm} {data}")).ok()?;
    Some(Entry {
        marker,
        hosts: first,
        key,
    })
}

/// OpenSSH's rule: a negated pattern that matches refuses the line, else
/// any matching pattern accepts it.
fn hosts_match(patterns: &str, name: &str) -> bool {
    if patterns.starts_with("|1|") {
        return hashed_match(patterns, name);
    }
    let mut hit = false;
    for pattern in patterns.split(',') {
        match pattern.strip_prefix('!') {
            Some(negated) if crate::pattern::matches(negated, name) => return false,
            Some(_) => {}
            None => hit |= crate::pattern::matches(pattern, name),
        }
    }
    hit
}

/// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
fn hashed_match(entry: &str, name: &str) -> bool {
    let mut parts = entry.trim_start_matches("|1|").split('|');
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let decode = |text: &str| data_encoding::BASE64.decode(text.as_bytes()).ok();
    let (Some(salt), Some(hash)) = (decode(salt), decode(hash)) else {
        return false;
    };
    let Ok(mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes()).verify_slice(&hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const B: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    /// Plain names, `[host]:port`, wildcards and comments on keys.
    #[test]
    fn plain_and_port_entries() {
        let text = format!("# comment\nexample.org {A} a comment\n[127.0.0.1]:2222 {B}\n*.lan {A}\n");
        assert_eq!(check_text(&text, "example.org", 22, &key(A)), Verdict::Known);
        assert_eq!(
            check_text(&text, "example.org", 22, &key(B)),
            Verdict::Changed { line: 2 }
        );
        assert_eq!(check_text(&text, "127.0.0.1", 2222, &key(B)), Verdict::Known);
        assert_eq!(check_text(&text, "127.0.0.1", 22, &key(B)), Verdict::Unknown);
        assert_eq!(check_text(&text, "box.lan", 22, &key(A)), Verdict::Known);
    }

    /// A hashed entry (as `ssh-keygen -H` writes) matches its host only.
    #[test]
    fn hashed_entries() {
        // HMAC-SHA1 of "[127.0.0.1]:2222" under this salt.
        let salt = [7u8; 20];
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let hash = mac.finalize().into_bytes();
        let enc = |b: &[u8]| data_encoding::BASE64.encode(b);
        let text = format!("|1|{}|{} {A}\n", enc(&salt), enc(&hash));
        assert_eq!(check_text(&text, "127.0.0.1", 2222, &key(A)), Verdict::Known);
        assert_eq!(
            check_text(&text, "127.0.0.1", 2222, &key(B)),
            Verdict::Changed { line: 1 }
        );
        assert_eq!(check_text(&text, "127.0.0.2", 2222, &key(A)), Verdict::Unknown);
    }

    /// Negation, @revoked, @cert-authority and malformed lines.
    #[test]
    fn markers_negation_and_garbage() {
        let text = format!(
            "garbage\nhost.lan ssh-ed25519 notbase64\n*.lan,!bad.lan {A}\n@revoked * {B}\n@cert-authority *.lan {B}\n"
        );
        assert_eq!(check_text(&text, "good.lan", 22, &key(A)), Verdict::Known);
        assert_eq!(check_text(&text, "bad.lan", 22, &key(A)), Verdict::Unknown);
        assert_eq!(
            check_text(&text, "good.lan", 22, &key(B)),
            Verdict::Revoked { line: 4 }
        );
    }

    /// Learning appends a whole line (adding a missing newline first) that
    /// the next check finds.
    #[test]
    fn learn_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        learn(&path, "127.0.0.1", 2222, &key(A)).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"# no newline")
            .unwrap();
        learn(&path, "example.org", 22, &key(B)).unwrap();
        assert_eq!(check(&path, "127.0.0.1", 2222, &key(A)).unwrap(), Verdict::Known);
        assert_eq!(check(&path, "example.org", 22, &key(B)).unwrap(), Verdict::Known);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
