//! The server's `authorized_keys` file: held to StrictModes and read again
//! at every login attempt, as sshd does, so edits apply without a restart
//! and a file made unsafe after the start lets nobody in. The StrictModes
//! checks run every time; the parse is kept while the file is unchanged
//! ([`ParsedFiles`]: 1,000 logins spent 4% of the server's time parsing
//! one small file again). Warnings about skipped lines are logged when
//! they change, not at every attempt (a client offering three keys would
//! otherwise repeat them six times).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::keys::authorized_keys::AuthorizedKeys;
use crate::keys::strict_modes::{self, Kind};
use crate::parsed_files::ParsedFiles;

/// The file and how to read it.
#[derive(Debug)]
pub struct AuthorizedKeysFile {
    path: PathBuf,
    /// The serving account's uid when StrictModes is on.
    strict_uid: Option<u32>,
    parsed: ParsedFiles<AuthorizedKeys>,
    warned: Warned,
}

impl AuthorizedKeysFile {
    pub fn new(path: PathBuf, strict_uid: Option<u32>) -> Self {
        Self {
            path,
            strict_uid,
            parsed: ParsedFiles::new(),
            warned: Warned::default(),
        }
    }

    /// Checks and parses the file, logging each skipped line (file and
    /// line number) when the set of skipped lines has changed.
    pub fn load(&self) -> color_eyre::Result<Arc<AuthorizedKeys>> {
        let path = checked(&self.path, Kind::AuthorizedKeys, self.strict_uid)?;
        let keys = self.parsed.get(&path, || AuthorizedKeys::read(&path))?;
        self.warned.log_changes(&self.path, &keys.warnings);
        Ok(keys)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `path` itself, or the canonical path StrictModes checked for `uid`.
pub(super) fn checked(path: &Path, kind: Kind, strict_uid: Option<u32>) -> color_eyre::Result<PathBuf> {
    match strict_uid {
        Some(uid) => strict_modes::check(path, kind, uid),
        None => Ok(path.to_path_buf()),
    }
}

/// The warnings of a file last logged.
#[derive(Debug, Default)]
pub(super) struct Warned(Mutex<Vec<String>>);

impl Warned {
    /// Logs `warnings` when they differ from the ones logged last.
    pub(super) fn log_changes(&self, path: &Path, warnings: &[String]) {
        // A poisoned lock only means a panic elsewhere mid-update of a
        // log-dedup list: its contents are still a valid list.
        let mut warned = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if *warned != warnings {
            for warning in warnings {
                tracing::warn!("{}: {warning}", path.display());
            }
            *warned = warnings.to_vec();
        }
    }
}
