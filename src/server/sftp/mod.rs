//! The builtin SFTP server (`--sftp internal`, the default): SFTP version 3
//! with OpenSSH's common extensions, served in this process as the account
//! `sesh serve` runs as, relative paths starting at its home, like sshd's
//! `internal-sftp` without a chroot. So `scp` and `sftp` work on a machine
//! with no OpenSSH installed.
//!
//! The protocol (framing, packets, dispatch) is the `russh-sftp` crate's;
//! sesh supplies the file operations (`handler.rs`, `fs.rs`, `attrs.rs`).
//! It runs on one end of an in-memory pipe, and the session treats the
//! other end as a command's stdin and stdout: input queue, output pumps,
//! window backpressure, the order of EOF, exit-status and CLOSE, and the
//! hang-up all stay the session's. The crate answers one request at a time
//! and the pipe holds at most [`PIPE`] bytes, so a session's memory stays
//! bounded whatever the size of the files or the client's requests in flight.

mod attrs;
mod fs;
mod handler;

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::oneshot;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::job::{Ending, Job, JobIo, Stop};

/// Bytes the in-memory pipe holds each way: a few SFTP packets.
const PIPE: usize = 256 * 1024;

/// Largest SFTP packet a client may send (the crate's default, and what
/// OpenSSH's sftp-server accepts).
pub(crate) const MAX_PACKET: u32 = 256 * 1024;

/// Starts the builtin on a fresh pipe; its exit status is 0 when the
/// client ends it with EOF, and it reports SIGHUP when it was hung up.
pub fn start(home: PathBuf) -> Job {
    let (ours, theirs) = tokio::io::duplex(PIPE);
    let cancel = CancellationToken::new();
    let (ended_tx, ended_rx) = oneshot::channel::<()>();
    let stream = Served {
        inner: theirs,
        cancel: cancel.clone(),
        cancelled: Box::pin(cancel.clone().cancelled_owned()),
        _ended: ended_tx,
    };
    let config = russh_sftp::server::Config {
        max_client_packet_len: MAX_PACKET,
    };
    // The crate's future spawns the server task, which drops the stream
    // when it ends.
    tokio::spawn(russh_sftp::server::run_with_config(
        stream,
        handler::Sftp::new(home),
        config,
    ));
    let (stdout, stdin) = tokio::io::split(ours);
    let hung_up = cancel.clone();
    let wait = async move {
        let _ = ended_rx.await;
        match hung_up.is_cancelled() {
            true => Ending::Killed {
                signo: libc::SIGHUP,
                core_dumped: false,
            },
            false => Ending::Exited(0),
        }
    };
    Job {
        io: JobIo::Pipes {
            stdin: Box::new(stdin),
            stdout: Box::new(stdout),
            stderr: Box::new(tokio::io::empty()),
        },
        wait: Box::pin(wait),
        stop: Stop::Builtin(cancel),
    }
}

/// The server's end of the pipe. Once cancelled it reads as end of file
/// and refuses writes, so the server task ends at its next step even when
/// nobody reads its output any more; dropping it tells the job's `wait`.
struct Served {
    inner: DuplexStream,
    cancel: CancellationToken,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
    _ended: oneshot::Sender<()>,
}

impl Served {
    /// True once cancelled; otherwise registers the task to wake on it.
    fn stopped(&mut self, cx: &mut Context<'_>) -> bool {
        self.cancel.is_cancelled() || self.cancelled.as_mut().poll(cx).is_ready()
    }
}

impl AsyncRead for Served {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stopped(cx) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Served {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stopped(cx) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Pin::new(&mut this.inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
