//! The server's `authorized_keys` file: held to StrictModes and read again
//! at every login attempt, as sshd does, so edits apply without a restart
//! and a file made unsafe after the start lets nobody in. Warnings about
//! skipped lines are logged when they change, not at every attempt (a
//! client offering three keys would otherwise repeat them six times).

use std::path::PathBuf;
use std::sync::Mutex;

use crate::keys::authorized_keys::AuthorizedKeys;
use crate::keys::strict_modes::{self, Kind};

/// The file and how to read it.
#[derive(Debug)]
pub struct AuthorizedKeysFile {
    path: PathBuf,
    /// The serving account's uid when StrictModes is on.
    strict_uid: Option<u32>,
    /// The warnings last logged.
    warned: Mutex<Vec<String>>,
}

impl AuthorizedKeysFile {
    pub fn new(path: PathBuf, strict_uid: Option<u32>) -> Self {
        Self {
            path,
            strict_uid,
            warned: Mutex::new(Vec::new()),
        }
    }

    /// Checks and parses the file, logging each skipped line (file and
    /// line number) when the set of skipped lines has changed.
    pub fn load(&self) -> color_eyre::Result<AuthorizedKeys> {
        let keys = match self.strict_uid {
            Some(uid) => AuthorizedKeys::read(&strict_modes::check(&self.path, Kind::AuthorizedKeys, uid)?)?,
            None => AuthorizedKeys::read(&self.path)?,
        };
        // A poisoned lock only means a panic elsewhere mid-update of a
        // log-dedup list: its contents are still a valid list.
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if *warned != keys.warnings {
            for warning in &keys.warnings {
                tracing::warn!("{}: {warning}", self.path.display());
            }
            warned.clone_from(&keys.warnings);
        }
        Ok(keys)
    }
}
