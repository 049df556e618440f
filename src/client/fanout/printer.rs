//! The one place many hosts' output is written: whole lines, prefixed with
//! their host (or bare, or as JSON events), or raw bytes into per-host
//! files. A single thread writes, so lines never interleave mid-line.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use indicatif::ProgressBar;
use serde_json::json;
use tokio::sync::mpsc;

use crate::client::stdio::{Piece, Stream};

/// How output is shown.
#[derive(Debug, Clone)]
pub enum Mode {
    /// `host: line` on the matching stream.
    Prefixed,
    /// Lines as they are.
    Bare,
    /// One JSON object per line on stdout.
    Json,
    /// `DIR/HOST/stdout` and `DIR/HOST/stderr`, bytes as they are.
    Files(PathBuf),
}

impl Mode {
    /// Whether sinks should keep bytes as they are (no added final newline).
    pub fn raw(&self) -> bool {
        matches!(self, Mode::Files(_))
    }
}

/// Writes pieces until every sender is gone.
pub fn spawn(
    mode: Mode,
    labels: Vec<String>,
    bar: ProgressBar,
    mut rx: mpsc::Receiver<Piece>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut files: Vec<Option<[File; 2]>> = labels.iter().map(|_| None).collect();
        let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr());
        while let Some(piece) = rx.blocking_recv() {
            let label = &labels[piece.host];
            let written = match &mode {
                Mode::Prefixed => {
                    let text = prefix(label, &piece.bytes);
                    write_to(&mut out, &mut err, &bar, piece.stream, &text)
                }
                Mode::Bare => write_to(&mut out, &mut err, &bar, piece.stream, &piece.bytes),
                Mode::Json => out.write_all(&json_lines(label, &piece)),
                Mode::Files(dir) => write_file(&mut files[piece.host], dir, label, &piece),
            };
            if written.is_err() {
                // Our stdout is gone: drop the rest; hosts see a broken pipe.
                return;
            }
        }
        let _ = out.flush();
    })
}

fn write_to(
    out: &mut impl Write,
    err: &mut impl Write,
    bar: &ProgressBar,
    stream: Stream,
    bytes: &[u8],
) -> std::io::Result<()> {
    match stream {
        Stream::Stdout => out.write_all(bytes),
        Stream::Stderr => bar.suspend(|| err.write_all(bytes)),
    }
}

/// `label: ` before every line of `bytes` (which holds whole lines).
fn prefix(label: &str, bytes: &[u8]) -> Vec<u8> {
    let mut text = Vec::with_capacity(bytes.len() + 16);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        text.extend_from_slice(label.as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(line);
    }
    text
}

fn json_lines(label: &str, piece: &Piece) -> Vec<u8> {
    let stream = match piece.stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    let mut text = Vec::new();
    for line in piece.bytes.split_inclusive(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
        let event = json!({ "event": "output", "host": label, "stream": stream, "line": line });
        text.extend_from_slice(event.to_string().as_bytes());
        text.push(b'\n');
    }
    text
}

fn write_file(
    slot: &mut Option<[File; 2]>,
    dir: &std::path::Path,
    label: &str,
    piece: &Piece,
) -> std::io::Result<()> {
    if slot.is_none() {
        *slot = Some(host_files(dir, label)?);
    }
    let files = slot.as_mut().expect("opened above");
    let file = match piece.stream {
        Stream::Stdout => &mut files[0],
        Stream::Stderr => &mut files[1],
    };
    file.write_all(&piece.bytes)
}

/// Creates (empty) `DIR/LABEL/stdout` and `stderr`.
pub fn host_files(dir: &std::path::Path, label: &str) -> std::io::Result<[File; 2]> {
    let host_dir = dir.join(label);
    std::fs::create_dir_all(&host_dir)?;
    Ok([
        File::create(host_dir.join("stdout"))?,
        File::create(host_dir.join("stderr"))?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line gets the label; JSON lines carry host, stream and text.
    #[test]
    fn formats() {
        assert_eq!(prefix("h1", b"a\nb\n"), b"h1: a\nh1: b\n");
        let piece = Piece {
            host: 0,
            stream: Stream::Stderr,
            bytes: bytes::Bytes::from_static(b"x\n"),
        };
        let line: serde_json::Value = serde_json::from_slice(&json_lines("h1", &piece)).unwrap();
        assert_eq!(line["host"], "h1");
        assert_eq!(line["stream"], "stderr");
        assert_eq!(line["line"], "x");
    }
}
