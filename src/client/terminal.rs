//! The local terminal: asking for a passphrase on `/dev/tty`, raw mode for
//! `-t` (restored whenever the guard drops), and the window size.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::Signal;
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

/// Asks for a secret on the controlling terminal without echo; `None` when
/// there is no terminal to ask on (a script, CI), so the caller can fail
/// at once instead of hanging, or when the reader gave up (end of file, or
/// the terminal's interrupt or quit key).
///
/// The line is read with the terminal's own signals off (ISIG) and edited
/// here: tokio's handlers restart an interrupted read, so a Ctrl-C the
/// terminal turned into SIGINT would wait for Enter. The interrupt and quit
/// keys are sent as their signals to the terminal's foreground group once
/// the terminal is restored, as the terminal would have; the run then ends
/// as any signal before the remote command started does.
pub fn ask_secret(prompt: &str) -> Option<String> {
    let tty = File::options().read(true).write(true).open("/dev/tty").ok()?;
    let saved = termios::tcgetattr(&tty).ok()?;
    let mut quiet = saved.clone();
    quiet
        .local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG);
    quiet.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    quiet.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    termios::tcsetattr(&tty, SetArg::TCSANOW, &quiet).ok()?;
    let mut writer = &tty;
    let _ = writer.write_all(prompt.as_bytes());
    let read = read_secret(&tty, &saved);
    let _ = writer.write_all(b"\n");
    let _ = termios::tcsetattr(&tty, SetArg::TCSANOW, &saved);
    match read {
        Typed::Line(line) => Some(line),
        Typed::Nothing => None,
        Typed::Signal(signal) => {
            INTERRUPTED.store(signal as i32, Ordering::SeqCst);
            if let Ok(group) = nix::unistd::tcgetpgrp(&tty) {
                let _ = nix::sys::signal::killpg(group, signal);
            }
            None
        }
    }
}

/// The signal of an interrupt or quit key typed at a secret prompt, not
/// yet taken.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// Takes the signal typed at a secret prompt, if one was: the work that
/// asked ends with it even when it finished before the signal arrived.
pub fn interrupted() -> Option<i32> {
    match INTERRUPTED.swap(0, Ordering::SeqCst) {
        0 => None,
        signo => Some(signo),
    }
}

/// What the reader typed at a secret prompt.
enum Typed {
    Line(String),
    Nothing,
    Signal(Signal),
}

/// Reads a line a key at a time, with the terminal's erase and kill keys
/// (`saved` holds them) and its interrupt and quit keys as signals.
fn read_secret(tty: &File, saved: &Termios) -> Typed {
    let key = |which: SpecialCharacterIndices| saved.control_chars[which as usize];
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match (&*tty).read(&mut byte) {
            Ok(1) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            _ => return Typed::Nothing,
        }
        match byte[0] {
            b'\n' | b'\r' => break,
            b if b == key(SpecialCharacterIndices::VINTR) => return Typed::Signal(Signal::SIGINT),
            b if b == key(SpecialCharacterIndices::VQUIT) => return Typed::Signal(Signal::SIGQUIT),
            b if b == key(SpecialCharacterIndices::VEOF) && line.is_empty() => return Typed::Nothing,
            b if b == key(SpecialCharacterIndices::VERASE) || b == 0x08 => {
                // One character: its UTF-8 continuation bytes, then its lead.
                while line.pop().is_some_and(|b| b & 0xc0 == 0x80) {}
            }
            b if b == key(SpecialCharacterIndices::VKILL) => line.clear(),
            b => line.push(b),
        }
    }
    Typed::Line(String::from_utf8_lossy(&line).into_owned())
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
