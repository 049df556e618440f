//! Where a session's output goes and where its input comes from: the
//! process's own stdio for one host, or, for many hosts, line sinks that
//! feed one printer and a paced broadcast of local stdin.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::local_io::LocalOutput;

/// One output stream of a session.
pub enum Sink {
    /// The process's own stdout or stderr.
    Local(Stream, LocalOutput),
    /// Bytes cut into whole lines for a shared printer.
    Lines(LineSink),
}

/// Output on its way, as a future that owns what it needs: the session
/// keeps it while it goes on watching signals and timers, so a reader that
/// stops reading cannot hold `--timeout` up. An error means the
/// destination is gone.
pub type Delivery = Pin<Box<dyn Future<Output = std::io::Result<()>> + Send + Sync>>;

impl Sink {
    /// Passes `data` on: `None` when it went at once (the usual case: no
    /// allocation per packet), a `Delivery` when the destination is
    /// pushing back; an error when the destination is gone.
    pub fn deliver(&mut self, data: Bytes) -> std::io::Result<Option<Delivery>> {
        match self {
            Sink::Local(stream, output) => {
                let Some(data) = output.try_write(*stream, data)? else {
                    return Ok(None);
                };
                let (stream, output) = (*stream, output.clone());
                Ok(Some(Box::pin(async move { output.write(stream, data).await })))
            }
            Sink::Lines(lines) => match lines.take_ready(&data) {
                Some(ready) => lines.try_send(ready),
                None => Ok(None),
            },
        }
    }

    /// Writes out what is left (a final partial line, queued output); an
    /// error means some output could not be delivered.
    pub async fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Local(stream, output) => output.flush(*stream).await,
            Sink::Lines(lines) => {
                lines.finish().await;
                Ok(())
            }
        }
    }
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A piece of a host's output for the printer: whole lines, or raw bytes
/// when the printer keeps bytes as they are (`--output-dir`).
#[derive(Debug)]
pub struct Piece {
    pub host: usize,
    pub stream: Stream,
    pub bytes: Bytes,
}

/// Cuts a stream into whole lines (a line ends with `\n`) and sends each
/// to the printer, so lines of different hosts never interleave.
pub struct LineSink {
    host: usize,
    stream: Stream,
    partial: Vec<u8>,
    tx: mpsc::Sender<Piece>,
    /// Pass bytes through as they come (for files): no cutting, no added
    /// final newline.
    raw: bool,
}

impl LineSink {
    pub fn new(host: usize, stream: Stream, tx: mpsc::Sender<Piece>, raw: bool) -> Self {
        Self {
            host,
            stream,
            partial: Vec::new(),
            tx,
            raw,
        }
    }

    /// What of `data` can go now: everything up to the last line end (or
    /// all of it, raw); the rest waits for its line to end.
    fn take_ready(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if self.raw {
            return Some(data.to_vec());
        }
        self.partial.extend_from_slice(data);
        let end = self.partial.iter().rposition(|&b| b == b'\n')?;
        let rest = self.partial.split_off(end + 1);
        Some(std::mem::replace(&mut self.partial, rest))
    }

    async fn finish(&mut self) {
        if !self.partial.is_empty() {
            let mut last = std::mem::take(&mut self.partial);
            last.push(b'\n');
            let _ = self.send(last).await;
        }
    }

    /// Sends `bytes` to the printer at once when there is room, else as a
    /// `Delivery`.
    fn try_send(&self, bytes: Vec<u8>) -> std::io::Result<Option<Delivery>> {
        match self.tx.try_send(self.piece(bytes)) {
            Ok(()) => Ok(None),
            Err(mpsc::error::TrySendError::Full(piece)) => {
                Ok(Some(Box::pin(send_piece(self.tx.clone(), piece))))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(printer_gone()),
        }
    }

    /// Sends `bytes` to the printer, waiting for room.
    fn send(&self, bytes: Vec<u8>) -> impl Future<Output = std::io::Result<()>> + Send + Sync + 'static {
        send_piece(self.tx.clone(), self.piece(bytes))
    }

    fn piece(&self, bytes: Vec<u8>) -> Piece {
        Piece {
            host: self.host,
            stream: self.stream,
            bytes: Bytes::from(bytes),
        }
    }
}

async fn send_piece(tx: mpsc::Sender<Piece>, piece: Piece) -> std::io::Result<()> {
    tx.send(piece).await.map_err(|_| printer_gone())
}

fn printer_gone() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::BrokenPipe)
}

/// Where a session's stdin comes from.
pub enum Input {
    /// Nothing: EOF at once (`-n`).
    None,
    /// The process's stdin, read from the first call on (not before: a
    /// terminal must be in raw mode first).
    Local,
    /// Chunks from a reader of stdin (its own, or a broadcast's share);
    /// the channel's end is EOF.
    Chunks(mpsc::Receiver<Bytes>),
}

impl Input {
    /// The next chunk; `None` at end of input.
    pub async fn next(&mut self) -> Option<Bytes> {
        match self {
            Input::None => None,
            Input::Local => {
                *self = Input::Chunks(super::local_io::stdin_chunks());
                Box::pin(self.next()).await
            }
            Input::Chunks(rx) => rx.recv().await,
        }
    }
}

/// A session's stdio.
pub struct SessionIo {
    pub stdout: Sink,
    pub stderr: Sink,
    pub input: Input,
}

impl SessionIo {
    /// The process's own stdio (one host).
    pub fn process(stdin: bool) -> Self {
        let output = LocalOutput::start();
        Self {
            stdout: Sink::Local(Stream::Stdout, output.clone()),
            stderr: Sink::Local(Stream::Stderr, output),
            input: if stdin { Input::Local } else { Input::None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole lines go out as soon as they end; a partial last line goes out
    /// at the end with a newline.
    #[tokio::test]
    async fn cuts_lines() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut sink = LineSink::new(3, Stream::Stdout, tx, false);
        for data in [&b"a\nb"[..], b"c\nd\ne"] {
            if let Some(ready) = sink.take_ready(data) {
                sink.send(ready).await.unwrap();
            }
        }
        sink.finish().await;
        drop(sink);
        let mut got = Vec::new();
        while let Some(piece) = rx.recv().await {
            assert_eq!(piece.host, 3);
            got.push(piece.bytes);
        }
        assert_eq!(got, [&b"a\n"[..], &b"bc\nd\n"[..], &b"e\n"[..]]);
    }
}
