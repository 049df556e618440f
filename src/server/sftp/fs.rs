//! The builtin SFTP server's view of the file system: open handles (with a
//! cap), paths as the account sees them (relative to its home, `~`
//! expanded), blocking calls moved off the runtime, and errors as SFTP
//! status codes the way OpenSSH's sftp-server maps them.

use std::collections::HashMap;
use std::fs::{File, ReadDir};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh_sftp::protocol::{File as Entry, StatusCode};
use russh_sftp::server::StatusReply;

use super::attrs;

/// Handles one session may hold open at once; more are refused.
pub const MAX_HANDLES: usize = 256;
/// Directory entries per READDIR reply (sftp-server's number).
const ENTRIES_PER_READ: usize = 100;

/// What a handle names.
#[derive(Clone)]
pub enum Open {
    File(Arc<File>),
    Dir(Arc<Mutex<ReadDir>>),
}

/// A session's open handles, named by number.
#[derive(Default)]
pub struct Handles {
    next: u64,
    open: HashMap<String, Open>,
}

impl Handles {
    /// Names a newly opened file or directory.
    pub fn insert(&mut self, open: Open) -> Result<String, StatusReply> {
        if self.open.len() >= MAX_HANDLES {
            return Err(
                StatusCode::Failure.with_message(format!("too many open handles (most {MAX_HANDLES})"))
            );
        }
        self.next += 1;
        let name = self.next.to_string();
        self.open.insert(name.clone(), open);
        Ok(name)
    }

    pub fn file(&self, handle: &str) -> Result<Arc<File>, StatusReply> {
        match self.open.get(handle) {
            Some(Open::File(file)) => Ok(file.clone()),
            _ => Err(invalid_handle()),
        }
    }

    pub fn dir(&self, handle: &str) -> Result<Arc<Mutex<ReadDir>>, StatusReply> {
        match self.open.get(handle) {
            Some(Open::Dir(dir)) => Ok(dir.clone()),
            _ => Err(invalid_handle()),
        }
    }

    pub fn close(&mut self, handle: &str) -> Result<(), StatusReply> {
        self.open.remove(handle).map(drop).ok_or_else(invalid_handle)
    }
}

fn invalid_handle() -> StatusReply {
    StatusCode::Failure.with_message("invalid handle")
}

/// A client's path as the account sees it: relative paths start at home.
pub fn resolve(home: &Path, path: &str) -> PathBuf {
    match path {
        "" => home.to_path_buf(),
        _ => home.join(path),
    }
}

/// The absolute, symlink-free form of a path; its last component need not
/// exist (OpenSSH's sftp-server allows that too, for a file about to be
/// written).
pub fn realpath(home: &Path, path: &str) -> io::Result<PathBuf> {
    let path = resolve(home, path);
    match std::fs::canonicalize(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => match (path.parent(), path.file_name()) {
            (Some(parent), Some(name)) => Ok(std::fs::canonicalize(parent)?.join(name)),
            _ => Err(e),
        },
        other => other,
    }
}

/// `expand-path@openssh.com`: `~` and `~user` expanded, then as `realpath`.
pub fn expand(home: &Path, path: &str) -> io::Result<PathBuf> {
    let Some(rest) = path.strip_prefix('~') else {
        return realpath(home, path);
    };
    let (user, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let base = match user {
        "" => home.to_path_buf(),
        name => match nix::unistd::User::from_name(name)? {
            Some(user) => user.dir,
            None => return Err(io::Error::new(io::ErrorKind::NotFound, format!("no user {name}"))),
        },
    };
    realpath(&base, rest)
}

/// Up to [`ENTRIES_PER_READ`] more entries of a directory, each with its
/// own attributes (not following symlinks); empty at the end. Names that
/// are not UTF-8 are sent lossily: SFTP version 3 strings in `russh-sftp`
/// are UTF-8.
pub fn next_entries(dir: &Mutex<ReadDir>) -> io::Result<Vec<Entry>> {
    let mut dir = dir
        .lock()
        .map_err(|_| io::Error::other("directory handle poisoned"))?;
    let mut entries = Vec::new();
    for entry in dir.by_ref() {
        let entry = entry?;
        // An entry removed since it was listed is skipped, as ls does.
        let Ok(meta) = entry.metadata() else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        entries.push(Entry {
            longname: attrs::longname(&name, &meta),
            attrs: attrs::from_metadata(&meta),
            filename: name,
        });
        if entries.len() == ENTRIES_PER_READ {
            break;
        }
    }
    Ok(entries)
}

/// Runs a file system call on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, StatusReply> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result.map_err(status),
        Err(_) => Err(StatusCode::Failure.with_message("file operation failed")),
    }
}

/// An error as the SFTP status OpenSSH's sftp-server would send.
pub fn status(err: io::Error) -> StatusReply {
    let code = match err.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR | libc::EBADF | libc::ELOOP) => StatusCode::NoSuchFile,
        Some(libc::EPERM | libc::EACCES | libc::EFAULT) => StatusCode::PermissionDenied,
        Some(libc::ENAMETOOLONG | libc::EINVAL) => StatusCode::BadMessage,
        Some(libc::ENOSYS) => StatusCode::OpUnsupported,
        Some(_) => StatusCode::Failure,
        None if err.kind() == io::ErrorKind::NotFound => StatusCode::NoSuchFile,
        None => StatusCode::Failure,
    };
    let message = match err.raw_os_error() {
        Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_string(),
        None => err.to_string(),
    };
    code.with_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative paths start at home, absolute ones stay, and a missing last
    /// component still resolves.
    #[test]
    fn paths() {
        let home = tempfile::tempdir().expect("temp dir");
        let home = std::fs::canonicalize(home.path()).expect("canonical");
        std::fs::create_dir(home.join("d")).expect("mkdir");
        assert_eq!(resolve(&home, ""), home);
        assert_eq!(resolve(&home, "/etc"), PathBuf::from("/etc"));
        assert_eq!(realpath(&home, ".").expect("dot"), home);
        assert_eq!(realpath(&home, "d/../d/new").expect("new"), home.join("d/new"));
        assert!(realpath(&home, "missing/new").is_err());
        assert_eq!(expand(&home, "~/d").expect("tilde"), home.join("d"));
        assert_eq!(expand(&home, "~").expect("tilde"), home);
    }

    /// Errors map to the status codes OpenSSH's clients know.
    #[test]
    fn statuses() {
        let code = |errno| status(io::Error::from_raw_os_error(errno)).status_code;
        assert_eq!(code(libc::ENOENT), StatusCode::NoSuchFile);
        assert_eq!(code(libc::EACCES), StatusCode::PermissionDenied);
        assert_eq!(code(libc::EEXIST), StatusCode::Failure);
        let reply = status(io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(reply.error_message.as_deref(), Some("No such file or directory"));
    }
}
