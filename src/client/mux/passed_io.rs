//! A passenger's stdio inside the master: the three fds it passed, served
//! by threads that block in `poll()` on the fd and on a cancel pipe, so the
//! master can let go of them the moment the session ends.
//!
//! The fds share their open file description with the caller and its
//! shell, so the master never sets `O_NONBLOCK` on them (MULTIPLEX.md 4.6):
//! it waits in `poll()` and then does one read, or a write of at most
//! `PIPE_BUF` bytes, which a pipe reported writable takes without
//! blocking. A regular file never blocks and gets whole chunks. Once
//! [`Holder::release`] returns, no copy of the caller's fds is left here,
//! which is what lets `out=$(sesh exec --reuse h true)` return at once.
//! Output goes through a [`super::spool`] first, so a slow reader holds up
//! only its own session.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustix::event::{PollFd, PollFlags};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::spool::{Drain, spool};

use crate::client::local_io::{ChunkReader, LocalOutput};
use crate::client::stdio::{Input, SessionIo, Sink, Stream};

/// What a write to a pipe may be and still never block once poll said so.
const PIPE_CHUNK: usize = 4096;
/// Bytes asked of stdin per read.
const READ_SIZE: usize = 128 * 1024;
/// How long the threads have to let go of the fds after the session.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Keeps the session's threads cancellable and tells when they are gone.
pub struct Holder {
    /// Dropping it wakes every thread's poll (the pipe's read end hangs up).
    cancel: std::io::PipeWriter,
    /// Ends when the last thread holding a passed fd has dropped it.
    held: mpsc::Receiver<()>,
    /// stdout's and stderr's spools.
    drains: [Drain; 2],
}

impl Holder {
    /// With `drain`, first waits until the spooled output has reached the
    /// caller (unless `gone` fires: the caller left); then stops the
    /// threads and waits (bounded) until they have closed the fds.
    /// Whether stdout refused output.
    pub async fn release(mut self, drain: bool, gone: &CancellationToken) -> bool {
        let mut broken = false;
        if drain {
            let [out, err] = self.drains.clone();
            let waiting = tokio::task::spawn_blocking(move || {
                let broken = out.wait();
                err.wait();
                broken
            });
            tokio::select! {
                done = waiting => broken = done.unwrap_or(false),
                _ = gone.cancelled() => {}
            }
        }
        drop(self.cancel);
        let _ = tokio::time::timeout(RELEASE_WAIT, self.held.recv()).await;
        broken
    }
}

/// The session's stdio over `fds` (stdin, stdout, stderr); stdin is closed
/// at once unless the command is to read it.
pub fn session_io(fds: [OwnedFd; 3], stdin: bool) -> std::io::Result<(SessionIo, Holder)> {
    let (cancel_rx, cancel) = std::io::pipe()?;
    let cancel_rx = Arc::new(OwnedFd::from(cancel_rx));
    let (hold, held) = mpsc::channel::<()>(1);
    let [input, out, err] = fds;
    let passed = |fd: OwnedFd| Passed {
        file: File::from(fd),
        cancel: cancel_rx.clone(),
        _hold: hold.clone(),
    };
    let input = if stdin {
        Input::Chunks(read_chunks(passed(input))?)
    } else {
        drop(input);
        Input::None
    };
    let (out, out_drain) = spool(Writer::new(passed(out)))?;
    let (err, err_drain) = spool(Writer::new(passed(err)))?;
    let output = LocalOutput::start_on(Box::new(out), Box::new(err));
    let io = SessionIo {
        stdout: Sink::Local(Stream::Stdout, output.clone()),
        stderr: Sink::Local(Stream::Stderr, output),
        input,
    };
    let drains = [out_drain, err_drain];
    Ok((io, Holder { cancel, held, drains }))
}

/// A passed fd with what its thread needs to give it up on time.
struct Passed {
    file: File,
    cancel: Arc<OwnedFd>,
    /// Dropped with the fd: [`Holder::release`] waits for the last one.
    _hold: mpsc::Sender<()>,
}

impl Passed {
    /// Waits until the fd is ready for `flags`; an error once cancelled.
    fn wait(&self, flags: PollFlags) -> std::io::Result<()> {
        loop {
            let mut fds = [
                PollFd::new(&self.file, flags),
                PollFd::new(&*self.cancel, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            if !fds[1].revents().is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "session over",
                ));
            }
            if !fds[0].revents().is_empty() {
                return Ok(());
            }
        }
    }
}

/// stdout or stderr of a passenger.
struct Writer {
    passed: Passed,
    /// A regular file: plain blocking writes, whole chunks.
    regular: bool,
}

impl Writer {
    fn new(passed: Passed) -> Self {
        let regular = passed.file.metadata().map(|m| m.is_file()).unwrap_or(false);
        Self { passed, regular }
    }
}

impl Write for Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.regular {
            return self.passed.file.write(data);
        }
        self.passed.wait(PollFlags::OUT)?;
        let n = data.len().min(PIPE_CHUNK);
        Ok(rustix::io::write(self.passed.file.as_fd(), &data[..n])?)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a passenger's stdin on its own thread; the receiver's end is EOF.
fn read_chunks(passed: Passed) -> std::io::Result<mpsc::Receiver<Bytes>> {
    let (tx, rx) = mpsc::channel(8);
    crate::threads::spawn(c"mux-stdin", move || {
        let mut chunks = ChunkReader::new(READ_SIZE);
        loop {
            if passed.wait(PollFlags::IN).is_err() {
                return;
            }
            let Some(chunk) = chunks.next(&passed.file) else {
                return;
            };
            if tx.blocking_send(chunk).is_err() {
                return;
            }
        }
    })?;
    Ok(rx)
}
