//! The control socket's wire format: `u32` big-endian length, then one JSON
//! object tagged by `"t"` (MULTIPLEX.md 4.4). The master speaks first with
//! a versioned hello, so a caller learns what answered before it sends a
//! byte: an OpenSSH master's hello (binary, type 1) is recognised and left
//! alone, and an OpenSSH client reading sesh's hello sees no type it knows.
//!
//! Serde and JSON are already dependencies, frames are a few per session,
//! and `socat` can read them when debugging.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::client::exec::pty::PtyRequest;
use crate::exit::Ending;

/// The protocol name in the hello.
pub const PROTO: &str = "sesh-mux";
/// Bumped on any change an older peer could misread.
pub const VERSION: u32 = 2;
/// The largest frame either side accepts (long command lines exist).
pub const MAX_FRAME: usize = 1 << 20;

/// One message on the control socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Frame {
    /// First frame both ways.
    Hello {
        proto: String,
        v: u32,
        pid: u32,
    },
    /// Caller: run a command; three fds follow (`fdpass`).
    New(Box<NewSession>),
    /// Master: the channel is open and nothing has run yet.
    Opened,
    /// Caller: start it. From here on the caller never retries.
    Go,
    /// Caller: a local signal to forward (local number).
    Signal {
        n: i32,
    },
    /// Caller: its terminal's new size (`-t`).
    Resize {
        cols: u32,
        rows: u32,
    },
    /// Master: how the session ended; the caller exits with it.
    Ended {
        ending: Ending,
    },
    /// Master: the request failed; `retry_safe` when nothing ran.
    Error {
        msg: String,
        retry_safe: bool,
    },
    /// Caller: `-O check`, `-O stop`, `-O exit`.
    Check,
    Stop,
    Exit,
    /// Master: the answer to `check`.
    Alive {
        pid: u32,
        sessions: usize,
        up_s: u64,
    },
    /// Master: `stop` or `exit` accepted.
    Done,
}

/// What runs, and how: everything of an `ExecConfig` but where it goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewSession {
    pub command: Vec<u8>,
    pub stdin: bool,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub kill_after: Duration,
    pub verbose: bool,
    /// `-t`: the pty to ask for; the caller keeps its terminal raw and
    /// sends `resize` frames.
    pub pty: Option<PtyRequest>,
}

impl Frame {
    /// This side's hello.
    pub fn hello() -> Self {
        Frame::Hello {
            proto: PROTO.to_string(),
            v: VERSION,
            pid: std::process::id(),
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or reset) the socket.
    Closed,
    /// An OpenSSH mux hello: the peer speaks OpenSSH's protocol.
    OpenSsh,
    /// Anything else that is not a frame of ours.
    Garbage(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => write!(f, "the control socket closed"),
            ReadError::OpenSsh => write!(f, "an OpenSSH mux master answered"),
            ReadError::Garbage(why) => write!(f, "not a sesh mux frame: {why}"),
        }
    }
}

/// Reads one frame, never past its end.
pub async fn read<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Frame, ReadError> {
    let mut length = [0u8; 4];
    reader
        .read_exact(&mut length)
        .await
        .map_err(|_| ReadError::Closed)?;
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(ReadError::Garbage(format!("a frame of {length} bytes")));
    }
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .await
        .map_err(|_| ReadError::Closed)?;
    // OpenSSH's MUX_MSG_HELLO: type 1, then version 4 (PROTOCOL.mux).
    if body.starts_with(&[0, 0, 0, 1]) {
        return Err(ReadError::OpenSsh);
    }
    serde_json::from_slice(&body).map_err(|e| ReadError::Garbage(e.to_string()))
}

/// Writes one frame in a single write.
pub async fn write<W: AsyncWrite + Unpin>(writer: &mut W, frame: &Frame) -> std::io::Result<()> {
    let body = serde_json::to_vec(frame).expect("a frame serialises");
    let mut bytes = Vec::with_capacity(4 + body.len());
    bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&body);
    writer.write_all(&bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame reads back as written; an ending keeps its details.
    #[tokio::test]
    async fn round_trip() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let ending = Ending::Killed {
            name: "TERM".into(),
            core_dumped: false,
            message: "bye".into(),
        };
        write(
            &mut a,
            &Frame::Ended {
                ending: ending.clone(),
            },
        )
        .await
        .unwrap();
        match read(&mut b).await.unwrap() {
            Frame::Ended { ending: got } => assert_eq!(got, ending),
            other => panic!("{other:?}"),
        }
    }

    /// An OpenSSH hello, an oversized length and junk are each told apart.
    #[tokio::test]
    async fn foreign_frames() {
        type Expected = fn(&ReadError) -> bool;
        let cases: [(&[u8], Expected); 3] = [
            (&[0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4], |e| {
                matches!(e, ReadError::OpenSsh)
            }),
            (&[0, 0xa0, 0, 0], |e| matches!(e, ReadError::Garbage(_))),
            (&[0, 0, 0, 2, b'{', b'x'], |e| matches!(e, ReadError::Garbage(_))),
        ];
        for (bytes, expected) in cases {
            let mut reader = bytes;
            let error = read(&mut reader).await.unwrap_err();
            assert!(expected(&error), "{bytes:?}: {error}");
        }
    }
}
