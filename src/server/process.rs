//! A job that is a local command: spawned in its own session and process
//! group with three pipes or one pty and a clean signal state, signalled as
//! a group, and its ending read as an exit status or a signal.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use tokio::process::Command;

use super::job::{Ending, Job, JobIo, Stop};
use super::pty::{self, WindowSize};

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

/// Starts the command as a job whose [`Stop`] is its process group. Fails
/// only when the system cannot start the program (a command the shell
/// cannot find is the shell's own 127).
pub fn spawn(spec: &ProcessSpec) -> io::Result<Job> {
    if super::spawn::suits(spec) {
        return spawn_shared(spec);
    }
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
    let last_signal = last_signal();
    let open_files = crate::rlimit::for_children();
    // SAFETY: only async-signal-safe calls (sigaction, sigprocmask,
    // setrlimit, setsid, ioctl) run between fork and exec.
    unsafe {
        command.pre_exec(move || {
            reset_signals(last_signal)?;
            // The open-file limit the server started with, not the one it
            // raised for itself (a failure leaves the raised one).
            if let Some(limit) = &open_files {
                libc::setrlimit(libc::RLIMIT_NOFILE, limit);
            }
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
        Some(pair) => JobIo::Pty(Arc::new(pair.master)),
        None => JobIo::Pipes {
            stdin: Box::new(child.stdin.take().expect("stdin was piped")),
            stdout: Box::new(child.stdout.take().expect("stdout was piped")),
            stderr: Box::new(child.stderr.take().expect("stderr was piped")),
        },
    };
    let wait = async move { child.wait().await.map_or(Ending::Exited(255), Ending::from) };
    Ok(Job {
        io,
        wait: Box::pin(wait),
        stop: Stop::Group(pgid),
    })
}

/// [`spawn`] without a fork (see [`super::spawn`]): pipes only.
fn spawn_shared(spec: &ProcessSpec) -> io::Result<Job> {
    let child = super::spawn::spawn(spec, last_signal())?;
    let pid = child.pid;
    // Bulk input wakes the command once per batch, not per packet.
    let grown = crate::pipes::SERVER.grow(&child.stdin);
    let io = JobIo::Pipes {
        stdin: Box::new(tokio::net::unix::pipe::Sender::from_owned_fd(child.stdin)?),
        stdout: Box::new(tokio::net::unix::pipe::Receiver::from_owned_fd(child.stdout)?),
        stderr: Box::new(tokio::net::unix::pipe::Receiver::from_owned_fd(child.stderr)?),
    };
    let wait = async move {
        let _grown = grown;
        super::spawn::wait(pid)
            .await
            .map_or(Ending::Exited(255), Ending::from)
    };
    Ok(Job {
        io,
        wait: Box::pin(wait),
        // After setsid the child leads its own process group.
        stop: Stop::Group(pid),
    })
}

/// The highest signal number of this platform.
fn last_signal() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        31
    }
}

/// Puts every signal back to its default action and unblocks all, in the
/// child before exec: ignored signals and the mask survive exec, and a
/// `sesh serve` started from a script (INT and QUIT ignored), by `nohup`
/// (HUP ignored) or from a shell that blocks a signal would hand them to
/// every command, which then shrugs off `signal` requests and the hang-up.
/// sshd resets them too. Only async-signal-safe calls.
///
/// # Safety
/// To be called in the forked child only (it changes the process's
/// signal state).
pub(super) unsafe fn reset_signals(last_signal: i32) -> io::Result<()> {
    // SAFETY: zeroed is a valid sigaction (empty mask, no flags); with
    // SIG_DFL as handler it installs no code of ours.
    let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
    default.sa_sigaction = libc::SIG_DFL;
    for signo in 1..=last_signal {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a valid sigaction pointer, no old action asked for.
        if unsafe { libc::sigaction(signo, &default, std::ptr::null_mut()) } != 0 {
            // SAFETY: as for reset_reserved.
            unsafe { reset_reserved(signo, last_signal) };
        }
    }
    // SAFETY: the set is initialised by sigemptyset before use.
    unsafe {
        let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        if libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Resets a signal the C library keeps for itself and will not let
/// `sigaction` touch (glibc's 32 and 33). It can still arrive ignored:
/// glibc's `posix_spawn` sets those to SIG_IGN in the new process when the
/// parent handled them, and SIG_IGN survives exec. The kernel's sigaction
/// for SIG_DFL, no flags, no restorer and an empty mask is all zeros on
/// every architecture, so zeros (more than any layout reads) do.
///
/// # Safety
/// In the forked child only; a raw system call, async-signal-safe.
#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn reset_reserved(signo: i32, last_signal: i32) {
    let zeros = [0u64; 8];
    let set_size = (last_signal as usize + 1) / 8;
    // SAFETY: the kernel reads one sigaction from `zeros` and writes no
    // old action; a failure leaves the signal as it was.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::c_long::from(signo),
            zeros.as_ptr(),
            std::ptr::null_mut::<libc::c_void>(),
            set_size,
        )
    };
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
unsafe fn reset_reserved(_signo: i32, _last_signal: i32) {}

/// Sends `signo` to every process of the group; a group already gone is
/// not an error.
pub(super) fn signal_group(pgid: i32, signo: i32) {
    // SAFETY: killpg has no memory-safety preconditions.
    let rc = unsafe { libc::killpg(pgid, signo) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, signo, error = %err, "could not signal the process group");
        }
    }
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
