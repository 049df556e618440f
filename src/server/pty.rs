//! The pseudo-terminal of a session that asked for one: opened before the
//! child starts, its master end read and written asynchronously, resized on
//! `window-change` (the kernel then tells the child by SIGWINCH).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::pty::{Winsize, openpty};
use tokio::io::unix::AsyncFd;

/// Terminal size in characters and pixels, as `pty-req` and
/// `window-change` carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub cols: u32,
    pub rows: u32,
    pub pix_width: u32,
    pub pix_height: u32,
}

impl WindowSize {
    fn winsize(self) -> Winsize {
        // The wire carries u32; the kernel keeps u16. Clamp, never wrap.
        let clamp = |v: u32| v.min(u32::from(u16::MAX)) as u16;
        Winsize {
            ws_row: clamp(self.rows),
            ws_col: clamp(self.cols),
            ws_xpixel: clamp(self.pix_width),
            ws_ypixel: clamp(self.pix_height),
        }
    }
}

/// A newly opened pty: the slave goes to the child, the master stays.
pub struct PtyPair {
    pub master: PtyMaster,
    pub slave: OwnedFd,
}

/// Opens a pty with the given size.
pub fn open(size: WindowSize) -> io::Result<PtyPair> {
    let pair = openpty(&size.winsize(), None).map_err(io::Error::from)?;
    let master = PtyMaster::new(pair.master)?;
    Ok(PtyPair {
        master,
        slave: pair.slave,
    })
}

/// The master end of a pty, readable and writable from async code.
pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

impl PtyMaster {
    fn new(fd: OwnedFd) -> io::Result<Self> {
        let flags = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the same
        // descriptor until the AsyncFd is dropped.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| e.into_parts().1)?;
        Ok(Self { fd })
    }

    /// Reads some output; `Ok(0)` once every slave end is closed (Linux
    /// reports that as EIO).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io::Error::from)) {
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `buf` to the terminal's input.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(io::Error::from)) {
                Ok(Ok(n)) => buf = &buf[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Sets the terminal size.
    pub fn resize(&self, size: WindowSize) -> io::Result<()> {
        let ws = size.winsize();
        // SAFETY: TIOCSWINSZ reads one Winsize from a valid pointer on an open fd.
        let rc = unsafe { libc::ioctl(self.fd.get_ref().as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}
