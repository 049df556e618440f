//! Client input on its way to the command's stdin.
//!
//! russh refills the client's window as packets arrive, not as they are
//! consumed, and a `Channel` left unread blocks the whole connection
//! (RUSSH.md 2.3): if the task that reads the channel also wrote the child's
//! stdin, a child that stops reading stdin while it writes stdout would
//! deadlock the connection. So the channel is drained by its own task into
//! a queue, and a second task writes the child's stdin from that queue.
//!
//! Memory stays bounded by a byte budget: each queued chunk holds permits
//! for its size until it has been written. When the budget is spent, the
//! reader stops reading the channel; russh's per-channel queue then fills
//! and the connection's read loop waits, which pushes back on the client
//! through TCP. Worst case per session: the budget, plus russh's queue
//! (100 packets of at most 32 KiB), plus the 2 MiB window in flight. The
//! stall can only become a deadlock when a command ignores more than the
//! budget of stdin while it writes more output than the pipes hold.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use russh::ChannelMsg;
use russh::ChannelReadHalf;
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::pty::PtyMaster;

/// Bytes of client input a session may hold that the command has not read.
pub const BUDGET: usize = 8 * 1024 * 1024;

type Chunk = (Bytes, OwnedSemaphorePermit);

/// The producing end: the channel reader.
pub struct InputSender {
    tx: mpsc::UnboundedSender<Chunk>,
    budget: Arc<Semaphore>,
}

/// The consuming end: the stdin writer. `None` from it is the client's EOF.
pub struct InputReceiver {
    rx: mpsc::UnboundedReceiver<Chunk>,
}

/// A queue that holds at most `budget` bytes.
pub fn queue(budget: usize) -> (InputSender, InputReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(budget));
    (InputSender { tx, budget }, InputReceiver { rx })
}

impl InputSender {
    /// Queues a chunk, waiting while the budget is spent.
    async fn push(&self, data: Bytes) {
        let permits = data.len().clamp(1, BUDGET) as u32;
        let Ok(permit) = self.budget.clone().acquire_many_owned(permits).await else {
            return;
        };
        // A closed receiver means the session is over: the bytes have
        // nowhere to go.
        let _ = self.tx.send((data, permit));
    }
}

/// Drains the channel for the whole life of the session: data into the
/// queue, EOF by dropping the sender. Cancels `gone` when the client closes
/// the channel or the connection ends.
pub async fn read_channel(
    mut channel: ChannelReadHalf,
    input: InputSender,
    gone: CancellationToken,
    bytes_in: Arc<AtomicU64>,
) {
    let mut input = Some(input);
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                bytes_in.fetch_add(data.len() as u64, Ordering::Relaxed);
                // Data after EOF breaks the protocol; it is dropped.
                if let Some(input) = &input {
                    input.push(data).await;
                }
            }
            ChannelMsg::Eof => input = None,
            ChannelMsg::Close => break,
            // Requests reach the session through the handler, which decides
            // on them; their copies here are ignored.
            _ => {}
        }
    }
    gone.cancel();
}

/// Where queued input goes.
pub enum StdinSink {
    Pipe(ChildStdin),
    Pty(Arc<PtyMaster>),
}

/// Writes queued input to the command until the client's EOF, then closes
/// the pipe (a pty stays open: it is also the command's output). When the
/// command stops reading, the rest of the input is drained and dropped, as
/// sshd does, so the reader never stalls on a command that has gone.
pub async fn write_stdin(mut input: InputReceiver, sink: StdinSink) {
    let mut sink = Some(sink);
    while let Some((data, _permit)) = input.rx.recv().await {
        let written = match &mut sink {
            Some(StdinSink::Pipe(pipe)) => pipe.write_all(&data).await,
            Some(StdinSink::Pty(master)) => master.write_all(&data).await,
            None => Ok(()),
        };
        if written.is_err() {
            sink = None;
        }
    }
}
