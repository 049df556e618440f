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

/// How the server task ended, as its end of the pipe saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The client's EOF, or a hang-up.
    Clean,
    /// The client sent a packet longer than [`MAX_PACKET`].
    BadFraming,
    /// The server task panicked.
    Panicked,
}

/// Starts the builtin on a fresh pipe. It ends with exit status 0 when
/// the client ends it with EOF, 1 after a protocol error from the client,
/// 255 if it failed itself, and reports SIGHUP when it was hung up.
pub fn start(home: PathBuf) -> Job {
    let (ours, theirs) = tokio::io::duplex(PIPE);
    let cancel = CancellationToken::new();
    let (ended_tx, ended_rx) = oneshot::channel();
    let stream = Served {
        inner: theirs,
        cancel: cancel.clone(),
        cancelled: Box::pin(cancel.clone().cancelled_owned()),
        framing: Framing::default(),
        ended: Some(ended_tx),
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
        let outcome = ended_rx.await.unwrap_or(Outcome::Panicked);
        match outcome {
            _ if hung_up.is_cancelled() => Ending::Killed {
                signo: libc::SIGHUP,
                core_dumped: false,
            },
            Outcome::Clean => Ending::Exited(0),
            Outcome::BadFraming => Ending::Exited(1),
            Outcome::Panicked => Ending::Exited(255),
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
///
/// It also follows the packet lengths going in: past an oversized one the
/// crate would only log a warning and read on out of step, so from there
/// on it reads as end of file and the session ends (as sftp-server exits).
struct Served {
    inner: DuplexStream,
    cancel: CancellationToken,
    cancelled: Pin<Box<WaitForCancellationFutureOwned>>,
    framing: Framing,
    ended: Option<oneshot::Sender<Outcome>>,
}

impl Served {
    /// True once cancelled or out of step; otherwise registers the task to
    /// wake on cancellation.
    fn stopped(&mut self, cx: &mut Context<'_>) -> bool {
        self.framing.broken || self.cancel.is_cancelled() || self.cancelled.as_mut().poll(cx).is_ready()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let outcome = match (std::thread::panicking(), self.framing.broken) {
            (true, _) => Outcome::Panicked,
            (false, true) => Outcome::BadFraming,
            (false, false) => Outcome::Clean,
        };
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(outcome);
        }
    }
}

impl AsyncRead for Served {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stopped(cx) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.framing.feed(&buf.filled()[before..]);
        }
        read
    }
}

/// Where the client's byte stream stands in SFTP's framing: a 4-byte
/// length, then that many bytes.
#[derive(Default)]
struct Framing {
    header: [u8; 4],
    have: usize,
    body_left: u64,
    broken: bool,
}

impl Framing {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.broken {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len() as u64);
                self.body_left -= skip;
                bytes = &bytes[skip as usize..];
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if self.have == 4 {
                self.have = 0;
                let len = u32::from_be_bytes(self.header);
                self.broken = len > MAX_PACKET;
                self.body_left = u64::from(len);
                if self.broken {
                    tracing::warn!(
                        len,
                        max = MAX_PACKET,
                        "sftp: a packet over the limit; ending the session"
                    );
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Lengths are followed across reads of any size; one over the limit
    /// breaks the framing, one at the limit does not.
    #[test]
    fn framing_follows_lengths() {
        let mut framing = Framing::default();
        let mut stream = Vec::new();
        for len in [5u32, 0, MAX_PACKET] {
            stream.extend_from_slice(&len.to_be_bytes());
            stream.extend(std::iter::repeat_n(0xffu8, len as usize));
        }
        for piece in stream.chunks(3) {
            framing.feed(piece);
        }
        assert!(!framing.broken);
        assert_eq!((framing.have, framing.body_left), (0, 0));
        framing.feed(&(MAX_PACKET + 1).to_be_bytes());
        assert!(framing.broken);
    }
}
