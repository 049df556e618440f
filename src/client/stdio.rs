//! Where a session's output goes and where its input comes from: the
//! process's own stdio for one host, or, for many hosts, line sinks that
//! feed one printer and a paced broadcast of local stdin.

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

impl Sink {
    /// Passes `data` on; an error means the destination is gone.
    pub async fn write(&mut self, data: Bytes) -> std::io::Result<()> {
        match self {
            Sink::Local(stream, output) => output.write(*stream, data).await,
            Sink::Lines(lines) => lines.write(&data).await,
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

    async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.raw {
            return self.send(data.to_vec()).await;
        }
        self.partial.extend_from_slice(data);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let rest = self.partial.split_off(end + 1);
        let whole = std::mem::replace(&mut self.partial, rest);
        self.send(whole).await
    }

    async fn finish(&mut self) {
        if !self.partial.is_empty() {
            let mut last = std::mem::take(&mut self.partial);
            last.push(b'\n');
            let _ = self.send(last).await;
        }
    }

    async fn send(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        let piece = Piece {
            host: self.host,
            stream: self.stream,
            bytes: Bytes::from(bytes),
        };
        self.tx
            .send(piece)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
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
        sink.write(b"a\nb").await.unwrap();
        sink.write(b"c\nd\ne").await.unwrap();
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
