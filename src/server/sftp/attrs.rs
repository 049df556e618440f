//! File attributes between the file system and SFTP: metadata as SFTP
//! version 3 attributes and as the `ls -l` line clients show, and the
//! changes of SETSTAT and FSETSTAT applied to a path or an open file.

use std::fs::{File, Metadata, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use russh_sftp::protocol::FileAttributes;

/// A file's attributes as SFTP carries them (times as 32-bit seconds).
pub fn from_metadata(meta: &Metadata) -> FileAttributes {
    FileAttributes {
        size: Some(meta.len()),
        uid: Some(meta.uid()),
        user: None,
        gid: Some(meta.gid()),
        group: None,
        permissions: Some(meta.mode()),
        atime: Some(seconds(meta.atime())),
        mtime: Some(seconds(meta.mtime())),
    }
}

fn seconds(time: i64) -> u32 {
    time.clamp(0, i64::from(u32::MAX)) as u32
}

/// The `ls -l` style line SFTP version 3 sends with each directory entry,
/// in the shape of OpenSSH's: mode, links, owner, group, size, date, name.
pub fn longname(name: &str, meta: &Metadata) -> String {
    format!(
        "{} {:>3} {:<8} {:<8} {:>8} {} {name}",
        mode_string(meta.mode()),
        meta.nlink(),
        meta.uid(),
        meta.gid(),
        meta.len(),
        date(meta.mtime()),
    )
}

/// `drwxr-xr-x` from a mode, with setuid, setgid and sticky bits.
fn mode_string(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFLNK => 'l',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        libc::S_IFSOCK => 's',
        _ => '-',
    };
    let mut text = String::with_capacity(10);
    text.push(kind);
    for (shift, special, set, unset) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    text
}

/// `Jan 02 2026 13:45` in UTC (the server knows no client time zone).
fn date(mtime: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = mtime.div_euclid(86_400);
    let minutes = mtime.rem_euclid(86_400) / 60;
    let (year, month, day) = crate::civil::date_from_days(days);
    let name = MONTHS[(month - 1) as usize];
    format!("{name} {day:02} {year} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// What SETSTAT or FSETSTAT changes.
pub enum Target<'a> {
    Path(&'a Path),
    File(&'a File),
}

/// Applies size, permissions, owner and times, in that order (as OpenSSH's
/// sftp-server), stopping at the first failure.
pub fn apply(target: Target<'_>, attrs: &FileAttributes) -> io::Result<()> {
    if let Some(size) = attrs.size {
        match target {
            Target::Path(path) => nix::unistd::truncate(path, size as libc::off_t)?,
            Target::File(file) => file.set_len(size)?,
        }
    }
    if let Some(mode) = attrs.permissions {
        let permissions = Permissions::from_mode(mode & 0o7777);
        match target {
            Target::Path(path) => std::fs::set_permissions(path, permissions)?,
            Target::File(file) => file.set_permissions(permissions)?,
        }
    }
    if let (Some(uid), Some(gid)) = (attrs.uid, attrs.gid) {
        match target {
            Target::Path(path) => std::os::unix::fs::chown(path, Some(uid), Some(gid))?,
            Target::File(file) => std::os::unix::fs::fchown(file, Some(uid), Some(gid))?,
        }
    }
    if let (Some(atime), Some(mtime)) = (attrs.atime, attrs.mtime) {
        let at = |secs: u32| UNIX_EPOCH + Duration::from_secs(u64::from(secs));
        match target {
            Target::Path(path) => {
                use nix::sys::time::TimeVal;
                let tv = |secs: u32| TimeVal::new(libc::time_t::from(secs), 0);
                nix::sys::stat::utimes(path, &tv(atime), &tv(mtime))?;
            }
            Target::File(file) => {
                file.set_times(
                    std::fs::FileTimes::new()
                        .set_accessed(at(atime))
                        .set_modified(at(mtime)),
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mode strings follow `ls -l`, special bits included.
    #[test]
    fn modes() {
        assert_eq!(mode_string(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(libc::S_IFREG | 0o4644), "-rwSr--r--");
        assert_eq!(mode_string(libc::S_IFREG | 0o1777), "-rwxrwxrwt");
        assert_eq!(mode_string(libc::S_IFLNK | 0o777), "lrwxrwxrwx");
    }

    /// Dates are civil UTC dates, leap days and the epoch included.
    #[test]
    fn dates() {
        assert_eq!(date(0), "Jan 01 1970 00:00");
        assert_eq!(date(951_782_400 + 3_660), "Feb 29 2000 01:01");
        assert_eq!(date(1_767_225_599), "Dec 31 2025 23:59");
    }
}
