//! Where a connection's control socket lives, and whether it is safe to
//! use: the directory (0700 and ours, checked with `lstat`, or for a
//! configured ControlPath a parent only we or root's sticky bit guard),
//! the socket's name (a key over the destination), its lock and log files
//! beside it, and the `sun_path` limit.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use super::Reuse;
use crate::client::Destination;

/// The longest socket path `bind()` takes (`sun_path` less its NUL).
#[cfg(target_os = "linux")]
pub const SUN_PATH_MAX: usize = 107;
#[cfg(not(target_os = "linux"))]
pub const SUN_PATH_MAX: usize = 103;

/// The files of one connection's master.
#[derive(Debug, Clone)]
pub struct Place {
    pub socket: PathBuf,
    /// Held while a master is started, so concurrent first calls share one login.
    pub lock: PathBuf,
    /// The master's log (it has no terminal).
    pub log: PathBuf,
}

/// Where `dest`'s master lives: `Ok(None)` when reuse is off for it
/// (`ControlPath none`), `Err` with the one warning when the place is
/// unsafe or too long (the caller runs direct).
pub fn place(dest: &Destination, reuse: &Reuse) -> Result<Option<Place>, String> {
    let key = key(dest);
    let socket = match &reuse.path {
        Some(path) if path.as_os_str() == "none" => return Ok(None),
        Some(path) => {
            let socket = expand(path, dest, &key)?;
            let parent = socket.parent().unwrap_or(Path::new("."));
            check_parent(parent)?;
            socket
        }
        None => {
            let dir = default_dir();
            ensure_private_dir(&dir)?;
            dir.join(format!("m-{}", &key[..16]))
        }
    };
    let length = socket.as_os_str().len();
    if length > SUN_PATH_MAX {
        return Err(format!(
            "mux socket path {} is {length} bytes, over the {SUN_PATH_MAX}-byte limit for unix sockets",
            socket.display()
        ));
    }
    let with = |suffix: &str| {
        let mut name = socket.clone().into_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    Ok(Some(Place {
        lock: with(".lock"),
        log: with(".log"),
        socket,
    }))
}

/// `$XDG_RUNTIME_DIR/sesh`, else `sesh-UID` in the temp directory.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("sesh"),
        _ => std::env::temp_dir().join(format!("sesh-{}", nix::unistd::geteuid().as_raw())),
    }
}

/// `dest` with its files as absolute paths: the master runs in `/`, and
/// `-i id` from two directories names two keys.
pub fn absolute(dest: &Destination) -> Destination {
    use crate::client::host_key::Policy;
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut dest = dest.clone();
    for file in dest.identities.iter_mut().chain(dest.certificates.iter_mut()) {
        *file = cwd.join(&*file);
    }
    if let Policy::Strict { known_hosts } | Policy::AcceptNew { known_hosts } = &mut dest.host_keys {
        *known_hosts = cwd.join(&*known_hosts);
    }
    dest
}

/// Hex SHA-1 over everything that decides which connection this is (not
/// the label, not the connect timeout), with the protocol version.
pub fn key(dest: &Destination) -> String {
    let mut record = serde_json::to_value(absolute(dest)).expect("a destination serialises");
    if let Some(fields) = record.as_object_mut() {
        fields.remove("label");
        fields.remove("connect_timeout");
    }
    let mut hash = Sha1::new();
    hash.update(format!("sesh-mux/{}\n", super::protocol::VERSION));
    hash.update(record.to_string());
    data_encoding::HEXLOWER.encode(&hash.finalize())
}

/// Creates `dir` 0700 if missing, then insists it is a real directory
/// (not a symlink), ours, with no access for group or others.
fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("mux directory {}: {e}", dir.display()))?;
    let why = if !meta.file_type().is_dir() {
        Some("not a directory")
    } else if meta.uid() != nix::unistd::geteuid().as_raw() {
        Some("owned by another user")
    } else if meta.permissions().mode() & 0o077 != 0 {
        Some("open to group or others (needs 0700)")
    } else {
        None
    };
    match why {
        Some(why) => Err(format!("mux directory {} is {why}", dir.display())),
        None => Ok(()),
    }
}

/// A configured ControlPath's directory: ours and not writable by others,
/// or root's with the sticky bit (like /tmp, where nobody can replace our
/// socket); the socket's own owner is checked before each use.
fn check_parent(dir: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("mux directory {}: {e}", dir.display()))?;
    let mode = meta.permissions().mode();
    let ours = meta.uid() == nix::unistd::geteuid().as_raw() && mode & 0o022 == 0;
    let sticky_root = meta.uid() == 0 && mode & 0o1000 != 0;
    if meta.file_type().is_dir() && (ours || sticky_root) {
        Ok(())
    } else {
        Err(format!(
            "mux directory {} is not private (it must be ours and not writable by others)",
            dir.display()
        ))
    }
}

/// ControlPath's `~` and `%` tokens: `%C` (this connection's key), `%h`,
/// `%p`, `%r`, `%n`, `%u`, `%i`, `%L`, `%l`, `%d`, `%%`.
fn expand(path: &Path, dest: &Destination, key: &str) -> Result<PathBuf, String> {
    let text = path.to_str().ok_or("the ControlPath is not valid UTF-8")?;
    let home = || {
        crate::home_dir()
            .map(|h| h.display().to_string())
            .unwrap_or_default()
    };
    let local_host = || {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default()
    };
    let (mut out, source) = match text.strip_prefix("~/") {
        Some(rest) => (format!("{}/", home()), rest),
        None => (String::new(), text),
    };
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let target = &dest.target;
        match chars.next() {
            Some('%') => out.push('%'),
            Some('C') => out.push_str(key),
            Some('h') => out.push_str(&target.host),
            Some('n') => out.push_str(&dest.label),
            Some('p') => out.push_str(&target.port.to_string()),
            Some('r') => out.push_str(&target.user),
            Some('u') => out.push_str(&super::super::destination::local_user().unwrap_or_default()),
            Some('i') => out.push_str(&nix::unistd::getuid().as_raw().to_string()),
            Some('L') => out.push_str(local_host().split('.').next().unwrap_or_default()),
            Some('l') => out.push_str(&local_host()),
            Some('d') => out.push_str(&home()),
            other => {
                return Err(format!(
                    "unknown token %{} in the ControlPath",
                    other.unwrap_or(' ')
                ));
            }
        }
    }
    Ok(PathBuf::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::destination::{CONNECT_TIMEOUT, Route};
    use crate::client::host_key::Policy;
    use crate::client::target::Target;

    fn dest(host: &str) -> Destination {
        Destination {
            label: host.to_string(),
            target: Target::parse(host, "me").unwrap(),
            route: Route::Tcp,
            identities: vec![],
            certificates: vec![],
            explicit_identities: false,
            host_keys: Policy::Pin("SHA256:x".into()),
            connect_timeout: CONNECT_TIMEOUT,
            keepalive: None,
            keepalive_max: 3,
            window_max: crate::transport::WINDOW_MAX,
            agent: Default::default(),
            hops: None,
        }
    }

    /// The key follows the connection, not the label or connect timeout.
    #[test]
    fn key_follows_the_connection() {
        let mut other_label = dest("h");
        other_label.label = "alias".into();
        other_label.connect_timeout = std::time::Duration::from_secs(1);
        assert_eq!(key(&dest("h")), key(&other_label));
        assert_ne!(key(&dest("h")), key(&dest("u@h")));
        assert_ne!(key(&dest("h")), key(&dest("h:2222")));
    }

    /// Tokens expand; `~/` is the home directory; unknown tokens are refused.
    #[test]
    fn tokens() {
        let d = dest("u@h:2222");
        let got = expand(Path::new("/s/%r@%h:%p-%%"), &d, "k").unwrap();
        assert_eq!(got, PathBuf::from("/s/u@h:2222-%"));
        assert_eq!(
            expand(Path::new("/s/%C"), &d, "abc").unwrap(),
            PathBuf::from("/s/abc")
        );
        assert!(expand(Path::new("/s/%q"), &d, "k").is_err());
        let home = expand(Path::new("~/x"), &d, "k").unwrap();
        assert!(home.ends_with("x") && home.is_absolute(), "{home:?}");
    }
}
