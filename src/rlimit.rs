//! The open-file limit. A fan-out to a thousand hosts, or a server for a
//! thousand clients, needs a few descriptors for each; the usual soft limit
//! of 1024 would refuse the rest, while the hard limit is far higher. Both
//! commands raise the soft limit to the hard one at start, as a program
//! that means to hold many connections should; commands that `sesh serve`
//! runs get the limit sesh started with back ([`original_soft`]).

use std::sync::OnceLock;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

static ORIGINAL_SOFT: OnceLock<u64> = OnceLock::new();

/// Raises the soft limit on open files to the hard limit; a failure only
/// leaves the limit as it was, and is logged.
pub fn raise_open_files() {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    ORIGINAL_SOFT.get_or_init(|| soft);
    if soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::debug!("could not raise the open-file limit from {soft} to {hard}: {e}");
    }
}

/// The soft limit before [`raise_open_files`], if it ran.
pub fn original_soft() -> Option<u64> {
    ORIGINAL_SOFT.get().copied()
}

/// The limit a command started by sesh should get: the soft limit sesh
/// started with under today's hard limit; `None` when it was not raised.
pub fn for_children() -> Option<libc::rlimit> {
    let original = original_soft()?;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    (soft != original).then_some(libc::rlimit {
        rlim_cur: original,
        rlim_max: hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After the raise the soft limit equals the hard one, and the old
    /// soft limit is remembered.
    #[test]
    fn raises_to_hard() {
        let (before, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        raise_open_files();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(soft, hard);
        assert_eq!(original_soft(), Some(before));
    }
}
