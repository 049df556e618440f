//! sshd's StrictModes for the files `sesh serve` trusts: `authorized_keys`,
//! the trusted user CA keys and the host key. Whoever can write either file, or swap it by writing a
//! directory above it, can let themselves in or impersonate the server; a
//! host key others can read is already given away. So such a file is
//! refused, naming the problem, unless `--no-strict-modes` turns this off
//! (like sshd's `StrictModes no`).
//!
//! Unlike sshd, a directory writable by everyone passes when it has the
//! sticky bit (`/tmp`): there nobody can rename or delete another's entry.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{WrapErr, eyre};

/// What a checked file holds, which decides what is unsafe about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Public keys: anyone may read it, only its owner may write it.
    AuthorizedKeys,
    /// The CA keys whose user certificates log in (TrustedUserCAKeys):
    /// public keys, held to the same rules as `authorized_keys`.
    TrustedCaKeys,
    /// A private key: only its owner may read it.
    HostKey,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::AuthorizedKeys => "authorized keys",
            Kind::TrustedCaKeys => "trusted user CA keys",
            Kind::HostKey => "host key",
        }
    }
}

/// Checks the file at `path` for the account `uid`: the file itself, every
/// directory above it up to `/`, and every symlink on the way there with
/// the directory holding it. Returns the canonical path that was checked:
/// read that one, so nothing can be swapped in between.
pub fn check(path: &Path, kind: Kind, uid: u32) -> color_eyre::Result<PathBuf> {
    let noun = kind.noun();
    let real =
        std::fs::canonicalize(path).wrap_err_with(|| format!("could not read {noun} {}", path.display()))?;
    let problem = find_problem(path, &real, kind, uid)
        .wrap_err_with(|| format!("could not read {noun} {}", path.display()))?;
    match problem {
        None => Ok(real),
        Some(problem) => Err(eyre!(
            "unsafe {noun} file {}: {problem} (--no-strict-modes turns this check off, like sshd's StrictModes no)",
            path.display()
        )),
    }
}

/// The first problem found, from the file up to `/`.
fn find_problem(path: &Path, real: &Path, kind: Kind, uid: u32) -> std::io::Result<Option<String>> {
    let meta = std::fs::metadata(real)?;
    if let Some(problem) = file_problem(meta.is_file(), meta.mode(), meta.uid(), kind, uid) {
        return Ok(Some(problem));
    }
    for dir in real.ancestors().skip(1) {
        let meta = std::fs::metadata(dir)?;
        if let Some(problem) = dir_problem(dir, meta.mode(), meta.uid(), uid) {
            return Ok(Some(problem));
        }
    }
    symlink_problem(path, uid)
}

/// Whether `owner` may own what the account `uid` trusts.
fn trusted_owner(owner: u32, uid: u32) -> bool {
    owner == uid || owner == 0
}

fn file_problem(regular: bool, mode: u32, owner: u32, kind: Kind, uid: u32) -> Option<String> {
    let mode = mode & 0o7777;
    if !regular {
        Some("not a regular file".to_string())
    } else if !trusted_owner(owner, uid) {
        Some(format!(
            "owned by uid {owner}, not by uid {uid} (the serving account) or root"
        ))
    } else if mode & 0o022 != 0 {
        Some(format!(
            "writable by group or others (mode {mode:04o}); chmod go-w it"
        ))
    } else if kind == Kind::HostKey && mode & 0o044 != 0 {
        Some(format!(
            "readable by group or others (mode {mode:04o}): UNPROTECTED PRIVATE KEY FILE; chmod 600 it"
        ))
    } else {
        None
    }
}

fn dir_problem(dir: &Path, mode: u32, owner: u32, uid: u32) -> Option<String> {
    let sticky = mode & 0o1000 != 0;
    if !trusted_owner(owner, uid) {
        Some(format!(
            "directory {} is owned by uid {owner}, not by uid {uid} or root",
            dir.display()
        ))
    } else if mode & 0o022 != 0 && !sticky {
        Some(format!(
            "directory {} is writable by group or others (mode {:04o}) without the sticky bit",
            dir.display(),
            mode & 0o7777
        ))
    } else {
        None
    }
}

/// A symlink on the path as given whose owner could point it elsewhere,
/// or that sits in a directory where others could replace it. (The
/// directories it leads to are checked through the canonical path.)
fn symlink_problem(path: &Path, uid: u32) -> std::io::Result<Option<String>> {
    let absolute: PathBuf = std::env::current_dir()?.join(path);
    for step in absolute.ancestors() {
        let meta = std::fs::symlink_metadata(step)?;
        if !meta.file_type().is_symlink() {
            continue;
        }
        if !trusted_owner(meta.uid(), uid) {
            return Ok(Some(format!(
                "symlink {} is owned by uid {}, not by uid {uid} or root",
                step.display(),
                meta.uid()
            )));
        }
        if let Some(holder) = step.parent() {
            let held = std::fs::metadata(holder)?;
            if let Some(problem) = dir_problem(holder, held.mode(), held.uid(), uid) {
                return Ok(Some(problem));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const ME: u32 = 1000;

    /// What makes a file unsafe, for each kind; the owner and root pass.
    #[test]
    fn file_rules() {
        let ak = |mode, owner| file_problem(true, mode, owner, Kind::AuthorizedKeys, ME);
        let hk = |mode, owner| file_problem(true, mode, owner, Kind::HostKey, ME);
        assert_eq!(ak(0o100644, ME), None);
        assert_eq!(ak(0o600, 0), None);
        assert!(ak(0o644, 1001).unwrap().contains("owned by uid 1001"));
        assert!(
            ak(0o664, ME)
                .unwrap()
                .contains("writable by group or others (mode 0664)")
        );
        assert!(ak(0o646, ME).unwrap().contains("writable"));
        assert_eq!(hk(0o600, ME), None);
        assert_eq!(hk(0o400, 0), None);
        assert!(hk(0o640, ME).unwrap().contains("UNPROTECTED PRIVATE KEY FILE"));
        assert!(hk(0o604, ME).unwrap().contains("UNPROTECTED"));
        assert!(
            file_problem(false, 0o600, ME, Kind::HostKey, ME)
                .unwrap()
                .contains("not a regular file")
        );
    }

    /// Directories: group/other-writable only with the sticky bit, owned by
    /// the account or root.
    #[test]
    fn directory_rules() {
        let dir = |mode, owner| dir_problem(Path::new("/d"), mode, owner, ME);
        assert_eq!(dir(0o40755, ME), None);
        assert_eq!(dir(0o700, 0), None);
        assert_eq!(dir(0o1777, 0), None);
        assert!(
            dir(0o777, 0)
                .unwrap()
                .contains("/d is writable by group or others (mode 0777)")
        );
        assert!(dir(0o775, ME).unwrap().contains("without the sticky bit"));
        assert!(dir(0o755, 1001).unwrap().contains("/d is owned by uid 1001"));
    }

    /// Through the file system: a private temp dir passes, a group-writable
    /// directory on the way is named, a missing file is a read error.
    #[test]
    fn checks_the_whole_path() {
        let uid = nix::unistd::getuid().as_raw();
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("sub/key");
        std::fs::create_dir(root.path().join("sub")).unwrap();
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        check(&file, Kind::HostKey, uid).unwrap();
        let sub = root.path().join("sub");
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o770)).unwrap();
        let error = check(&file, Kind::HostKey, uid).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "unsafe host key file {}: directory {}",
                file.display(),
                sub.display()
            )),
            "{error}"
        );
        // A symlink in an unsafe directory could be swapped, even when it
        // points at a safe file; what is checked is what gets read.
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::os::unix::fs::symlink(&file, shared.join("link")).unwrap();
        assert_eq!(
            check(&shared.join("link"), Kind::HostKey, uid).unwrap(),
            file.canonicalize().unwrap()
        );
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o770)).unwrap();
        let error = check(&shared.join("link"), Kind::HostKey, uid)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("directory {}", shared.display())),
            "{error}"
        );
        let missing = check(&root.path().join("nope"), Kind::AuthorizedKeys, uid).unwrap_err();
        assert!(
            format!("{missing:#}").starts_with("could not read authorized keys"),
            "{missing:#}"
        );
    }
}
