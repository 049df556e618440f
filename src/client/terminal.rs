//! The local terminal: asking for a passphrase on `/dev/tty`, raw mode for
//! `-t` (restored whenever the guard drops), and the window size.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

/// Asks for a secret on the controlling terminal without echo; `None` when
/// there is no terminal to ask on (a script, CI), so the caller can fail
/// at once instead of hanging.
pub fn ask_secret(prompt: &str) -> Option<String> {
    let tty = File::options().read(true).write(true).open("/dev/tty").ok()?;
    let saved = termios::tcgetattr(&tty).ok()?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    termios::tcsetattr(&tty, SetArg::TCSANOW, &quiet).ok()?;
    let mut writer = &tty;
    let _ = writer.write_all(prompt.as_bytes());
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    let _ = termios::tcsetattr(&tty, SetArg::TCSANOW, &saved);
    read.ok()?;
    Some(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Whether stdin is a terminal.
pub fn stdin_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdin())
}

/// The terminal's size as (columns, rows), from stdin.
pub fn size() -> Option<(u32, u32)> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize through a valid pointer.
    let rc = unsafe { libc::ioctl(std::io::stdin().as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some((u32::from(ws.ws_col), u32::from(ws.ws_row)))
}

/// Raw mode on stdin until dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts the terminal on stdin in raw mode.
    pub fn enable() -> std::io::Result<Self> {
        let stdin = stdin_fd();
        let saved = termios::tcgetattr(stdin).map_err(std::io::Error::from)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin, SetArg::TCSADRAIN, &raw).map_err(std::io::Error::from)?;
        Ok(Self { saved })
    }

    /// Restores the terminal; also done on drop. TCSANOW, not TCSADRAIN:
    /// draining waits for the terminal to read what was written, and a
    /// terminal that stopped reading would then hang sesh on its way out.
    pub fn restore(&self) {
        let _ = termios::tcsetattr(stdin_fd(), SetArg::TCSANOW, &self.saved);
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

fn stdin_fd() -> BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the life of the process.
    unsafe { BorrowedFd::borrow_raw(0) }
}
