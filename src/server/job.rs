//! What runs behind a session channel, a "job": a local command
//! (`process.rs`) or a builtin service running in this process (SFTP).
//! The session sees one shape for both: streams, a future that ends with
//! the job, and a way to stop it, so its ordering and hang-up rules apply
//! to either unchanged.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use super::process::{self, ProcessSpec};
use super::pty::PtyMaster;

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
            process::signal_group(*pgid, signo);
        }
    }

    /// Hangs the job up: SIGHUP to a command's group, cancellation for a
    /// builtin. True when a SIGKILL should follow after a grace period.
    pub fn hang_up(&self) -> bool {
        match self {
            Stop::Group(pgid) => {
                process::signal_group(*pgid, libc::SIGHUP);
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
            Stop::Group(pgid) => process::signal_group(*pgid, libc::SIGKILL),
            Stop::Builtin(cancel) => cancel.cancel(),
        }
    }
}

/// Starts a job. Fails only when the system cannot start the program (a
/// command the shell cannot find is the shell's own 127).
pub fn start(spec: &JobSpec) -> io::Result<Job> {
    match spec {
        JobSpec::Process(spec) => process::spawn(spec),
        JobSpec::Sftp { home } => Ok(super::sftp::start(home.clone())),
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(u32),
    Killed { signo: i32, core_dumped: bool },
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
