//! What runs behind a session channel, a "job": a local command (spawned
//! in its own session and process group with three pipes or one pty,
//! signalled as a group, its ending read as an exit status or a signal) or
//! a builtin service running in this process (SFTP). The session sees one
//! shape for both: streams, a future that ends with the job, and a way to
//! stop it, so its ordering and hang-up rules apply to either unchanged.

use std::ffi::OsString;
use std::future::Future;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

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

/// What to start for a session.
#[derive(Debug, Clone)]
pub enum JobSpec {
    /// A local command.
    Process(ProcessSpec),
    /// The builtin SFTP server, relative paths resolved from `home`.
    Sftp { home: PathBuf },
}

/// The job's input, as the session writes it.
pub type Input = Box<dyn AsyncWrite + Send + Unpin>;
/// One of the job's outputs, as the session reads it.
pub type Output = Box<dyn AsyncRead + Send + Unpin>;

/// The job's end of the session's streams.
pub enum JobIo {
    Pipes {
        stdin: Input,
        stdout: Output,
        stderr: Output,
    },
    Pty(Arc<PtyMaster>),
}

/// How a job is signalled and stopped.
#[derive(Debug, Clone)]
pub enum Stop {
    /// The process group a command leads (its pid, after `setsid`).
    Group(i32),
    /// A builtin: cancelling ends it at its next read or write.
    Builtin(CancellationToken),
}

/// A running job.
pub struct Job {
    pub io: JobIo,
    /// Resolves once the job has ended (a command: reaped).
    pub wait: Pin<Box<dyn Future<Output = Ending> + Send>>,
    pub stop: Stop,
}

impl Stop {
    /// Sends `signo` to a command's group; a builtin takes no signals.
    pub fn signal(&self, signo: i32) {
        if let Stop::Group(pgid) = self {
            signal_group(*pgid, signo);
        }
    }

    /// Hangs the job up: SIGHUP to a command's group, cancellation for a
    /// builtin. True when a SIGKILL should follow after a grace period.
    pub fn hang_up(&self) -> bool {
        match self {
            Stop::Group(pgid) => {
                signal_group(*pgid, libc::SIGHUP);
                true
            }
            Stop::Builtin(cancel) => {
                cancel.cancel();
                false
            }
        }
    }

    /// Ends the job at once: SIGKILL, or cancellation.
    pub fn kill(&self) {
        match self {
            Stop::Group(pgid) => signal_group(*pgid, libc::SIGKILL),
            Stop::Builtin(cancel) => cancel.cancel(),
        }
    }
}

/// Starts a job. Fails only when the system cannot start the program (a
/// command the shell cannot find is the shell's own 127).
pub fn start(spec: &JobSpec) -> io::Result<Job> {
    match spec {
        JobSpec::Process(spec) => spawn(spec),
        JobSpec::Sftp { home } => Ok(super::sftp::start(home.clone())),
    }
}

fn spawn(spec: &ProcessSpec) -> io::Result<Job> {
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

/// Sends `signo` to every process of the group; a group already gone is
/// not an error.
fn signal_group(pgid: i32, signo: i32) {
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
