//! Three descriptors reserved while the server's numbers are still low,
//! through which [`super::spawn`] hands a command its pipes. The child
//! then takes a private copy of only the descriptors below them
//! (`close_range(.., CLOSE_RANGE_UNSHARE)`) instead of the whole table.
//!
//! Why: a child that copies the server's table holds a reference to every
//! socket and listener, and its exec closes them all again: with 2,000
//! descriptors open (the 1,000-address fleet of the benchmark and its
//! connections) that was `do_close_on_exec` and `filp_close` high in the
//! profile of every command's start.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard, OnceLock};

struct Slots {
    /// What a slot holds while no child is being started.
    null: OwnedFd,
    fds: Mutex<[OwnedFd; 3]>,
}

static SLOTS: OnceLock<Option<Slots>> = OnceLock::new();

/// Reserves the slots, once; call it before binding the listeners. Without
/// them (no /dev/null) children copy the whole table, as before.
pub fn reserve() {
    SLOTS.get_or_init(|| open().ok());
}

fn open() -> io::Result<Slots> {
    // std opens with O_CLOEXEC: no command inherits a slot by accident.
    let null = || -> io::Result<OwnedFd> {
        Ok(OwnedFd::from(
            OpenOptions::new().read(true).write(true).open("/dev/null")?,
        ))
    };
    Ok(Slots {
        fds: Mutex::new([null()?, null()?, null()?]),
        null: null()?,
    })
}

/// The slots, holding a child's three pipe ends until dropped, which
/// puts /dev/null back (the server must not keep the pipes open).
pub struct Loaded {
    guard: MutexGuard<'static, [OwnedFd; 3]>,
    null: &'static OwnedFd,
}

/// Puts `ends` into the slots; `None` when there are none.
pub fn load(ends: [&OwnedFd; 3]) -> Option<io::Result<Loaded>> {
    let slots = SLOTS.get()?.as_ref()?;
    // A panic while holding the slots left /dev/null or pipe ends in them;
    // both are overwritten below.
    let guard = slots.fds.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (slot, end) in guard.iter().zip(ends) {
        if let Err(e) = replace(end.as_raw_fd(), slot.as_raw_fd()) {
            return Some(Err(e));
        }
    }
    Some(Ok(Loaded {
        guard,
        null: &slots.null,
    }))
}

impl Loaded {
    /// The descriptors the child dups onto 0, 1 and 2.
    pub fn fds(&self) -> [RawFd; 3] {
        [0, 1, 2].map(|i| self.guard[i].as_raw_fd())
    }

    /// The lowest descriptor the child need not copy.
    pub fn below(&self) -> u32 {
        self.fds().into_iter().max().unwrap_or(2) as u32 + 1
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        for slot in self.guard.iter() {
            let _ = replace(self.null.as_raw_fd(), slot.as_raw_fd());
        }
    }
}

/// Makes `target` (one of ours) a close-on-exec copy of `source`, atomically.
fn replace(source: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: both descriptors are open and owned by the caller's values;
    // dup3 only changes which file `target` refers to.
    if unsafe { libc::dup3(source, target, libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
