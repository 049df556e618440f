//! Bulk data through pipes with few wake-ups: bigger kernel buffers for
//! the command's stdin in `sesh serve` and for `sesh exec`'s own stdin and
//! stdout once a fast producer or reader shows, and the chunks queued for
//! a pipe written with one `writev` ([`slices`], [`written`]). A 64 KiB
//! pipe fed a packet per write wakes its reader for every packet and stops
//! the writer whenever the reader lags. Measured on a 1 GiB upload through
//! sesh serve into `cat`: the server's and cat's context switches fell
//! from ~35,000 each to ~4,000.
//!
//! Pipe buffers count against the user's pipe pages
//! (`/proc/sys/fs/pipe-user-pages-soft`, 64 MiB by default): past that,
//! every new pipe of the user gets one page. So the server grows at most
//! [`SERVER`] pipes at a time, and the client only its own stdin and
//! stdout, only once it has seen bulk data on them.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Buf, Bytes};

/// The size a grown pipe gets (the unprivileged maximum,
/// `/proc/sys/fs/pipe-max-size`, by default).
pub const BULK: usize = 1024 * 1024;
/// What a pipe holds unless grown: a read this long found it full.
pub const DEFAULT: usize = 64 * 1024;
/// Grown pipes a server holds at once: 16 MiB, a quarter of the default
/// per-user budget.
pub static SERVER: Budget = Budget::new(16);

/// Grows the pipe `fd` is an end of to [`BULK`]; false when it is no pipe
/// or the kernel refused.
pub fn grow(fd: impl AsFd) -> bool {
    // SAFETY: F_SETPIPE_SZ takes an int and touches no memory of ours.
    unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_SETPIPE_SZ, BULK as libc::c_int) >= 0 }
}

/// `chunks` as one `writev` takes them.
pub fn slices(chunks: &VecDeque<Bytes>) -> Vec<IoSlice<'_>> {
    chunks.iter().map(|chunk| IoSlice::new(chunk)).collect()
}

/// Drops the first `n` bytes of `chunks`, which a `writev` wrote.
pub fn written(chunks: &mut VecDeque<Bytes>, mut n: usize) {
    while n > 0 {
        let Some(first) = chunks.front_mut() else { return };
        if n < first.len() {
            first.advance(n);
            return;
        }
        n -= first.len();
        chunks.pop_front();
    }
}

/// How many grown pipes may exist at once.
pub struct Budget {
    grown: AtomicUsize,
    limit: usize,
}

impl Budget {
    pub const fn new(limit: usize) -> Self {
        Self {
            grown: AtomicUsize::new(0),
            limit,
        }
    }

    /// Grows `fd`'s pipe while the budget has room; the token to drop
    /// when the pipe is done with.
    pub fn grow(&'static self, fd: impl AsFd) -> Option<Grown> {
        if self.grown.fetch_add(1, Ordering::Relaxed) >= self.limit {
            self.grown.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let grown = Grown(self);
        grow(fd).then_some(grown)
    }
}

/// One grown pipe, counted against its budget until dropped.
pub struct Grown(&'static Budget);

impl Drop for Grown {
    fn drop(&mut self) {
        self.0.grown.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a short `writev` wrote leaves the rest, in order.
    #[test]
    fn written_keeps_the_rest() {
        let mut chunks = VecDeque::from([Bytes::from_static(b"abc"), Bytes::from_static(b"defg")]);
        written(&mut chunks, 2);
        assert_eq!(chunks, [&b"c"[..], &b"defg"[..]]);
        written(&mut chunks, 3);
        assert_eq!(chunks, [&b"fg"[..]]);
        written(&mut chunks, 2);
        assert!(chunks.is_empty());
    }

    /// A pipe grows; a file does not; the budget counts and frees.
    #[test]
    fn grows_pipes_within_the_budget() {
        let (reader, _writer) = std::io::pipe().unwrap();
        assert!(grow(&reader));
        // SAFETY: F_GETPIPE_SZ reads the size only.
        let size = unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_GETPIPE_SZ) };
        assert_eq!(size as usize, BULK);
        let file = tempfile::tempfile().unwrap();
        assert!(!grow(&file));
        static BUDGET: Budget = Budget::new(3);
        let pipes: Vec<_> = (0..5).map(|_| std::io::pipe().unwrap()).collect();
        let grown: Vec<_> = pipes.iter().filter_map(|(r, _)| BUDGET.grow(r)).collect();
        assert_eq!(grown.len(), 3);
        drop(grown);
        assert!(BUDGET.grow(&file).is_none(), "a file is no pipe");
        assert!(BUDGET.grow(&pipes[0].0).is_some());
    }
}
