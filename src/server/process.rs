//! The local command of a session: spawned in its own session and process
//! group with three pipes or one pty, signalled as a group, and its ending
//! read as an exit status or a signal.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::pty::{self, PtyMaster, WindowSize};

/// Everything needed to start the command.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// `argv[0]` when it differs from the program (`-sh` for a login shell).
    pub arg0: Option<OsString>,
    /// The complete environment; nothing is inherited.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    /// A pty of this size instead of pipes.
    pub pty: Option<WindowSize>,
}

/// The child's end of the session's streams.
pub enum ProcessIo {
    Pipes {
        stdin: ChildStdin,
        stdout: ChildStdout,
        stderr: ChildStderr,
    },
    Pty(Arc<PtyMaster>),
}

/// A running command.
pub struct Process {
    pub child: Child,
    /// The process group the child leads (its pid, after `setsid`).
    pub pgid: i32,
    pub io: ProcessIo,
}

/// Starts the command. Fails only when the system cannot start the program
/// (a command the shell cannot find is the shell's own 127).
pub fn spawn(spec: &ProcessSpec) -> io::Result<Process> {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().cloned())
        .current_dir(&spec.cwd);
    if let Some(arg0) = &spec.arg0 {
        command.arg0(arg0);
    }
    let pair = spec.pty.map(pty::open).transpose()?;
    match &pair {
        Some(pair) => {
            if let Ok(tty) = nix::unistd::ttyname(&pair.slave) {
                command.env("SSH_TTY", tty);
            }
            command
                .stdin(Stdio::from(pair.slave.try_clone()?))
                .stdout(Stdio::from(pair.slave.try_clone()?))
                .stderr(Stdio::from(pair.slave.try_clone()?));
        }
        None => {
            command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
    }
    let controlling_tty = pair.is_some();
    // SAFETY: only async-signal-safe calls (setsid, ioctl) run between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if controlling_tty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn()?;
    let pgid = child
        .id()
        .map(|id| id as i32)
        .ok_or_else(|| io::Error::other("child exited at once"))?;
    let io = match pair {
        // Our copies of the slave are dropped here: once the child's side
        // closes, reading the master reports the end of output.
        Some(pair) => ProcessIo::Pty(Arc::new(pair.master)),
        None => ProcessIo::Pipes {
            stdin: child.stdin.take().expect("stdin was piped"),
            stdout: child.stdout.take().expect("stdout was piped"),
            stderr: child.stderr.take().expect("stderr was piped"),
        },
    };
    Ok(Process { child, pgid, io })
}

/// Sends `signo` to every process of the group; a group already gone is
/// not an error.
pub fn signal_group(pgid: i32, signo: i32) {
    // SAFETY: killpg has no memory-safety preconditions.
    let rc = unsafe { libc::killpg(pgid, signo) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, signo, error = %err, "could not signal the process group");
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(u32),
    Killed { signo: i32, core_dumped: bool },
}

impl From<ExitStatus> for Ending {
    fn from(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => Ending::Exited(code as u32),
            (None, Some(signo)) => Ending::Killed {
                signo,
                core_dumped: status.core_dumped(),
            },
            // Stopped/continued statuses never come out of wait(); report
            // something rather than nothing.
            (None, None) => Ending::Exited(255),
        }
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Exited(code) => write!(f, "exit {code}"),
            Ending::Killed { signo, core_dumped } => {
                write!(f, "signal {}", crate::signals::wire_name(*signo))?;
                if *core_dumped {
                    write!(f, " (core dumped)")?;
                }
                Ok(())
            }
        }
    }
}
