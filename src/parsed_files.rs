//! Files parsed once per process while they are unchanged: known_hosts and
//! identity files in `sesh exec` (a fan-out reads them for every host) and
//! `authorized_keys` and the trusted user CA keys file in `sesh serve`
//! (read at every login attempt).
//!
//! A file is unchanged while its size, modification and change times and
//! inode are; an edit that keeps all four is only possible within one tick
//! of the kernel's clock, so a file changed less than a second (`SETTLED`)
//! before it was read is not kept (it is read again next time, as git
//! treats racy index entries). What a parse fails on is never kept.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long ago a file must have changed for its parse to be kept.
const SETTLED: Duration = Duration::from_secs(1);

/// Size, mtime and ctime (ns), inode.
type Stamp = (u64, i128, i128, u64);

/// Parses of files of one kind, by path.
pub struct ParsedFiles<T> {
    kept: Mutex<BTreeMap<PathBuf, (Stamp, Arc<T>)>>,
}

impl<T> ParsedFiles<T> {
    pub const fn new() -> Self {
        Self {
            kept: Mutex::new(BTreeMap::new()),
        }
    }

    /// The parse of `path`: the kept one while the file is unchanged, else
    /// `parse()`'s, kept when the file has settled.
    pub fn get<E>(&self, path: &Path, parse: impl FnOnce() -> Result<T, E>) -> Result<Arc<T>, E> {
        // Taken before reading: a change during the parse shows next time.
        let stamp = stamp(path);
        if let Some(stamp) = stamp
            && let Some((_, parsed)) = self.lock().get(path).filter(|(kept, _)| *kept == stamp)
        {
            return Ok(parsed.clone());
        }
        let parsed = Arc::new(parse()?);
        if let Some(stamp) = stamp.filter(settled) {
            self.lock().insert(path.to_path_buf(), (stamp, parsed.clone()));
        }
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, (Stamp, Arc<T>)>> {
        // A poisoned lock only means a panic elsewhere while inserting: the
        // map still holds whole entries.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T> Default for ParsedFiles<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for ParsedFiles<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ParsedFiles({} kept)", self.lock().len())
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    let ns = |s: i64, ns: i64| i128::from(s) * 1_000_000_000 + i128::from(ns);
    Some((
        meta.len(),
        ns(meta.mtime(), meta.mtime_nsec()),
        ns(meta.ctime(), meta.ctime_nsec()),
        meta.ino(),
    ))
}

/// Whether the file's last change is at least [`SETTLED`] old.
fn settled(stamp: &Stamp) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let changed = stamp.1.max(stamp.2);
    now - changed >= SETTLED.as_nanos() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_count(files: &ParsedFiles<String>, path: &Path, parses: &mut usize) -> String {
        let parsed = files.get(path, || {
            *parses += 1;
            std::fs::read_to_string(path)
        });
        parsed.unwrap().to_string()
    }

    /// Set a file's times `ago` into the past (as if it settled then).
    fn age(path: &Path, ago: Duration) {
        let then = SystemTime::now() - ago;
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_times(std::fs::FileTimes::new().set_modified(then).set_accessed(then))
            .unwrap();
    }

    /// A settled file is parsed once; any change (here the same length,
    /// rewritten in place) is read again. ctime moves with every write, so
    /// the rewrite is seen even with its mtime set back.
    #[test]
    fn a_settled_file_is_kept_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        age(&path, Duration::from_secs(10));
        // ctime is now; wait it out rather than fake it.
        std::thread::sleep(SETTLED);
        let files = ParsedFiles::new();
        let mut parses = 0;
        assert_eq!(parse_count(&files, &path, &mut parses), "one");
        assert_eq!(parse_count(&files, &path, &mut parses), "one");
        assert_eq!(parses, 1);
        std::fs::write(&path, "two").unwrap();
        age(&path, Duration::from_secs(10));
        assert_eq!(parse_count(&files, &path, &mut parses), "two");
        assert_eq!(parses, 2);
    }

    /// A file changed just now is not kept: an edit in the same clock tick
    /// could leave every part of its stamp as it was.
    #[test]
    fn a_fresh_file_is_read_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let files = ParsedFiles::new();
        let mut parses = 0;
        parse_count(&files, &path, &mut parses);
        parse_count(&files, &path, &mut parses);
        assert_eq!(parses, 2);
    }

    /// A failed parse is not kept; a missing file is not either.
    #[test]
    fn failures_and_missing_files_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        let files: ParsedFiles<String> = ParsedFiles::new();
        assert!(files.get(&path, || std::fs::read_to_string(&path)).is_err());
        let mut tries = 0;
        for _ in 0..2 {
            let _ = files.get(&path, || {
                tries += 1;
                Ok::<_, ()>(String::new())
            });
        }
        assert_eq!(tries, 2);
    }
}
