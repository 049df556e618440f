//! Client input on its way to the command's stdin.
//!
//! A `Channel` left unread blocks the whole connection (RUSSH.md 2.3): if
//! the task reading the channel also wrote the child's stdin, a child that
//! stops reading stdin while it writes stdout would deadlock its session.
//! So one task drains the channel into an [`InputQueue`] for the whole life
//! of the session (memory bounded, spilling to disk, see that module), and
//! a second task writes the child's stdin from the queue.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use russh::ChannelMsg;
use russh::ChannelReadHalf;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::input_queue::InputQueue;
use super::job::Input;
use super::pty::PtyMaster;

/// Drains the channel: data into the queue, EOF as the queue's end.
/// Cancels `gone` when the client closes the channel or the connection ends.
pub async fn read_channel(
    mut channel: ChannelReadHalf,
    input: InputQueue,
    gone: CancellationToken,
    bytes_in: Arc<AtomicU64>,
) {
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                bytes_in.fetch_add(data.len() as u64, Ordering::Relaxed);
                // Data after EOF breaks the protocol; the queue drops it.
                if let Err(e) = input.push(data).await {
                    tracing::error!("could not buffer client input: {e}");
                    input.discard();
                }
            }
            ChannelMsg::Eof => input.finish(),
            ChannelMsg::Close => break,
            // Requests reach the session through the handler, which decides
            // on them; their copies here are ignored.
            _ => {}
        }
    }
    input.finish();
    gone.cancel();
}

/// Where queued input goes.
pub enum StdinSink {
    Pipe(Input),
    Pty(Arc<PtyMaster>),
}

/// Writes queued input to the command until the client's EOF, then closes
/// the pipe (a pty stays open: it is also the command's output). When the
/// command stops reading, later input is dropped, as sshd does.
pub async fn write_stdin(input: InputQueue, mut sink: StdinSink) {
    let mut batch = VecDeque::new();
    while let Ok(true) = input.pop_batch(crate::pipes::BULK, &mut batch).await {
        let written = match &mut sink {
            StdinSink::Pipe(pipe) => write_all_vectored(pipe, &mut batch).await,
            StdinSink::Pty(master) => write_all_in_turn(master, &mut batch).await,
        };
        if written.is_err() {
            break;
        }
    }
    input.discard();
    // A builtin's input is one half of an in-memory pipe, which dropping
    // does not close; shutting it down is its end of file.
    if let StdinSink::Pipe(pipe) = &mut sink {
        let _ = pipe.shutdown().await;
    }
}

/// Writes every chunk, as few `writev`s as the pipe takes them in.
async fn write_all_vectored(pipe: &mut Input, chunks: &mut VecDeque<Bytes>) -> std::io::Result<()> {
    while !chunks.is_empty() {
        let n = pipe.write_vectored(&crate::pipes::slices(chunks)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        crate::pipes::written(chunks, n);
    }
    Ok(())
}

/// Writes the chunks one after another (a pty takes no `writev`).
async fn write_all_in_turn(master: &PtyMaster, chunks: &mut VecDeque<Bytes>) -> std::io::Result<()> {
    while let Some(data) = chunks.pop_front() {
        master.write_all(&data).await?;
    }
    Ok(())
}
