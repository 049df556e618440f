//! The process's own stdin, stdout and stderr, each served by a plain
//! thread that blocks in read() or write() while the async side awaits a
//! bounded queue.
//!
//! Why threads: tokio's `Stdin` and `Stdout` hand every call to the
//! blocking pool and wait for it, two thread handoffs per 32 KiB packet.
//! Measured on a 1 GiB download that halved sesh exec's throughput. A
//! dedicated thread costs one handoff per chunk, batches nothing it need
//! not, and a blocked terminal or pipe still parks only that thread.

use std::collections::VecDeque;
use std::io::{IoSlice, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot};

use super::stdio::Stream;

/// Bytes asked of stdin per read: large reads keep per-chunk costs low
/// when stdin is a file or a fast pipe; a terminal returns a line at once.
const READ_SIZE: usize = 128 * 1024;

/// Chunks stdin may run ahead of the channel.
const READ_AHEAD: usize = 8;

/// Reads a [`ChunkReader`]'s buffer holds before it needs another.
const ARENA_CHUNKS: usize = 8;

/// Chunks waiting for stdout or stderr: enough to ride out scheduling,
/// few enough that a stalled terminal pushes back on the server quickly.
const WRITE_QUEUE: usize = 32;

/// Reads the process's stdin on its own thread until end of file (or an
/// error, which ends input the same way); the receiver's end is EOF.
pub fn stdin_chunks() -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let (stdin, mut chunks) = (std::io::stdin(), ChunkReader::new(READ_SIZE));
            let mut grown = false;
            while let Some(chunk) = chunks.next(&stdin) {
                // A read that found a pipe full: a fast producer, whom a
                // bigger pipe stops less often (crate::pipes).
                if !grown && chunk.len() >= crate::pipes::DEFAULT {
                    let _ = crate::pipes::grow(&stdin);
                    grown = true;
                }
                if tx.blocking_send(chunk).is_err() {
                    return;
                }
            }
        })
        .expect("a thread for stdin");
    rx
}

/// Reads one file in chunks of at most `size` bytes, each a slice of a
/// buffer several chunks share, read into without zeroing it first: a
/// fresh zeroed 128 KiB buffer per read (an allocation, a memset and its
/// page faults) was a fifth of the stdin thread's time in an upload.
pub struct ChunkReader {
    buf: BytesMut,
    size: usize,
}

impl ChunkReader {
    pub fn new(size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            size,
        }
    }

    /// One read of at most `size` bytes from `file`, retried when
    /// interrupted; `None` at end of file or on an error, which ends
    /// input the same way.
    pub fn next(&mut self, file: impl AsFd) -> Option<Bytes> {
        if self.buf.capacity() < self.size {
            // Takes the buffer back once the chunks cut from it are gone.
            self.buf.reserve(self.size * ARENA_CHUNKS);
        }
        loop {
            let spare = &mut self.buf.spare_capacity_mut()[..self.size];
            let n = match rustix::io::read(&file, spare) {
                Ok((read, _)) => read.len(),
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return None,
            };
            if n == 0 {
                return None;
            }
            // SAFETY: `read` initialised the first `n` bytes of the spare
            // capacity, and the buffer was empty before.
            unsafe { self.buf.set_len(n) };
            return Some(self.buf.split().freeze());
        }
    }
}

enum Job {
    Write(Stream, Bytes),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// stdout and stderr written by one thread, in the order the server sent
/// them, so a terminal shows them interleaved as they happened.
#[derive(Clone)]
pub struct LocalOutput {
    jobs: mpsc::Sender<Job>,
    /// Set once stdout refused a write (its reader is gone).
    stdout_broken: Arc<AtomicBool>,
}

impl LocalOutput {
    pub fn start() -> Self {
        // Straight to fds 1 and 2, not through std's Stdout and Stderr:
        // their locks would be held while a write blocks on a stalled
        // reader, and then sesh's own messages (eprintln!, the final flush
        // in main) would block too. Nothing else in a one-host run writes
        // to stdout.
        let out = raw_fd(libc::STDOUT_FILENO);
        let err = raw_fd(libc::STDERR_FILENO);
        Self::writer(Box::new(out), Box::new(err), Some(std::io::stdout()))
    }

    /// The same over other writers: a mux master writes a passenger's
    /// stdout and stderr, passed to it as fds. The writers are dropped
    /// when every clone of the result is gone and the queue is written.
    pub fn start_on(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>) -> Self {
        Self::writer(out, err, None)
    }

    /// The thread writing `out` and `err`; `bulk` is `out` again, to grow
    /// when it is a pipe and a batch of a pipe's worth waits for it
    /// (crate::pipes): a download whose reader then wakes per batch.
    fn writer(
        mut out: Box<dyn Write + Send>,
        mut err: Box<dyn Write + Send>,
        mut bulk: Option<std::io::Stdout>,
    ) -> Self {
        let (jobs, mut rx) = mpsc::channel(WRITE_QUEUE);
        let stdout_broken = Arc::new(AtomicBool::new(false));
        let broken = stdout_broken.clone();
        crate::threads::spawn(c"stdout", move || {
            let mut next = None;
            while let Some(job) = next.take().or_else(|| rx.blocking_recv()) {
                match job {
                    Job::Write(Stream::Stdout, data) => {
                        let (batch, bytes) = gather(data, &mut rx, &mut next);
                        if let Some(stdout) = bulk.take_if(|_| bytes >= crate::pipes::DEFAULT) {
                            let _ = crate::pipes::grow(&stdout);
                        }
                        if !broken.load(Ordering::Relaxed) && write_all_vectored(&mut out, batch).is_err() {
                            broken.store(true, Ordering::Relaxed);
                        }
                    }
                    Job::Write(Stream::Stderr, data) => {
                        let _ = err.write_all(&data);
                    }
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        })
        .expect("a thread for stdout");
        Self { jobs, stdout_broken }
    }

    /// Queues `data` when there is room at once; gives it back when the
    /// queue is full (then `write` waits for room). An error means
    /// stdout's reader is gone.
    pub fn try_write(&self, stream: Stream, data: Bytes) -> std::io::Result<Option<Bytes>> {
        let broken = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        if stream == Stream::Stdout && self.stdout_broken.load(Ordering::Relaxed) {
            return Err(broken());
        }
        match self.jobs.try_send(Job::Write(stream, data)) {
            Ok(()) => Ok(None),
            Err(mpsc::error::TrySendError::Full(Job::Write(_, data))) => Ok(Some(data)),
            Err(_) => Err(broken()),
        }
    }

    pub async fn write(&self, stream: Stream, data: Bytes) -> std::io::Result<()> {
        let broken = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        if stream == Stream::Stdout && self.stdout_broken.load(Ordering::Relaxed) {
            return Err(broken());
        }
        self.jobs
            .send(Job::Write(stream, data))
            .await
            .map_err(|_| broken())
    }

    /// Waits until everything queued so far is written; an error when
    /// `stream` is stdout and a write to it failed (the last chunks may be
    /// the ones lost, with no later write left to notice).
    pub async fn flush(&self, stream: Stream) -> std::io::Result<()> {
        let (done, written) = oneshot::channel();
        if self.jobs.send(Job::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
        if stream == Stream::Stdout && self.stdout_broken.load(Ordering::Relaxed) {
            return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        }
        Ok(())
    }
}

/// `first` and the stdout chunks queued behind it, up to a grown pipe's
/// worth, and their length: one write, one wake-up of the reader. A job
/// of another kind that ends the run is left in `next`.
fn gather(first: Bytes, rx: &mut mpsc::Receiver<Job>, next: &mut Option<Job>) -> (VecDeque<Bytes>, usize) {
    let mut bytes = first.len();
    let mut batch = VecDeque::from([first]);
    while bytes < crate::pipes::BULK {
        match rx.try_recv() {
            Ok(Job::Write(Stream::Stdout, data)) => {
                bytes += data.len();
                batch.push_back(data);
            }
            Ok(other) => {
                *next = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    (batch, bytes)
}

/// Writes every chunk, in as few `writev`s as `out` takes them.
fn write_all_vectored(out: &mut dyn Write, mut chunks: VecDeque<Bytes>) -> std::io::Result<()> {
    while !chunks.is_empty() {
        match out.write_vectored(&crate::pipes::slices(&chunks)) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => crate::pipes::written(&mut chunks, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A file for an fd the process keeps open; never closed by dropping it.
fn raw_fd(fd: std::os::fd::RawFd) -> KeptFd {
    use std::os::fd::FromRawFd;
    // SAFETY: fds 1 and 2 stay open for the life of the process, and
    // ManuallyDrop keeps this File from closing them.
    KeptFd(std::mem::ManuallyDrop::new(unsafe {
        std::fs::File::from_raw_fd(fd)
    }))
}

/// One of the process's own output fds, written without being owned.
struct KeptFd(std::mem::ManuallyDrop<std::fs::File>);

impl Write for KeptFd {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.write(data)
    }

    fn write_vectored(&mut self, data: &[IoSlice<'_>]) -> std::io::Result<usize> {
        self.0.write_vectored(data)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
