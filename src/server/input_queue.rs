//! A FIFO of client input with bounded memory that never loses a byte and
//! never stalls the connection below a large limit.
//!
//! Why not simply a bounded queue: russh refills the client's window when
//! data arrives, not when it is consumed (RUSSH.md 2.2), so the only way to
//! push back on a client is to stop reading the channel, and that stops the
//! connection's whole event loop, outgoing data included. A command that
//! ignores its stdin while it writes output would then deadlock against its
//! own output. Instead, past `MEMORY` bytes the queue spills to an unlinked
//! temporary file; only past `SPILL` bytes on disk does the producer wait.
//!
//! Order: while the file holds unread bytes every new chunk goes to the
//! file, behind them, so memory always holds the oldest bytes. The file is
//! written and read with positional I/O of at most one SSH packet while a
//! lock is held: page-cache copies of microseconds, not worth a thread hop.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

/// Bytes of input a session keeps in memory.
pub const MEMORY: u64 = 4 * 1024 * 1024;
/// Bytes of input a session may keep on disk before the client waits.
pub const SPILL: u64 = 1024 * 1024 * 1024;
/// Largest chunk handed back from the file.
const READ_CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct State {
    memory: VecDeque<Bytes>,
    memory_bytes: u64,
    spill: Option<File>,
    /// Write and read offsets in the spill file.
    written: u64,
    read: u64,
    /// The producer is done (client EOF or session over).
    finished: bool,
    /// The consumer is done: drop whatever comes.
    discard: bool,
}

/// Shared by one producer (`push`, `finish`) and one consumer (`pop`).
#[derive(Clone, Default)]
pub struct InputQueue {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

impl InputQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chunk; waits only while `SPILL` bytes sit on disk.
    pub async fn push(&self, data: Bytes) -> std::io::Result<()> {
        loop {
            let notified = self.changed.notified();
            {
                let mut state = self.state.lock().expect("input queue lock");
                if state.discard || state.finished {
                    return Ok(());
                }
                if state.written - state.read < SPILL {
                    state.append(data)?;
                    break;
                }
            }
            notified.await;
        }
        self.changed.notify_waiters();
        Ok(())
    }

    /// Marks the end of input; `pop` returns `None` once all is read.
    pub fn finish(&self) {
        self.state.lock().expect("input queue lock").finished = true;
        self.changed.notify_waiters();
    }

    /// Moves the oldest chunks held in memory into `into`, up to `max`
    /// bytes (always at least one), or one chunk from the file, waiting
    /// for one; `Ok(false)` after `finish` once everything has been taken.
    /// A consumer that writes a batch at once wakes its reader once where
    /// a chunk at a time would wake it for each.
    pub async fn pop_batch(&self, max: usize, into: &mut VecDeque<Bytes>) -> std::io::Result<bool> {
        loop {
            let notified = self.changed.notified();
            {
                let mut state = self.state.lock().expect("input queue lock");
                let mut taken = 0;
                while taken < max {
                    let Some(chunk) = state.take()? else { break };
                    taken += chunk.len();
                    into.push_back(chunk);
                    if state.memory.is_empty() {
                        break;
                    }
                }
                if taken > 0 {
                    drop(state);
                    self.changed.notify_waiters();
                    return Ok(true);
                }
                if state.finished {
                    return Ok(false);
                }
            }
            notified.await;
        }
    }

    /// The consumer has gone: free everything and drop later input.
    pub fn discard(&self) {
        let mut state = self.state.lock().expect("input queue lock");
        *state = State {
            discard: true,
            ..State::default()
        };
        drop(state);
        self.changed.notify_waiters();
    }

    /// Bytes held in memory and on disk.
    #[cfg(test)]
    pub fn held(&self) -> (u64, u64) {
        let state = self.state.lock().expect("input queue lock");
        (state.memory_bytes, state.written - state.read)
    }
}

impl State {
    fn append(&mut self, data: Bytes) -> std::io::Result<()> {
        let spilling = self.written > self.read;
        if !spilling && self.memory_bytes + data.len() as u64 <= MEMORY {
            self.memory_bytes += data.len() as u64;
            self.memory.push_back(data);
            return Ok(());
        }
        if self.spill.is_none() {
            self.spill = Some(tempfile::tempfile()?);
        }
        let file = self.spill.as_ref().expect("spill file just created");
        file.write_all_at(&data, self.written)?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn take(&mut self) -> std::io::Result<Option<Bytes>> {
        if let Some(chunk) = self.memory.pop_front() {
            self.memory_bytes -= chunk.len() as u64;
            return Ok(Some(chunk));
        }
        let unread = self.written - self.read;
        let Some(file) = self.spill.as_ref().filter(|_| unread > 0) else {
            return Ok(None);
        };
        let mut buf = vec![0u8; (unread as usize).min(READ_CHUNK)];
        file.read_exact_at(&mut buf, self.read)?;
        self.read += buf.len() as u64;
        if self.read == self.written {
            // Drained: start the file over so it never grows past what is held.
            file.set_len(0)?;
            self.read = 0;
            self.written = 0;
        }
        Ok(Some(Bytes::from(buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oldest chunk, as a consumer taking one at a time gets it.
    async fn pop(queue: &InputQueue) -> Option<Bytes> {
        let mut batch = VecDeque::new();
        queue
            .pop_batch(1, &mut batch)
            .await
            .unwrap()
            .then(|| batch.pop_front().unwrap())
    }

    /// More than the memory budget goes in before anything comes out; every
    /// byte comes out in order, and memory never holds more than the budget.
    #[tokio::test]
    async fn spills_past_memory_budget_in_order() {
        let queue = InputQueue::new();
        let chunk = 32 * 1024;
        let total = (MEMORY as usize) * 3;
        let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(chunk) {
            queue.push(Bytes::copy_from_slice(piece)).await.unwrap();
            assert!(queue.held().0 <= MEMORY);
        }
        assert!(queue.held().1 > 0, "nothing spilled");
        queue.finish();
        let mut out = Vec::new();
        while let Some(piece) = pop(&queue).await {
            out.extend_from_slice(&piece);
        }
        assert!(out == data, "bytes lost or reordered");
        assert_eq!(queue.held(), (0, 0));
    }

    /// Interleaved pushes and pops across the spill boundary keep order.
    #[tokio::test]
    async fn interleaved_keeps_order() {
        let queue = InputQueue::new();
        let mut expected = Vec::new();
        let mut out = Vec::new();
        for round in 0..400u32 {
            let piece = vec![(round % 256) as u8; 30_000];
            expected.extend_from_slice(&piece);
            queue.push(Bytes::from(piece)).await.unwrap();
            if round % 3 == 0 {
                out.extend_from_slice(&pop(&queue).await.unwrap());
            }
        }
        queue.finish();
        while let Some(piece) = pop(&queue).await {
            out.extend_from_slice(&piece);
        }
        assert!(out == expected);
    }

    /// Batches as the stdin writer takes them (up to 1 MiB) keep every
    /// byte in order across the spill, and none holds more than one
    /// chunk past its limit.
    #[tokio::test]
    async fn batches_keep_order_across_the_spill() {
        let queue = InputQueue::new();
        let data: Vec<u8> = (0..(MEMORY as usize) * 2).map(|i| (i % 253) as u8).collect();
        for piece in data.chunks(32 * 1024) {
            queue.push(Bytes::copy_from_slice(piece)).await.unwrap();
        }
        queue.finish();
        let (mut out, mut batch) = (Vec::new(), VecDeque::new());
        while queue.pop_batch(1024 * 1024, &mut batch).await.unwrap() {
            assert!(batch.iter().map(Bytes::len).sum::<usize>() < 1024 * 1024 + 32 * 1024);
            for chunk in batch.drain(..) {
                out.extend_from_slice(&chunk);
            }
        }
        assert!(out == data, "bytes lost or reordered");
    }

    /// After `discard`, input is dropped and `pop` reports the end.
    #[tokio::test]
    async fn discard_drops_input() {
        let queue = InputQueue::new();
        queue.push(Bytes::from_static(b"abc")).await.unwrap();
        queue.discard();
        queue.push(Bytes::from_static(b"def")).await.unwrap();
        assert_eq!(queue.held(), (0, 0));
    }
}
